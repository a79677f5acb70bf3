/**
 * The adapters each entry point binds, built from the variables its construct sets. Only the
 * pieces a function imports are created in its container (clients are made at module scope).
 */
import { names } from '#infra/config';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requiredEnv } from './env.ts';
import { DynamoJobStore } from './job-store.ts';

/** The job store of the table in TABLE_NAME. */
export function jobStoreFrom(client: DynamoDBClient): DynamoJobStore {
  return new DynamoJobStore(client, requiredEnv('TABLE_NAME'), { owner: names.ownerIndex, sweep: names.sweepIndex });
}
