/**
 * What the submit path calls, on the DynamoDB and SQS adapters, is what `submit-job`'s role allows:
 * the emulators enforce no IAM, so a call missing from infra/functions.ts would pass every other test
 * and be refused on AWS (where its failure may be swallowed, as the reconciler flag's is).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsJobQueue } from '#aws/job-queue';
import { DynamoJobStore, toItem } from '#aws/job-store';
import type { JobRecord } from '#core/job';
import { type SubmitDeps, submitJob } from '#core/submit';
import { functionSpecs } from '#infra/functions';
import { lifecycle, names } from '#infra/config';

type Answer = (operation: string) => unknown;

/** An SDK client that records each operation as `service:Operation` and answers as told (throwing what `answer` throws). */
function recordingClient(service: 'dynamodb' | 'sqs', calls: string[], answer: Answer) {
  return {
    send: async (command: object) => {
      const operation = command.constructor.name.replace(/Command$/, '');
      calls.push(`${service}:${operation}`);
      return answer(operation);
    },
  };
}

const failure = (name: string) => Object.assign(new Error(name), { name });

function depsWith(calls: string[], table: Answer, queue: Answer): SubmitDeps {
  return {
    store: new DynamoJobStore(recordingClient('dynamodb', calls, table) as unknown as DynamoDBClient, 'jobs', { owner: names.ownerIndex, sweep: names.sweepIndex }),
    queue: new SqsJobQueue(recordingClient('sqs', calls, queue) as unknown as SQSClient, 'https://sqs.us-east-1.amazonaws.com/1/jobs'),
    knownTypes: ['echo'],
    inputSchemas: {},
    limits: { maxDelaySeconds: 900, retryAfterSeconds: 2, defaultTimeoutSeconds: 60, maxTimeoutSeconds: 117, maxBodyBytes: 131_072 },
    lifecycle,
    idempotencySecret: 'secret',
    webhooks: { mode: 'cloud', resolve: async () => [] },
    now: () => new Date('2026-03-01T12:00:00Z'),
  };
}

describe('the calls of submit-job', () => {
  const granted = Object.values(functionSpecs['submit-job'].uses).flat();
  const queueDown: Answer = () => {
    throw failure('ServiceUnavailable');
  };
  const existing: JobRecord = {
    id: 'job_x',
    owner: 'alice',
    type: 'echo',
    status: 'QUEUED',
    input: null,
    timeoutSeconds: 60,
    attempts: 0,
    createdAt: '2026-03-01T11:00:00Z',
    updatedAt: '2026-03-01T11:00:00Z',
  };

  it.each<[string, Answer, Answer, string | undefined]>([
    ['a job queued', () => ({}), () => ({}), undefined],
    ['a job whose message could not be sent (the record removed)', () => ({}), queueDown, undefined],
    [
      'a job whose message could not be sent and whose record could not be removed (flagged for the reconciler)',
      (operation) => {
        if (operation === 'DeleteItem') throw failure('ProvisionedThroughputExceededException');
        return {};
      },
      queueDown,
      undefined,
    ],
    ['a keyed job whose message could not be sent (kept and flagged)', () => ({}), queueDown, 'order-1'],
    [
      'a keyed repeat (replayed from the record)',
      (operation) => {
        if (operation === 'PutItem') throw failure('ConditionalCheckFailedException');
        return { Item: toItem({ ...existing, requestHash: 'whatever' }) };
      },
      () => ({}),
      'order-1',
    ],
  ])('are all granted to its role: %s', async (_, table, queue, key) => {
    // Prepare
    const calls: string[] = [];

    // Act
    await submitJob(depsWith(calls, table, queue), 'alice', { type: 'echo' }, key).catch(() => undefined);

    // Assess
    expect(calls.length).toBeGreaterThan(1);
    for (const call of calls) expect(granted, `${call} is not granted to submit-job`).toContain(call);
  });
});
