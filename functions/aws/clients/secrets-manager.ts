import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { traced } from '../tracing.ts';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const secretsManager = traced(new SecretsManagerClient({}));
