import { SNSClient } from '@aws-sdk/client-sns';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const sns = new SNSClient({});
