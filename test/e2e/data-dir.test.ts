/**
 * `npm start -- --data-dir`: a stop, then a start on the same folder. DynamoDB keeps its data there,
 * but fauxqs keeps queue messages in memory only; jobs must still end, and their events go out, as
 * they would on AWS, where SQS would still hold their messages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type AttributeValue, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRegion } from '#infra/config';
import type { DynamoEngine } from '#infra/local/emulators';
import { type LocalRuntime, type LocalRuntimeOptions, startLocalRuntime } from '#infra/local/runtime';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';

interface JobEvent {
  readonly id: string;
  readonly type: string;
  readonly data: { readonly id: string; readonly status: string };
}

interface Job {
  readonly id: string;
  readonly status: string;
  readonly attempts: number;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly result?: unknown;
}

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** Metadata of the job whose completion publish fails before the stop: its event carries it, so the publish request does too. */
const UNANNOUNCED = 'publishrefusedbeforestop';
const DELAY_SECONDS = 10;
/** The id of a QUEUED record with no type, written behind the API's back before the stop. */
const BROKEN_RECORD = 'job_brokenrecordwithnotype';
/** Short, so that the job running at the stop is taken over soon after the start (its invocation's deadline must pass first). */
const WORKER_TIMEOUT_SECONDS = 8;

