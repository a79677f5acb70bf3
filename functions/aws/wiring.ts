/**
 * The adapters each entry point binds, built from the variables its construct sets. Only the
 * pieces a function imports are created in its container (clients are made at module scope).
 */
import { names } from '#infra/config';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { requiredEnv } from './env.ts';
import { DynamoJobItems, DynamoJobStore } from './job-store.ts';

/** The job store of the table in TABLE_NAME. */
export function jobStoreFrom(client: DynamoDBClient): DynamoJobStore {
  return new DynamoJobStore(client, requiredEnv('TABLE_NAME'), { owner: names.ownerIndex, sweep: names.sweepIndex });
}

/** The items of the table in TABLE_NAME, for a function that only reads jobs or records their webhooks: no more of the store in its bundle. */
export function jobItemsFrom(client: DynamoDBClient): DynamoJobItems {
  return new DynamoJobItems(client, requiredEnv('TABLE_NAME'));
}
