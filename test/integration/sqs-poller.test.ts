/**
 * The local SQS event source mapping hands the function records shaped as Lambda's: every system
 * attribute received, and message attributes with the members Lambda always writes. It runs as many
 * batches at once as Lambda's pollers, without the empty receives fauxqs's long polls would cost.
 */
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { localRegion } from '#infra/config';
import { startPoller } from '#infra/local/sqs-poller';
import { useFauxqs } from '../support/fauxqs.ts';

describe('the local SQS event source mapping', () => {
  const sqs = useFauxqs();

  it('passes message attributes on as Lambda’s SQS records carry them, with their digest', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'poller-shape' }));
    const { MD5OfMessageAttributes } = await client.send(
      new SendMessageCommand({ QueueUrl, MessageBody: '{"jobId":"job_a","type":"echo"}', MessageAttributes: { callback: { DataType: 'String', StringValue: 'true' } } }),
    );
    // Act
    const [record] = await firstBatch(client, QueueUrl);
    // Assess
    expect(record?.messageAttributes).toEqual({ callback: { dataType: 'String', stringValue: 'true', stringListValues: [], binaryListValues: [] } });
    expect(record?.md5OfMessageAttributes).toBe(MD5OfMessageAttributes);
  });

  it('passes on every system attribute the receive got: the trace header, and the source queue of a dead letter', async () => {
    // Prepare: fauxqs keeps neither, so the queue here is a stand-in that answers one receive with both
    const attributes = {
      ApproximateReceiveCount: '7',
      SentTimestamp: '1795562461912',
      SenderId: 'AROAEXAMPLE:jobs',
      ApproximateFirstReceiveTimestamp: '1795562461918',
      AWSTraceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:000000000000:jobs',
    };
    let answered = false;
    const queue = {
      send: async () => {
        if (answered) return new Promise((resolve) => setTimeout(() => resolve({ Messages: [] }), 50));
        answered = true;
        return { Messages: [{ MessageId: 'm-1', ReceiptHandle: 'h-1', Body: '{}', MD5OfBody: 'x', Attributes: attributes }] };
      },
    } as unknown as SQSClient;
    // Act
    const [record] = await firstBatch(queue, 'https://sqs.us-east-1.amazonaws.com/000000000000/jobs-dlq');
    // Assess
    expect(record?.attributes).toEqual(attributes);
  });

  it('receives once per message on a quiet queue, where five long polls all woken by each message made five receives', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'poller-quiet' }));
    const counted = countingReceives(client);
    const invoked: string[] = [];
    let ran = latch();
    const mapping = mappingOf(QueueUrl);
    const stop = startPoller(counted.client, {
      ...mapping,
      // The jobs queue's batch size: a job alone never fills its batch.
      batchSize: 10,
      pollers: 5,
      invoke: async (event) => {
        invoked.push(...event.Records.map((record) => record.body));
        ran.open();
        return undefined;
      },
    });
    try {
      // Act: ten jobs, each sent once the one before has run
      for (let job = 0; job < 10; job++) {
        ran = latch();
        await client.send(new SendMessageCommand({ QueueUrl, MessageBody: `job-${job}` }));
        await ran.opened;
      }
    } finally {
      await stop();
    }
    // Assess
    expect(invoked).toEqual(Array.from({ length: 10 }, (_, job) => `job-${job}`));
    expect(counted.empty()).toBe(0);
    expect(counted.receives()).toBeLessThanOrEqual(11);
    expect(mapping.errors).toEqual([]);
  });

  it('runs a burst as five batches at once, as Lambda’s five pollers do, and never more', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'poller-burst' }));
    for (let first = 0; first < 40; first += 10) {
      const Entries = Array.from({ length: 10 }, (_, index) => ({ Id: String(index), MessageBody: `job-${first + index}` }));
      await client.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    }
    // Every batch is held until five run at once (or 3 s have passed, when fewer ever would).
    let running = 0;
    let most = 0;
    const gate = latch();
    setTimeout(gate.open, 3_000);
    const invoked: string[] = [];
    const allRan = latch();
    const mapping = mappingOf(QueueUrl);
    // Act
    const stop = startPoller(client, {
      ...mapping,
      batchSize: 1,
      pollers: 5,
      invoke: async (event) => {
        running++;
        most = Math.max(most, running);
        if (running === 5) gate.open();
        await gate.opened;
        running--;
        invoked.push(...event.Records.map((record) => record.body));
        if (invoked.length === 40) allRan.open();
        return undefined;
      },
    });
    try {
      await allRan.opened;
    } finally {
      await stop();
    }
    // Assess
    expect(new Set(invoked).size).toBe(40);
    expect(most).toBe(5);
    expect(mapping.errors).toEqual([]);
  });

  it('starts a job sent while another batch runs at once, as an idle poller of Lambda would', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'poller-beside' }));
    const held = latch();
    const firstStarted = latch();
    const secondStarted = latch();
    const stop = startPoller(client, {
      ...mappingOf(QueueUrl),
      pollers: 5,
      invoke: async (event) => {
        if (event.Records[0]?.body === 'long') {
          firstStarted.open();
          await held.opened;
        } else secondStarted.open();
        return undefined;
      },
    });
    try {
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'long' }));
      await firstStarted.opened;
      // Act: the second job arrives while the first still runs
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'short' }));
      // Assess
      expect(await within(secondStarted.opened, 5_000)).toBe(true);
    } finally {
      held.open();
      await stop();
    }
  });

  it('keeps polling after a batch whose function failed, and reports the failure', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'poller-failed' }));
    const goodRan = latch();
    const badFailed = latch();
    const mapping = mappingOf(QueueUrl);
    const stop = startPoller(client, {
      ...mapping,
      // The only poll, as the DLQ's and the webhook queue's mappings have.
      pollers: 1,
      invoke: async (event) => {
        if (event.Records[0]?.body === 'bad') {
          setImmediate(badFailed.open);
          throw new Error('the function failed');
        }
        goodRan.open();
        return undefined;
      },
    });
    try {
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'bad' }));
      await badFailed.opened;
      // Act
      await client.send(new SendMessageCommand({ QueueUrl, MessageBody: 'good' }));
      // Assess
      expect(await within(goodRan.opened, 5_000)).toBe(true);
      expect(mapping.errors.map(String)).toEqual(['Error: the function failed']);
    } finally {
      await stop();
    }
  });
});