async function submit(runtime: LocalRuntime, body: unknown): Promise<Job> {
  const response = await fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (response.status !== 202) throw new Error(`POST /jobs answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as Job;
}

async function getJob(runtime: LocalRuntime, id: string): Promise<Job> {
  return (await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as Job;
}

/** Polls `probe` until it gives a value; fails after a generous deadline. */
async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function waitForStatus(runtime: LocalRuntime, id: string, statuses: readonly string[]): Promise<Job> {
  return waitFor(`${id} to be ${statuses.join(' or ')}`, async () => {
    const job = await getJob(runtime, id);
    return statuses.includes(job.status) ? job : undefined;
  });
}

/** The stored item of a job, read from the table as the store wrote it. */
async function storedItem(runtime: LocalRuntime, id: string): Promise<Record<string, AttributeValue>> {
  const dynamodb = new DynamoDBClient({ region: localRegion, endpoint: runtime.endpoints.dynamodb, credentials: CREDENTIALS });
  try {
    const { Item } = await dynamodb.send(new GetItemCommand({ TableName: runtime.resources.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
    if (!Item) throw new Error(`no item for ${id}`);
    return Item;
  } finally {
    dynamodb.destroy();
  }
}

/** Writes an item as is, bypassing the API. */
async function putItem(runtime: LocalRuntime, item: Record<string, AttributeValue>): Promise<void> {
  const dynamodb = new DynamoDBClient({ region: localRegion, endpoint: runtime.endpoints.dynamodb, credentials: CREDENTIALS });
  try {
    await dynamodb.send(new PutItemCommand({ TableName: runtime.resources.tableName, Item: item }));
  } finally {
    dynamodb.destroy();
  }
}

/** Messages on the jobs queue: waiting, delayed, or taken and not yet deleted. */
async function messagesOnJobsQueue(runtime: LocalRuntime): Promise<number> {
  const sqs = new SQSClient({ region: localRegion, endpoint: runtime.endpoints.sqs, credentials: CREDENTIALS });
  try {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: runtime.resources.queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    return Object.values(Attributes).reduce((sum, count) => sum + Number(count), 0);
  } finally {
    sqs.destroy();
  }
}

describe.each(['dynalite', 'dynamodb-local'] as DynamoEngine[])('a stop and a start on the same data folder, with %s', (engine) => {
  let dataDir: string;
  const runtimes: LocalRuntime[] = [];
  const proxies: FaultProxy[] = [];
  const eventsBefore: JobEvent[] = [];
  const eventsAfter: JobEvent[] = [];
  let after: LocalRuntime;
  let announced: Job;
  let unannounced: Job;
  let unannouncedItem: Record<string, AttributeValue>;
  let running: Job;
  let delayed: Job;
  const statusAtStop: Record<string, string> = {};
  let runDeadlineAtStop: number | undefined;
  const errorsAfter: unknown[] = [];

  function start(options: LocalRuntimeOptions): Promise<LocalRuntime> {
    return startLocalRuntime({ port: 0, dynamodb: engine, dataDir, workerTimeoutSeconds: WORKER_TIMEOUT_SECONDS, onFunctionOutput: () => undefined, ...options });
  }

  /**
   * Resolves once nothing more can be published for the jobs of before the stop: the jobs queue is
   * empty, and the event of a job submitted after that has arrived (the tap hands events over in order).
   */
  let quiet: Promise<void> | undefined;
  function settled(): Promise<void> {
    quiet ??= (async () => {
      await waitFor('the jobs queue to be empty', async () => ((await messagesOnJobsQueue(after)) === 0 ? true : undefined));
      const sentinel = await submit(after, { type: 'echo', input: { sentinel: true } });
      await waitFor('the event of a job submitted last', () => eventsAfter.find((event) => event.data.id === sentinel.id));
    })();
    return quiet;
  }

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'async-jobs-data-dir-'));
    let refusedPublishes = 0;
    const before = await start({
      onEvent: (event) => eventsBefore.push(event as JobEvent),
      functionEndpoints: async (emulators) => {
        const sns = await startFaultProxy(emulators.sns, (_headers, body) => {
          if (!body.includes(UNANNOUNCED)) return 'pass';
          refusedPublishes += 1;
          return 'fail';
        });
        proxies.push(sns);
        return { dynamodb: emulators.dynamodb, sns: sns.endpoint };
      },
    });
    runtimes.push(before);

    // A job that ended and was announced before the stop.
    announced = await submit(before, { type: 'echo', input: { announced: true } });
    await waitFor('the event of the announced job', () => eventsBefore.find((event) => event.data.id === announced.id));
    // A job that ended, but whose event SNS refused: the worker leaves its message on the queue to try again.
    unannounced = await submit(before, { type: 'echo', input: { announced: false }, metadata: { note: UNANNOUNCED } });
    await waitForStatus(before, unannounced.id, ['SUCCEEDED']);
    await waitFor('a refused publish', () => (refusedPublishes > 0 ? true : undefined));
    unannouncedItem = await storedItem(before, unannounced.id);
    // A job in the middle of its run at the stop.
    running = await submit(before, { type: 'sleep', input: { seconds: 4 } });
    await waitForStatus(before, running.id, ['RUNNING']);
    // A job waiting out its delay at the stop.
    delayed = await submit(before, { type: 'echo', input: { delayed: true }, delaySeconds: DELAY_SECONDS });
    for (const job of [running, delayed]) statusAtStop[job.id] = (await getJob(before, job.id)).status;
    runDeadlineAtStop = Number((await storedItem(before, running.id)).runDeadline?.N);
    // A record no code of ours wrote: queued, with no type to put in its message.
    await putItem(before, { id: { S: BROKEN_RECORD }, status: { S: 'QUEUED' }, createdAt: { S: new Date().toISOString() } });
    await before.stop();
    await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));

    after = await start({ onEvent: (event) => eventsAfter.push(event as JobEvent), onError: (error) => errorsAfter.push(error) });
    runtimes.push(after);
  }, 120_000);

  afterAll(async () => {
    for (const runtime of runtimes) await runtime.stop();
    await Promise.all(proxies.map((proxy) => proxy.close()));
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('finishes a job that was RUNNING at the stop, and publishes its job.succeeded event', async () => {
    // Act
    const job = await waitForStatus(after, running.id, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    const event = await waitFor('its event', () => eventsAfter.find((candidate) => candidate.data.id === running.id));
    // Assess
    expect(statusAtStop[running.id]).toBe('RUNNING');
    expect(after.interruptedJobs.map((interrupted) => interrupted.jobId)).toEqual([running.id]);
    // Taken over at its stopped invocation's deadline and a second, not before: then it ends.
    const takenOverAt = after.interruptedJobs[0]?.takenOverAt.getTime() ?? Number.NaN;
    expect(takenOverAt).toBe((runDeadlineAtStop ?? Number.NaN) + 1_000);
    expect(Date.parse(job.startedAt ?? '')).toBeGreaterThanOrEqual(takenOverAt);
    expect(job).toMatchObject({ status: 'SUCCEEDED', result: { sleptSeconds: 4 } });
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id: running.id, status: 'SUCCEEDED' } });
  }, 90_000);

  it('runs a job that was waiting out its delaySeconds at the stop, not before its delay is over, and publishes its event', async () => {
    // Act
    const job = await waitForStatus(after, delayed.id, ['SUCCEEDED', 'FAILED', 'CANCELLED']);
    const event = await waitFor('its event', () => eventsAfter.find((candidate) => candidate.data.id === delayed.id));
    // Assess
    expect(statusAtStop[delayed.id]).toBe('QUEUED');
    expect(job.status).toBe('SUCCEEDED');
    expect(Date.parse(job.startedAt ?? '')).toBeGreaterThanOrEqual(Date.parse(job.createdAt) + DELAY_SECONDS * 1000);
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id: delayed.id } });
  }, 90_000);

  it('publishes the event of a job that had ended without it, once, with the event id fixed when it ended', async () => {
    // Act
    await waitFor('its event', () => eventsAfter.find((event) => event.data.id === unannounced.id));
    await settled();
    // Assess
    expect(eventsBefore.filter((event) => event.data.id === unannounced.id)).toEqual([]);
    expect(unannouncedItem.publishedAt).toBeUndefined();
    const eventId = unannouncedItem.eventId?.S;
    expect(eventId).toMatch(/^evt_/);
    const events = eventsAfter.filter((event) => event.data.id === unannounced.id);
    expect(events.map((event) => ({ id: event.id, type: event.type }))).toEqual([{ id: eventId, type: 'job.succeeded' }]);
  }, 90_000);

  it('reports a record it cannot queue again, and starts with the others queued (the tests above)', () => {
    // Assess
    const reports = errorsAfter.map(String).filter((message) => message.includes(BROKEN_RECORD));
    expect(reports).toEqual([expect.stringContaining('has no id or type, so it is not queued again')]);
  });

  it('does not publish again the event of a job announced before the stop', async () => {
    // Act
    await settled();
    // Assess
    expect(eventsBefore.filter((event) => event.data.id === announced.id)).toHaveLength(1);
    expect(eventsAfter.filter((event) => event.data.id === announced.id)).toEqual([]);
  }, 90_000);
});
