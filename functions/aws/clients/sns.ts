import { SNSClient } from '@aws-sdk/client-sns';
import { traced } from '../tracing.ts';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const sns = traced(new SNSClient({}));
