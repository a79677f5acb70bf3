import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** One client per container. Region, credentials and endpoint come from the standard AWS_* variables. */
export const secretsManager = new SecretsManagerClient({});
