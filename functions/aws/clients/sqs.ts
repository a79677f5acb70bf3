import { SQSClient } from '@aws-sdk/client-sqs';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const sqs = new SQSClient({});
