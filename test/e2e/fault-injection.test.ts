/**
 * The promise of a 202, under faults: 500 jobs whose processors fail retryably 30% of the time,
 * whose worker crashes right after a state write for some of them, whose completion publish fails
 * once for some, and some of whose messages are delivered twice, with a short visibility timeout.
 * Afterwards every job is in exactly one final state with exactly one distinct completion event.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRegion } from '#infra/config';
import type { DynamoEngine } from '#infra/local/emulators';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';

const JOBS = 500;
const FINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** Picks roughly `share` of the ids, deterministically per id. */
function chosen(id: string, salt: string, share: number): boolean {
  let hash = 0;
  for (const char of `${salt}${id}`) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % 1000 < share * 1000;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index] as T);
      }
    }),
  );
  return results;
}

describe.each(['dynalite', 'dynamodb-local'] as DynamoEngine[])('faults with %s', (engine) => {
  let runtime: LocalRuntime;
  const proxies: FaultProxy[] = [];
  const events: { id: string; type: string; data: { id: string; status: string } }[] = [];
  const injected = { crashes: 0, publishFailures: 0, duplicates: 0 };
  const crashed = new Set<string>();
  const publishFailures = new Map<string, number>();

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      port: 0,
      dynamodb: engine,
      visibilityTimeoutSeconds: 5,
      workerTimeoutSeconds: 4,
      pollers: 8,
      reconcileIntervalSeconds: 5,
      onEvent: (event) => events.push(event as (typeof events)[number]),
      onError: () => undefined,
      onFunctionOutput: () => undefined,
      functionEndpoints: async (emulators) => {
        const dynamo = await startFaultProxy(emulators.dynamodb, (headers, body) => {
          if (headers['x-amz-target'] !== 'DynamoDB_20120810.UpdateItem') return 'pass';
          const request = JSON.parse(body) as { Key?: { id?: { S?: string } }; ExpressionAttributeValues?: Record<string, { S?: string }> };
          const id = request.Key?.id?.S ?? '';
          const to = request.ExpressionAttributeValues?.[':to']?.S;
          // A crash right after the start write for some jobs, right after the final write for others.
          const crash = (to === 'RUNNING' && chosen(id, 'start', 0.03)) || ((to === 'SUCCEEDED' || to === 'FAILED') && chosen(id, 'end', 0.03));
          if (!crash || crashed.has(`${id}:${to}`)) return 'pass';
          crashed.add(`${id}:${to}`);
          injected.crashes += 1;
          return 'hang-after-write';
        });
        const sns = await startFaultProxy(emulators.sns, (_headers, body) => {
          const id = /job_[A-Za-z0-9_-]{22}/.exec(body)?.[0];
          if (!id || !chosen(id, 'publish', 0.1)) return 'pass';
          // Fail every SDK attempt of the first publish call (three attempts), then let it through.
          const failures = publishFailures.get(id) ?? 0;
          if (failures >= 3) return 'pass';
          publishFailures.set(id, failures + 1);
          if (failures === 0) injected.publishFailures += 1;
          return 'fail';
        });
        proxies.push(dynamo, sns);
        return { dynamodb: dynamo.endpoint, sns: sns.endpoint };
      },
    });
  }, 120_000);

  afterAll(async () => {
    await runtime?.stop();
    await Promise.all(proxies.map((proxy) => proxy.close()));
  });

  it(`brings ${JOBS} jobs to exactly one final state each, with exactly one distinct event each`, async () => {
    // Prepare
    const sqs = new SQSClient({
      region: localRegion,
      endpoint: runtime.endpoints.sqs,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    // Act: submit, and deliver some messages twice as SQS may.
    const ids = await mapLimit(Array.from({ length: JOBS }, (_, index) => index), 16, async (index) => {
      const response = await fetch(`${runtime.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'flaky', input: { failureRate: 0.3 }, metadata: { index: String(index) } }),
      });
      expect(response.status).toBe(202);
      const { id } = (await response.json()) as { id: string };
      if (chosen(id, 'duplicate', 0.05)) {
        await sqs.send(new SendMessageCommand({ QueueUrl: runtime.resources.queueUrl, MessageBody: JSON.stringify({ jobId: id, type: 'flaky' }) }));
        injected.duplicates += 1;
      }
      return id;
    });
    sqs.destroy();
    // Every job's end is announced; wait for all the announcements, then read every job once.
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline && new Set(events.map((event) => event.data.id)).size < JOBS) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // Late duplicates (a republish after a crash) must carry the same event id: give them a moment.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const jobs = await mapLimit(ids, 16, async (id) => (await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as { id: string; status: string });
    // Assess: the faults happened.
    expect(injected.crashes).toBeGreaterThan(10);
    expect(injected.publishFailures).toBeGreaterThan(10);
    expect(injected.duplicates).toBeGreaterThan(5);
    // Every job is in exactly one final state; none lost, none RUNNING.
    expect(jobs).toHaveLength(JOBS);
    expect(jobs.filter((job) => !FINAL.has(job.status))).toEqual([]);
    // Each job has exactly one distinct completion event id, delivered at least once, matching its state.
    const byJob = new Map<string, Set<string>>();
    for (const event of events) byJob.set(event.data.id, (byJob.get(event.data.id) ?? new Set()).add(event.id));
    expect(ids.filter((id) => byJob.get(id)?.size !== 1)).toEqual([]);
    const finalStatus = new Map(jobs.map((job) => [job.id, job.status]));
    expect(events.filter((event) => event.type !== `job.${finalStatus.get(event.data.id)?.toLowerCase()}`)).toEqual([]);
    // Most jobs succeed: retries carry them past the 30% failures and the crashes.
    expect(jobs.filter((job) => job.status === 'SUCCEEDED').length).toBeGreaterThan(JOBS * 0.9);
  }, 300_000);
});