/** A promise opened from outside, once. */
function latch(): { readonly opened: Promise<void>; open(): void } {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open: () => open() };
}

/** Whether `promise` settles within `ms`. */
function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
}

/** What the mapping of `queueUrl` takes besides its function, batches of one; `errors` holds what it reported. */
function mappingOf(queueUrl: string) {
  const errors: unknown[] = [];
  return {
    queueUrl,
    queueArn: `arn:aws:sqs:${localRegion}:000000000000:${queueUrl.split('/').pop()}`,
    region: localRegion,
    batchSize: 1,
    errors,
    onError: (error: unknown) => {
      errors.push(error);
    },
  };
}

/** `client`, counting the receives sent through it and those that came back empty. */
function countingReceives(client: SQSClient): { client: SQSClient; receives(): number; empty(): number } {
  let receives = 0;
  let empty = 0;
  const counting = {
    send: async (command: unknown, options?: unknown) => {
      const isReceive = command instanceof ReceiveMessageCommand;
      if (isReceive) receives++;
      // biome-ignore lint/suspicious/noExplicitAny: delegating any command as is
      const output = await client.send(command as any, options as any);
      if (isReceive && ((output as { Messages?: unknown[] }).Messages ?? []).length === 0) empty++;
      return output;
    },
  } as unknown as SQSClient;
  return { client: counting, receives: () => receives, empty: () => empty };
}

/** Polls `queueUrl` until one batch has been invoked, and gives its records. */
async function firstBatch(sqs: SQSClient, queueUrl: string): Promise<SQSRecord[]> {
  let invoked: (records: SQSRecord[]) => void = () => undefined;
  const batch = new Promise<SQSRecord[]>((resolve) => {
    invoked = resolve;
  });
  const stop = startPoller(sqs, {
    queueUrl,
    queueArn: `arn:aws:sqs:${localRegion}:000000000000:${queueUrl.split('/').pop()}`,
    region: localRegion,
    batchSize: 10,
    pollers: 1,
    invoke: async (event) => {
      invoked(event.Records);
      return undefined;
    },
    onError: () => undefined,
  });
  const records = await batch;
  await stop();
  return records;
}
