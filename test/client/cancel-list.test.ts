/**
 * The client's cancel, list and idempotent submit against the local runtime: the parts that rely
 * on `DELETE /jobs/{id}`, `GET /jobs` and `Idempotency-Key` on the server.
 */
import { setTimeout } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../client/cli.ts';
import { ApiError, JobCancelledError, type Job } from '../../client/index.ts';
import { runBin } from './cli-process.ts';
import { useLocalRuntime } from './runtime-fixture.ts';

const fixture = useLocalRuntime();

/** Resolves once the job is RUNNING. */
async function untilRunning(id: string): Promise<void> {
  for (let tries = 0; tries < 100; tries += 1) {
    if ((await fixture.client.get(id)).status === 'RUNNING') return;
    await setTimeout(100);
  }
  throw new Error(`job ${id} did not start`);
}

describe('cancel()', () => {
  it('cancels a QUEUED job at once, and wait() then throws JobCancelledError', async () => {
    // Prepare: a delayed job stays QUEUED long enough to be cancelled.
    const accepted = await fixture.client.submit({ type: 'echo', input: 1, delaySeconds: 60 });
    // Act
    const cancelled = await fixture.client.cancel(accepted.id);
    const waited = await fixture.client.wait(accepted.id, { timeoutMs: 5000 }).catch((caught: unknown) => caught);
    // Assess
    expect(cancelled).toMatchObject({ id: accepted.id, status: 'CANCELLED', done: true });
    expect(waited).toBeInstanceOf(JobCancelledError);
    expect(waited).toMatchObject({ job: { id: accepted.id, status: 'CANCELLED' }, problem: { title: 'Job cancelled' } });
  });

  it('stops a RUNNING job, which wait() then reports as JobCancelledError', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'sleep', input: { seconds: 30 } });
    await untilRunning(accepted.id);
    // Act
    const stopping = await fixture.client.cancel(accepted.id);
    const waited = await fixture.client.wait(accepted.id, { timeoutMs: 15_000 }).catch((caught: unknown) => caught);
    // Assess
    expect(stopping.id).toBe(accepted.id);
    expect(waited).toBeInstanceOf(JobCancelledError);
  }, 40_000);

  it('answers a finished job with ApiError 409', async () => {
    // Prepare
    const done = await fixture.client.submitAndWait({ type: 'echo', input: 2 }, { timeoutMs: 15_000 });
    // Act
    const error = await fixture.client.cancel(done.id).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, problem: { status: 409 } });
  });
});

describe('list()', () => {
  it('pages through the caller’s jobs newest first, filtered by status, following nextCursor', async () => {
    // Prepare: five delayed jobs stay QUEUED.
    const submitted: Job[] = [];
    for (let n = 0; n < 5; n += 1) submitted.push(await fixture.client.submit({ type: 'echo', input: n, delaySeconds: 120 }));
    // Act
    const pages: string[][] = [];
    for await (const page of fixture.client.list({ status: 'QUEUED', limit: 2 })) pages.push(page.jobs.map((job) => job.id));
    // Assess
    expect(pages.length).toBeGreaterThanOrEqual(3);
    expect(pages.every((page) => page.length <= 2)).toBe(true);
    const listed = pages.flat();
    const ours = listed.filter((id) => submitted.some((job) => job.id === id));
    expect(ours).toEqual(submitted.map((job) => job.id).reverse());
  });
});

describe('submit() with an Idempotency-Key', () => {
  it('returns the same job for the same key and body, and ApiError 422 for the same key with another body', async () => {
    // Prepare
    const key = `test-${Date.now()}`;
    // Act
    const first = await fixture.client.submit({ type: 'echo', input: { n: 1 } }, { idempotencyKey: key });
    const replay = await fixture.client.submit({ type: 'echo', input: { n: 1 } }, { idempotencyKey: key });
    const conflict = await fixture.client.submit({ type: 'echo', input: { n: 2 } }, { idempotencyKey: key }).catch((caught: unknown) => caught);
    // Assess
    expect(replay.id).toBe(first.id);
    expect(conflict).toBeInstanceOf(ApiError);
    expect(conflict).toMatchObject({ status: 422 });
  });
});

describe('the async-jobs CLI', () => {
  it('cancel exits 0 and prints the CANCELLED job; list prints it as JSON', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'echo', input: 3, delaySeconds: 60 });
    // Act
    const cancel = await runBin(['cancel', accepted.id], { ASYNC_JOBS_URL: fixture.runtime.url });
    const list = await runBin(['list', '--status', 'CANCELLED', '--limit', '50'], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(cancel.code).toBe(ExitCode.ok);
    expect(JSON.parse(cancel.stdout)).toMatchObject({ id: accepted.id, status: 'CANCELLED' });
    expect(list.code).toBe(ExitCode.ok);
    const jobs = JSON.parse(list.stdout) as Job[];
    expect(jobs.every((job) => job.status === 'CANCELLED')).toBe(true);
    expect(jobs.map((job) => job.id)).toContain(accepted.id);
  });
});
