/**
 * The request budget as `npm run bench -- --quick` checks it: jobs run through the local runtime
 * while the emulators count every AWS request by operation. Counts only; nothing here reads a clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '#infra/config';
import { type CountedRun, budgetChecks } from '../../bench/checks.ts';
import { type BenchContext, startBench } from '../../bench/context.ts';
import { type IndexShape, writeUnits } from '../../bench/dynamodb-units.ts';
import { runThroughRuntime } from '../../bench/end-to-end.ts';
import type { RecordedRequest } from '../../bench/request-log.ts';

const QUEUE = names.queue;

/** A run of `jobs` jobs that spent `perJob` requests of each operation per job. */
function run(jobs: number, perJob: Record<string, number>, completed = jobs): CountedRun {
  return { jobs, completed, distinctEvents: completed, counts: Object.fromEntries(Object.entries(perJob).map(([key, n]) => [key, n * jobs])) };
}

const WITHIN_BUDGET = {
  'dynamodb:PutItem': 1,
  [`sqs:SendMessage ${QUEUE}`]: 1,
  'dynamodb:UpdateItem': 3,
  'sns:Publish': 1,
  [`sqs:ReceiveMessage ${QUEUE}`]: 0.1,
  [`sqs:DeleteMessageBatch ${QUEUE}`]: 0.1,
};

describe('budget checks', () => {
  it('pass a run within the budget', () => {
    // Act
    const failed = budgetChecks(run(10, WITHIN_BUDGET), QUEUE).filter((check) => !check.ok);

    // Assess
    expect(failed).toEqual([]);
  });

  it.each([
    ['a second PutItem per submit', { ...WITHIN_BUDGET, 'dynamodb:PutItem': 2 }, ['submit: PutItem per job', 'job: DynamoDB writes per job']],
    ['a fifth write per job', { ...WITHIN_BUDGET, 'dynamodb:UpdateItem': 4 }, ['job: DynamoDB writes per job']],
    ['a message sent elsewhere too', { ...WITHIN_BUDGET, 'sqs:SendMessage other': 1 }, ['submit: SendMessage per job (to the jobs queue)']],
    ['an event published twice', { ...WITHIN_BUDGET, 'sns:Publish': 2 }, ['job: Publish per job']],
  ])('fail on %s', (_, perJob, expected) => {
    // Act
    const failed = budgetChecks(run(10, perJob), QUEUE).filter((check) => !check.ok);

    // Assess
    expect(failed.map((check) => check.name)).toEqual(expected);
  });

  it('fail when a job did not complete', () => {
    // Act
    const failed = budgetChecks(run(10, WITHIN_BUDGET, 9), QUEUE).filter((check) => !check.ok);

    // Assess
    expect(failed.map((check) => check.name)).toEqual(['every job SUCCEEDED, with the event its record names', 'one distinct event per job']);
  });
});

describe('write units', () => {
  const write = (operation: string, body: unknown): RecordedRequest => ({
    service: 'dynamodb',
    operation,
    start: 0,
    end: 1,
    status: 200,
    requestBody: JSON.stringify(body),
  });
  const put = write('PutItem', { Item: { id: { S: 'a' }, owner: { S: 'o' }, createdAt: { S: 't' }, status: { S: 'QUEUED' } } });
  const start = write('UpdateItem', {
    Key: { id: { S: 'a' } },
    UpdateExpression: 'SET #s = :s',
    ExpressionAttributeNames: { '#s': 'status' },
    ExpressionAttributeValues: { ':s': { S: 'RUNNING' } },
  });
  const byOwner = (projection: IndexShape['projection']): IndexShape => ({ name: 'by-owner', keys: ['owner', 'createdAt'], projection, nonKeyAttributes: [] });

  it.each([
    ['ALL', 2],
    ['KEYS_ONLY', 1],
  ] as const)('bill a GSI projecting %s for %i writes of a put and a status update', (projection, indexUnits) => {
    // Act
    const units = writeUnits([put, start], 'id', [byOwner(projection)]);

    // Assess
    expect(units).toMatchObject({ writes: 2, table: 2, indexes: { 'by-owner': indexUnits } });
  });
});

describe('requests of echo jobs through the local runtime', () => {
  let ctx: BenchContext;

  beforeAll(async () => {
    ctx = await startBench();
  });

  afterAll(async () => {
    await ctx?.stop();
  });

  it('are one PutItem and one SendMessage per submit, at most four writes and one Publish per job', async () => {
    // Act
    const counted = await runThroughRuntime(ctx, { jobs: 40, concurrency: 8, timeoutMs: 20_000 });

    // Assess
    expect(budgetChecks(counted, QUEUE).filter((check) => !check.ok)).toEqual([]);
    expect(ctx.runtimeErrors).toEqual([]);
  });
});
