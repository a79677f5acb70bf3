import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { traced } from '../tracing.ts';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const dynamodb = traced(new DynamoDBClient({}));
