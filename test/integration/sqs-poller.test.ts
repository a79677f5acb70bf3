/**
 * The local SQS event source mapping hands the function records shaped as Lambda's: every system
 * attribute received, and message attributes with the members Lambda always writes.
 */
import { CreateQueueCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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
});

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
