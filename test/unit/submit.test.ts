import { describe, expect, it } from 'vitest';
import { isJobId } from '#core/ids';
import type { JobMessage, JobQueue } from '#core/ports';
import { ProblemError, ProblemType } from '#core/problem';
import { type SubmitDeps, submitJob } from '#core/submit';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** A queue that records what it was asked to send, or fails like an SQS outage. */
class FakeQueue implements JobQueue {
  readonly sent: { message: JobMessage; delaySeconds: number | undefined }[] = [];
  failure: Error | undefined;

  async enqueue(message: JobMessage, delaySeconds?: number): Promise<void> {
    if (this.failure) throw this.failure;
    this.sent.push({ message, delaySeconds });
  }
}

function setup() {
  const store = new InMemoryJobStore();
  const queue = new FakeQueue();
  const deps: SubmitDeps = {
    store,
    queue,
    knownTypes: ['echo', 'sleep', 'fail'],
    limits: { maxDelaySeconds: 900, retryAfterSeconds: 2 },
    now: () => NOW,
  };
  return { store, queue, deps };
}

async function problemOf(promise: Promise<unknown>): Promise<ProblemError> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ProblemError)) throw new Error(`expected a ProblemError, got ${String(error)}`);
  return error;
}

describe('submitJob', () => {
  it('records a QUEUED job for its owner and enqueues exactly its id and type', async () => {
    // Prepare
    const { store, queue, deps } = setup();

    // Act
    const job = await submitJob(deps, 'arn:aws:iam::1:user/alice', {
      type: 'sleep',
      input: { seconds: 2 },
      delaySeconds: 30,
      metadata: { team: 'a' },
    });

    // Assess
    expect(isJobId(job.id)).toBe(true);
    expect(job).toEqual({
      id: job.id,
      owner: 'arn:aws:iam::1:user/alice',
      type: 'sleep',
      status: 'QUEUED',
      input: { seconds: 2 },
      metadata: { team: 'a' },
      delaySeconds: 30,
      attempts: 0,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    expect(await store.get(job.id)).toEqual(job);
    expect(queue.sent).toEqual([{ message: { jobId: job.id, type: 'sleep' }, delaySeconds: 30 }]);
  });

  it('stores a missing input as null and leaves out what was not sent', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const job = await submitJob(deps, 'anonymous', { type: 'echo' });

    // Assess
    expect(job.input).toBeNull();
    expect(job).not.toHaveProperty('metadata');
    expect(job).not.toHaveProperty('delaySeconds');
  });

  it('gives every job its own id', async () => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const jobs = await Promise.all(Array.from({ length: 20 }, () => submitJob(deps, 'anonymous', { type: 'echo' })));

    // Assess
    expect(new Set(jobs.map((job) => job.id)).size).toBe(20);
    expect(store.jobs.size).toBe(20);
  });

  it.each<[string, unknown]>([
    ['no type', { input: 1 }],
    ['a bad delay', { type: 'echo', delaySeconds: 901 }],
    ['an unknown property', { type: 'echo', callback: 'x' }],
    ['a non-object body', ['echo']],
  ])('answers 400 for %s and creates nothing', async (_, body) => {
    // Prepare
    const { store, queue, deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', body));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400 });
    expect(error.problem.errors?.length).toBeGreaterThan(0);
    expect(store.jobs.size).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('answers 422 for an unknown type, listing the known ones, and creates nothing', async () => {
    // Prepare
    const { store, queue, deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', { type: 'resize-image' }));

    // Assess
    expect(error.problem).toEqual({
      type: ProblemType.unknownJobType,
      title: 'Unknown job type',
      status: 422,
      detail: "No processor handles job type 'resize-image'. Known types: echo, sleep, fail.",
      errors: [{ field: '/type', message: "unknown job type 'resize-image'" }],
    });
    expect(store.jobs.size).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('removes the record and answers 503 with Retry-After when the message cannot be sent', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    const outage = new Error('SQS is down');
    queue.failure = outage;

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', { type: 'echo' }));

    // Assess
    expect(error.problem).toEqual({
      type: ProblemType.unavailable,
      title: 'Service unavailable',
      status: 503,
      detail: 'The job could not be queued; nothing was created. Retry the request.',
    });
    expect(error.headers).toEqual({ 'retry-after': '2' });
    expect(error.cause).toBe(outage);
    expect(store.jobs.size).toBe(0);
  });

  it('refuses to overwrite an existing record', async () => {
    // Prepare: a store that reports every id as taken.
    const { deps, queue } = setup();
    const full = { ...deps, store: Object.assign(new InMemoryJobStore(), { create: async () => false }) };

    // Act
    const outcome = submitJob(full, 'anonymous', { type: 'echo' });

    // Assess
    await expect(outcome).rejects.toThrow(/^job id collision on job_/);
    expect(queue.sent).toEqual([]);
  });
});
