import { SQSClient } from '@aws-sdk/client-sqs';
import { traced } from '../tracing.ts';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const sqs = traced(new SQSClient({}));
