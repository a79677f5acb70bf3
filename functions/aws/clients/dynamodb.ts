import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const dynamodb = new DynamoDBClient({});
