/** A fauxqs of the suite's own, started before its tests and stopped after them, with an SQS client of it. */
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { localRegion } from '#infra/config';
import { type Emulator, startSqsSns } from '#infra/local/emulators';

/** Call in a describe block; the returned function gives the client once the suite's tests run. */
export function useFauxqs(): () => SQSClient {
  let fauxqs: Emulator | undefined;
  let client: SQSClient | undefined;
  beforeAll(async () => {
    fauxqs = await startSqsSns(localRegion);
    client = new SQSClient({ endpoint: fauxqs.endpoint, region: localRegion, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  });
  afterAll(async () => {
    client?.destroy();
    await fauxqs?.stop();
  });
  return () => {
    if (!client) throw new Error('fauxqs is not started: call useFauxqs() in a describe block');
    return client;
  };
}
