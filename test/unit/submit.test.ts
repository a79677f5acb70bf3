import { describe, expect, it } from 'vitest';
import { isJobId } from '#core/ids';
import { runnableAt } from '#core/job';
import type { JobMessage, JobQueue } from '#core/ports';
import { ProblemError, ProblemType } from '#core/problem';
import { reconcile } from '#core/reconcile';
import { MAX_DEPTH, type SubmitDeps, submitJob } from '#core/submit';
import { lifecycle } from '#infra/config';
import { inputSchemas } from '#processors/types';
import { InMemoryJobStore } from '../support/in-memory-store.ts';
import { documentAjv, localDocument } from '../support/openapi-check.ts';

/** A store whose reconciler flag write fails, as when DynamoDB throttles while SQS is down. */
class FlagFailingStore extends InMemoryJobStore {
  flagFails = false;

  override async scheduleSweep(...args: Parameters<InMemoryJobStore['scheduleSweep']>): Promise<boolean> {
    if (this.flagFails) throw new Error('ProvisionedThroughputExceededException');
    return super.scheduleSweep(...args);
  }
}

/** What a reconciler run at `at` sends for the jobs in `store`. */
async function sweepAt(store: InMemoryJobStore, at: Date): Promise<JobMessage[]> {
  const queue = new FakeQueue();
  await reconcile({ store, queue, lifecycle, batch: 100, now: () => at, logger: { warn: () => undefined } });
  return queue.sent.map((sent) => sent.message);
}

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** A queue that records what it was asked to send, or fails like an SQS outage. */
class FakeQueue implements JobQueue {
  readonly sent: { message: JobMessage; delaySeconds: number | undefined }[] = [];
  failure: Error | undefined;

  /** Sends that never answer, until the caller's signal gives up on them. */
  hang = false;

  async enqueue(message: JobMessage, delaySeconds?: number, signal?: AbortSignal): Promise<string> {
    if (this.hang) {
      await new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    if (this.failure) throw this.failure;
    this.sent.push({ message, delaySeconds });
    return `message-${this.sent.length}`;
  }
}

function setup(overrides: Partial<SubmitDeps> = {}) {
  const store = new InMemoryJobStore();
  const queue = new FakeQueue();
  const deps: SubmitDeps = {
    store,
    queue,
    knownTypes: ['echo', 'sleep', 'fail'],
    inputSchemas: {},
    limits: { maxDelaySeconds: 900, retryAfterSeconds: 2, defaultTimeoutSeconds: 60, maxTimeoutSeconds: 117, maxBodyBytes: 131_072 },
    lifecycle,
    idempotencySecret: 'test-secret',
    webhooks: { mode: 'cloud', resolve: async (host) => (host === 'hooks.example.com' ? ['93.184.216.34'] : host === 'internal.example.com' ? ['10.1.2.3'] : []) },
    now: () => NOW,
    ...overrides,
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
    const { job, replayed } = await submitJob(deps, 'arn:aws:iam::1:user/alice', {
      type: 'sleep',
      input: { seconds: 2 },
      delaySeconds: 30,
      timeoutSeconds: 10,
      metadata: { team: 'a' },
    });

    // Assess
    expect(replayed).toBe(false);
    expect(isJobId(job.id)).toBe(true);
    expect(job).toMatchObject({
      owner: 'arn:aws:iam::1:user/alice',
      type: 'sleep',
      status: 'QUEUED',
      input: { seconds: 2 },
      metadata: { team: 'a' },
      delaySeconds: 30,
      timeoutSeconds: 10,
      attempts: 0,
      createdAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
    });
    expect(await store.get(job.id)).toEqual(job);
    expect(queue.sent).toEqual([{ message: { jobId: job.id, type: 'sleep' }, delaySeconds: 30 }]);
  });

  it('stores a missing input as null, the default timeout, and leaves out what was not sent', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const { job } = await submitJob(deps, 'anonymous', { type: 'echo' });

    // Assess
    expect(job.input).toBeNull();
    expect(job.timeoutSeconds).toBe(60);
    expect(job).not.toHaveProperty('metadata');
    expect(job).not.toHaveProperty('delaySeconds');
    expect(job).not.toHaveProperty('requestHash');
  });

  it('caps the default timeout at the longest the worker allows', async () => {
    // Prepare
    const { deps } = setup();
    const shortWorker = { ...deps, limits: { ...deps.limits, maxTimeoutSeconds: 20 } };

    // Act
    const { job } = await submitJob(shortWorker, 'anonymous', { type: 'echo' });

    // Assess
    expect(job.timeoutSeconds).toBe(20);
  });

  it('writes no reconciler entry on the happy path, so the sweep index costs nothing per job', async () => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const { job } = await submitJob(deps, 'anonymous', { type: 'echo', delaySeconds: 100 });

    // Assess
    expect(store.jobs.get(job.id)).not.toHaveProperty('sweepAt');
    expect(store.jobs.get(job.id)).not.toHaveProperty('sweepShard');
  });

  it('flags a kept job for the reconciler when its message could not be sent, due when it may start', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.failure = new Error('SQS is down');

    // Act
    await problemOf(submitJob(deps, 'anonymous', { type: 'echo', delaySeconds: 100 }, 'flag-me'));

    // Assess
    const [kept] = [...store.jobs.values()];
    // Due when it may start: the mark of a job known to have no message.
    expect(kept?.sweepAt).toBe(new Date(NOW.getTime() + 100 * 1000).toISOString());
    expect(Number(kept?.sweepShard)).toBeGreaterThanOrEqual(0);
    expect(Number(kept?.sweepShard)).toBeLessThan(lifecycle.sweepShards);
  });

  it('gives every job its own id', async () => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const submitted = await Promise.all(Array.from({ length: 20 }, () => submitJob(deps, 'anonymous', { type: 'echo' })));

    // Assess
    expect(new Set(submitted.map(({ job }) => job.id)).size).toBe(20);
    expect(store.jobs.size).toBe(20);
  });

  it.each<[string, unknown]>([
    ['no type', { input: 1 }],
    ['a bad delay', { type: 'echo', delaySeconds: 901 }],
    ['a bad timeout', { type: 'echo', timeoutSeconds: 118 }],
    ['an unknown property', { type: 'echo', priority: 'high' }],
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

  it.each<[string, unknown, string[]]>([
    ['beside another bad field', { type: 'echo', delaySeconds: 901, callbackUrl: 'ftp://hooks.example.com/jobs' }, ['/callbackUrl', '/delaySeconds']],
    ['beside an unknown type (a 400 comes before the 422)', { type: 'resize-image', callbackUrl: 'ftp://hooks.example.com/jobs' }, ['/callbackUrl']],
  ])('names a callback URL that is not https in the same 400, %s', async (_, body, fields) => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', body));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400 });
    expect(error.problem.errors?.map((entry) => entry.field).sort()).toEqual(fields);
    expect(error.problem.errors).toContainEqual({ field: '/callbackUrl', message: 'must be an https URL' });
    expect(store.jobs.size).toBe(0);
  });

  it.each([
    ['resolves to a private address', 'https://internal.example.com/hooks', 'is refused: the host resolves to a private (RFC 1918) address (10.1.2.3)'],
    ['does not resolve', 'https://nowhere.example.com/hooks', 'is refused: the host does not resolve'],
  ])('answers 400 for a callback host that %s, and creates nothing', async (_, callbackUrl, message) => {
    // Prepare
    const { store, queue, deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo', callbackUrl }, 'order-42'));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400 });
    expect(error.problem.errors).toEqual([{ field: '/callbackUrl', message: expect.stringContaining(message) }]);
    expect(store.jobs.size).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it.each<[string, unknown, unknown[]]>([
    ['a sleep over 60 seconds', { type: 'sleep', input: { seconds: 999 } }, [{ field: '/input/seconds', message: 'must be at most 60' }]],
    ['a sleep of "abc" seconds', { type: 'sleep', input: { seconds: 'abc' } }, [{ field: '/input/seconds', message: 'must be of type number, got string' }]],
    ['a sleep without input', { type: 'sleep' }, [{ field: '/input', message: 'must be of type object, got null' }]],
    ['a flaky failure rate over 1', { type: 'flaky', input: { failureRate: 2 } }, [{ field: '/input/failureRate', message: 'must be at most 1' }]],
  ])('answers 400 for an input its type refuses, %s, naming the field, and creates nothing', async (_, body, errors) => {
    // Prepare
    const { store, queue, deps } = setup({ knownTypes: ['echo', 'sleep', 'flaky'], inputSchemas });

    // Act
    const error = await problemOf(submitJob(deps, 'alice', body));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400, errors });
    expect(store.jobs.size).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('names a bad input in the same 400 as the other bad fields', async () => {
    // Prepare
    const { deps } = setup({ knownTypes: ['echo', 'sleep', 'flaky'], inputSchemas });

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'sleep', input: { seconds: 999 }, delaySeconds: 901 }));

    // Assess
    expect(error.problem.errors?.map((entry) => entry.field).sort()).toEqual(['/delaySeconds', '/input/seconds']);
  });

  it.each<[string, unknown]>([
    ['a sleep of 2 seconds', { type: 'sleep', input: { seconds: 2 } }],
    ['a sleep of 999 seconds', { type: 'sleep', input: { seconds: 999 } }],
    ['a sleep without input', { type: 'sleep' }],
    ['a flaky job without input', { type: 'flaky' }],
    ['a flaky job with a failure rate of 2', { type: 'flaky', input: { failureRate: 2 } }],
    ['a flaky job with a bare number', { type: 'flaky', input: 5 }],
    ['an echo of a bare number', { type: 'echo', input: 5 }],
    ['a type nobody registered, with any input', { type: 'resize-image', input: 5 }],
  ])('%s: the OpenAPI document refuses exactly the bodies the handler answers 400', async (_, body) => {
    // Prepare
    const { deps } = setup({ knownTypes: ['echo', 'sleep', 'fail', 'flaky'], inputSchemas });
    const ajv = documentAjv(localDocument());

    // Act
    const documented = ajv.validate({ $ref: 'https://async-jobs.invalid/components.json#/$defs/SubmitRequest' }, body);
    const answer = await submitJob(deps, 'alice', body).then(
      () => 202,
      (error: unknown) => (error instanceof ProblemError ? error.problem.status : 500),
    );

    // Assess
    expect(documented).toBe(answer !== 400);
  });

  it.each<[string, unknown]>([
    ['a sleep of 2.5 seconds', { type: 'sleep', input: { seconds: 2.5 } }],
    ['a flaky job without input', { type: 'flaky' }],
    ['an echo of anything', { type: 'echo', input: ['any', { json: true }] }],
  ])('accepts an input its type takes: %s', async (_, body) => {
    // Prepare
    const { store, deps } = setup({ knownTypes: ['echo', 'sleep', 'flaky'], inputSchemas });

    // Act
    const { job } = await submitJob(deps, 'alice', body);

    // Assess
    expect(job.status).toBe('QUEUED');
    expect(store.jobs.size).toBe(1);
  });

  it.each<[string, number, boolean]>([
    ['as deep as allowed', MAX_DEPTH, true],
    ['one level deeper than allowed', MAX_DEPTH + 1, false],
  ])('takes a body nested %s: %s', async (_, depth, accepted) => {
    // Prepare: the body object is the first level.
    let input: unknown = 'leaf';
    for (let level = 1; level < depth; level += 1) input = [input];
    const { store, deps } = setup();

    // Act
    const outcome = await submitJob(deps, 'anonymous', { type: 'echo', input }).then(
      () => 'accepted',
      (error: unknown) => error,
    );

    // Assess
    if (accepted) {
      expect(outcome).toBe('accepted');
      expect(store.jobs.size).toBe(1);
    } else {
      expect(outcome).toBeInstanceOf(ProblemError);
      expect((outcome as ProblemError).problem).toMatchObject({
        type: ProblemType.validation,
        status: 400,
        errors: [{ field: '/input', message: `the body nests deeper than ${MAX_DEPTH} levels` }],
      });
      expect(store.jobs.size).toBe(0);
    }
  });

  it('names the body itself when the nesting is not in one of its members', async () => {
    // Prepare: an array body (refused anyway), nested too deep
    let body: unknown = 'leaf';
    for (let level = 0; level < MAX_DEPTH + 1; level += 1) body = [body];
    const { deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', body));

    // Assess
    expect(error.problem.errors).toEqual([{ field: '', message: `the body nests deeper than ${MAX_DEPTH} levels` }]);
  });

  it('answers 413 for a body under the limit as sent that is over it as stored, and creates nothing', async () => {
    // Prepare: 1e20 is 4 bytes sent and 21 stored (JSON writes it out in full), so 46.5 KB sent is 204 KB stored
    const raw = `{"type":"echo","input":[${Array.from({ length: 9_305 }, () => '1e20').join(',')}]}`;
    const { store, queue, deps } = setup();
    expect(Buffer.byteLength(raw)).toBeLessThan(deps.limits.maxBodyBytes);

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', JSON.parse(raw)));

    // Assess
    const stored = Buffer.byteLength(JSON.stringify(JSON.parse(raw)));
    expect(error.problem).toMatchObject({
      type: ProblemType.payloadTooLarge,
      status: 413,
      detail: `The request body is ${stored} bytes once parsed and written as JSON again, as the job stores it (numbers in full: 1e20 takes 21 bytes); the limit is 131072 bytes.`,
    });
    expect(store.jobs.size).toBe(0);
    expect(queue.sent).toEqual([]);
  });

  it('accepts a body exactly at the limit as stored', async () => {
    // Prepare
    const frame = JSON.stringify({ type: 'echo', input: '' });
    const { deps } = setup();
    const body = { type: 'echo', input: 'x'.repeat(deps.limits.maxBodyBytes - Buffer.byteLength(frame)) };

    // Act
    const { job } = await submitJob(deps, 'anonymous', body);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(body))).toBe(deps.limits.maxBodyBytes);
    expect(job.status).toBe('QUEUED');
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

  it('answers 503, naming the job, and leaves it to the reconciler when neither the message nor the removal goes through', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.failure = new Error('SQS is down');
    store.discard = async () => {
      throw new Error('DynamoDB throttled');
    };

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', { type: 'echo' }));

    // Assess
    const [kept] = [...store.jobs.values()];
    expect(error.problem).toMatchObject({ type: ProblemType.unavailable, status: 503 });
    expect(error.problem.detail).toContain(`job ${kept?.id} may still run later`);
    expect(error.headers).toEqual({ 'retry-after': '2' });
    // Due at once (it may start now): the next reconciler run sends it.
    expect(kept).toMatchObject({ status: 'QUEUED', sweepAt: NOW.toISOString() });
  });

  it('says the job stays QUEUED until cancelled when it could be neither removed nor flagged for the reconciler', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.failure = new Error('SQS is down');
    const tableDown = async () => {
      throw new Error('DynamoDB unreachable');
    };
    store.discard = tableDown;
    store.scheduleSweep = tableDown;

    // Act
    const error = await problemOf(submitJob(deps, 'anonymous', { type: 'echo' }));

    // Assess
    const [kept] = [...store.jobs.values()];
    expect(error.problem).toMatchObject({ type: ProblemType.unavailable, status: 503 });
    expect(error.problem.detail).toContain(`job ${kept?.id} stays QUEUED until you cancel it (DELETE /jobs/${kept?.id})`);
    expect(error.problem.detail).not.toContain('may still run later');
  });

  it('gives up on a send that hangs at the deadline, in time to flag the job and answer 503', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.hang = true;

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'order-7', AbortSignal.timeout(20)));

    // Assess
    const [kept] = [...store.jobs.values()];
    expect(error.problem).toMatchObject({ type: ProblemType.unavailable, status: 503 });
    expect(kept).toMatchObject({ status: 'QUEUED', sweepAt: expect.any(String) });
    expect(queue.sent).toEqual([]);
  });

  it('answers with the job, not a 503, when a send given up at the deadline had in fact gone through and the job started', async () => {
    // Prepare: SQS takes the message (the worker starts the job) but its answer never comes back in time
    const { store, deps } = setup();
    deps.queue.enqueue = async (message, _delay, signal) => {
      await store.transition(message.jobId, 'QUEUED', 'RUNNING', { countAttempt: true, startedAt: NOW.toISOString() });
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    };

    // Act
    const submitted = await submitJob(deps, 'anonymous', { type: 'echo' }, undefined, AbortSignal.timeout(20));

    // Assess
    expect(submitted).toMatchObject({ replayed: false, job: { status: 'RUNNING', attempts: 1 } });
    expect(store.jobs.size).toBe(1);
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

describe('submitJob with an Idempotency-Key', () => {
  it('replays the first job for a repeat with the same body, whatever its key order', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    const first = await submitJob(deps, 'alice', { type: 'echo', input: { a: 1, b: 2 } }, 'order-42');

    // Act
    const repeat = await submitJob(deps, 'alice', { input: { b: 2, a: 1 }, type: 'echo' }, 'order-42');

    // Assess
    expect(first.replayed).toBe(false);
    expect(repeat.replayed).toBe(true);
    expect(repeat.job).toEqual(first.job);
    expect(store.jobs.size).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it('replays the first job for a repeat whose callback host no longer resolves, and answers 422 for another body', async () => {
    // Prepare: accepted while the host resolved; then its lookup fails
    let lookupFails = false;
    const resolve = async () => (lookupFails ? Promise.reject(new Error('getaddrinfo EAI_AGAIN hooks.example.com')) : ['93.184.216.34']);
    const { store, queue, deps } = setup({ webhooks: { mode: 'cloud', resolve } });
    const body = { type: 'echo', input: 1, callbackUrl: 'https://hooks.example.com/jobs' };
    const first = await submitJob(deps, 'alice', body, 'order-42');
    lookupFails = true;

    // Act
    const repeat = await submitJob(deps, 'alice', body, 'order-42');
    const other = await problemOf(submitJob(deps, 'alice', { ...body, input: 2 }, 'order-42'));

    // Assess
    expect(repeat).toEqual({ job: first.job, replayed: true });
    expect(other.problem).toMatchObject({ type: ProblemType.idempotencyKeyReused, status: 422 });
    expect(store.jobs.size).toBe(1);
    expect(queue.sent).toHaveLength(1);
  });

  it('answers 400 for a repeat whose callback host no longer resolves when the first job has expired', async () => {
    // Prepare: accepted while the host resolved; the job ended and expired; then the lookup fails
    let lookupFails = false;
    const resolve = async () => (lookupFails ? Promise.reject(new Error('getaddrinfo ENOTFOUND hooks.example.com')) : ['93.184.216.34']);
    const { store, deps } = setup({ webhooks: { mode: 'cloud', resolve } });
    const body = { type: 'echo', callbackUrl: 'https://hooks.example.com/jobs' };
    const first = await submitJob(deps, 'alice', body, 'order-42');
    store.jobs.set(first.job.id, { ...first.job, status: 'SUCCEEDED', expiresAt: Math.floor(NOW.getTime() / 1000) - 1 });
    lookupFails = true;

    // Act
    const error = await problemOf(submitJob(deps, 'alice', body, 'order-42'));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400, errors: [{ field: '/callbackUrl' }] });
  });

  it('answers 422 for the same key with another body, and keeps the first job', async () => {
    // Prepare
    const { store, deps } = setup();
    const first = await submitJob(deps, 'alice', { type: 'echo', input: 1 }, 'order-42');

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo', input: 2 }, 'order-42'));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.idempotencyKeyReused, status: 422 });
    expect(await store.get(first.job.id)).toMatchObject({ input: 1 });
  });

  it.each<[string, string, string, string]>([
    ['two callers with one key', 'alice', 'bob', 'test-secret'],
    ['two deployments with different secrets', 'alice', 'alice', 'another-secret'],
  ])('keeps the jobs of %s apart', async (_, firstOwner, secondOwner, secondSecret) => {
    // Prepare
    const { store, deps } = setup();
    const other = { ...deps, idempotencySecret: secondSecret };

    // Act
    const first = await submitJob(deps, firstOwner, { type: 'echo' }, 'same-key');
    const second = await submitJob(other, secondOwner, { type: 'echo' }, 'same-key');

    // Assess
    expect(second.replayed).toBe(false);
    expect(second.job.id).not.toBe(first.job.id);
    expect(store.jobs.size).toBe(2);
  });

  it('derives an unguessable job id that does not contain the key', async () => {
    // Prepare
    const { deps } = setup();

    // Act
    const { job } = await submitJob(deps, 'alice', { type: 'echo' }, 'order-42');

    // Assess
    expect(isJobId(job.id)).toBe(true);
    expect(job.id).not.toContain('order');
  });

  it.each<[string, string]>([
    ['an empty key', ''],
    ['a key with a space', 'order 42'],
    ['a non-ASCII key', 'ordre-é'],
    ['a 256-character key', 'k'.repeat(256)],
  ])('answers 400 for %s, naming the header', async (_, key) => {
    // Prepare
    const { store, deps } = setup();

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, key));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.validation, status: 400, errors: [{ field: 'Idempotency-Key' }] });
    expect(store.jobs.size).toBe(0);
  });

  it('keeps the record when the message cannot be sent, so a retry with the key does not create a second job', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.failure = new Error('SQS is down');

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'order-42'));
    queue.failure = undefined;
    const retry = await submitJob(deps, 'alice', { type: 'echo' }, 'order-42');

    // Assess
    expect(error.problem.status).toBe(503);
    expect(error.headers).toEqual({ 'retry-after': '2' });
    expect(store.jobs.size).toBe(1);
    expect(retry.replayed).toBe(true);
    expect(retry.job.status).toBe('QUEUED');
  });

  it('enqueues a kept job on the retry that follows the 503, with what is left of its delay', async () => {
    // Prepare
    let now = NOW;
    const { queue, deps } = setup({ now: () => now });
    queue.failure = new Error('SQS is down');
    await problemOf(submitJob(deps, 'alice', { type: 'echo', delaySeconds: 60 }, 'order-43'));
    queue.failure = undefined;
    now = new Date(NOW.getTime() + 1_500);
    // Act
    const retry = await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 60 }, 'order-43');
    // Assess
    expect(retry.replayed).toBe(true);
    expect(queue.sent).toEqual([{ message: { jobId: retry.job.id, type: 'echo' }, delaySeconds: 59 }]);
  });

  it('writes no reconciler entry with the record: the first repeat answered from it writes one, due a stale-queue wait after the job may start', async () => {
    // Prepare
    const { store, queue, deps } = setup();

    // Act
    const { job } = await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 100 }, 'safety-net');
    const afterFirst = store.jobs.get(job.id)?.sweepAt;
    await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 100 }, 'safety-net');

    // Assess
    expect(afterFirst).toBeUndefined();
    expect(store.jobs.get(job.id)?.sweepAt).toBe(new Date(NOW.getTime() + (100 + lifecycle.staleQueuedSeconds) * 1000).toISOString());
    expect(queue.sent).toHaveLength(1);
    expect(await sweepAt(store, new Date(NOW.getTime() + (100 + lifecycle.staleQueuedSeconds - 1) * 1000))).toEqual([]);
  });

  it('answers a repeat 503, not 202, when it cannot write the entry that makes sure the job runs', async () => {
    // Prepare
    const { store, deps } = setup();
    await submitJob(deps, 'alice', { type: 'echo' }, 'table-down');
    store.scheduleSweep = async () => {
      throw new Error('ProvisionedThroughputExceededException');
    };

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'table-down'));

    // Assess
    expect(error.problem).toMatchObject({ status: 503 });
    expect(error.headers).toEqual({ 'retry-after': '2' });
  });

  it.each([
    ['a repeat answered from the record', 0],
    ['a repeat that sends the message of a job waiting long after it could have started', lifecycle.staleQueuedSeconds + 60],
  ])('never sweeps a job that started meanwhile and waits out a retry on its own message: %s', async (_case, secondsLater) => {
    // Prepare: between the repeat's read and its write, the job runs, fails retryably and is QUEUED again (hidden for an hour)
    const { store, deps } = setup();
    const { job } = await submitJob(deps, 'alice', { type: 'echo' }, 'retrying');
    const read = store.get.bind(store);
    store.get = async (id) => {
      const seen = await read(id);
      const stored = store.jobs.get(id);
      if (stored) store.jobs.set(id, { ...stored, attempts: 1 });
      return seen;
    };
    const later = new Date(NOW.getTime() + secondsLater * 1000);

    // Act
    const repeat = await submitJob({ ...deps, now: () => later }, 'alice', { type: 'echo' }, 'retrying');

    // Assess
    expect(repeat.replayed).toBe(true);
    expect(store.jobs.get(job.id)?.sweepAt).toBeUndefined();
    expect(await sweepAt(store, new Date(later.getTime() + 3_600_000))).toEqual([]);
  });

  it('the reconciler leaves alone a job whose entry it read was cleared meanwhile: it started, and waits out a retry', async () => {
    // Prepare: a repeat wrote the entry; the index the reconciler reads still shows it after the start cleared it
    const { store, deps } = setup();
    const { job } = await submitJob(deps, 'alice', { type: 'echo' }, 'stale-index');
    await submitJob(deps, 'alice', { type: 'echo' }, 'stale-index');
    const due = store.dueForSweep.bind(store);
    store.dueForSweep = async (...args) => {
      const read = await due(...args);
      const stored = store.jobs.get(job.id);
      if (stored && read.some((entry) => entry.id === job.id)) {
        const { sweepAt: _entry, sweepShard: _shard, ...started } = stored;
        store.jobs.set(job.id, { ...started, attempts: 1 });
      }
      return read;
    };

    // Act
    const sent = await sweepAt(store, new Date(NOW.getTime() + (lifecycle.staleQueuedSeconds + 1) * 1000));

    // Assess
    expect(sent).toEqual([]);
    expect(store.jobs.get(job.id)?.sweepAt).toBeUndefined();
  });

  it('keeps the flag its creating request wrote after a concurrent repeat read the record: the 503’s retry still sends at once', async () => {
    // Prepare: the repeat reads the record; the creator's send fails and it flags the job before the repeat writes
    const { store, queue, deps } = setup();
    const { job } = await submitJob(deps, 'alice', { type: 'echo' }, 'flag-race');
    queue.sent.length = 0;
    const read = store.get.bind(store);
    store.get = async (id) => {
      const seen = await read(id);
      const stored = store.jobs.get(id);
      if (stored) store.jobs.set(id, { ...stored, sweepAt: runnableAt(stored).toISOString(), sweepShard: '0' });
      store.get = read;
      return seen;
    };
    const repeat = await submitJob(deps, 'alice', { type: 'echo' }, 'flag-race');

    // Act: the retry that follows the creator's 503
    await submitJob(deps, 'alice', { type: 'echo' }, 'flag-race');

    // Assess
    expect(repeat.replayed).toBe(true);
    expect(queue.sent.map((sent) => sent.message)).toEqual([{ jobId: job.id, type: 'echo' }]);
  });

  it('runs a job answered 202 on a retry after its send and its flag both failed', async () => {
    // Prepare: SQS down, and the flag write throttled too.
    let now = NOW;
    const store = new FlagFailingStore();
    const { queue, deps } = setup({ store, now: () => now });
    queue.failure = new Error('SQS is down');
    store.flagFails = true;
    const first = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'double-fault'));
    queue.failure = undefined;
    store.flagFails = false;
    now = new Date(NOW.getTime() + 2_000);

    // Act
    const retry = await submitJob(deps, 'alice', { type: 'echo' }, 'double-fault');
    const swept = await sweepAt(store, new Date(NOW.getTime() + (lifecycle.staleQueuedSeconds + 1) * 1000));

    // Assess: the retry is told 202 (the record is there), and the reconciler sends the job.
    expect(first.problem.status).toBe(503);
    expect(retry.replayed).toBe(true);
    expect(swept).toEqual([{ jobId: retry.job.id, type: 'echo' }]);
  });

  it('runs a job whose first request died between its record and its message, once a repeat was told 202', async () => {
    // Prepare: the first request's SendMessage never answers (its Lambda is killed while it waits).
    const { store, queue, deps } = setup();
    queue.hang = true;
    void submitJob(deps, 'alice', { type: 'echo' }, 'died');
    await new Promise((resolve) => setTimeout(resolve, 10));
    queue.hang = false;

    // Act
    const repeat = await submitJob(deps, 'alice', { type: 'echo' }, 'died');
    const swept = await sweepAt(store, new Date(NOW.getTime() + (lifecycle.staleQueuedSeconds + 1) * 1000));

    // Assess
    expect(repeat.replayed).toBe(true);
    expect(swept).toEqual([{ jobId: repeat.job.id, type: 'echo' }]);
  });

  it('answers 503 with Retry-After, not 500, when the retry after a 503 cannot send either', async () => {
    // Prepare
    const { store, queue, deps } = setup();
    queue.failure = new Error('SQS is down');
    await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'still-down'));

    // Act
    const error = await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'still-down'));

    // Assess: still flagged, so the reconciler sends it if no later retry does.
    expect(error.problem.status).toBe(503);
    expect(error.headers).toEqual({ 'retry-after': '2' });
    expect(error.cause).toBe(queue.failure);
    expect(await sweepAt(store, NOW)).toHaveLength(1);
  });

  it('sends a flagged job once: repeats after the retry that sent it send nothing more', async () => {
    // Prepare
    let now = NOW;
    const { store, queue, deps } = setup({ now: () => now });
    queue.failure = new Error('SQS is down');
    await problemOf(submitJob(deps, 'alice', { type: 'echo' }, 'once'));
    queue.failure = undefined;
    now = new Date(NOW.getTime() + 2_000);

    // Act
    await submitJob(deps, 'alice', { type: 'echo' }, 'once');
    await submitJob(deps, 'alice', { type: 'echo' }, 'once');
    const swept = await sweepAt(store, new Date(NOW.getTime() + 60_000));

    // Assess
    expect(queue.sent).toHaveLength(1);
    expect(swept).toEqual([]);
  });

  it('sends nothing on a repeat of a queued job while it waits in the queue or out its delay, up to a stale-queue wait after it could have started', async () => {
    // Prepare
    let now = NOW;
    const { queue, deps } = setup({ now: () => now });
    const delayed = await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 600 }, 'later');
    const waiting = await submitJob(deps, 'alice', { type: 'echo' }, 'backlog');
    const sentBySubmits = queue.sent.length;
    // Act: each repeat a second before its job would be taken to have lost its message
    now = new Date(NOW.getTime() + (600 + lifecycle.staleQueuedSeconds - 1) * 1000);
    const laterRepeat = await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 600 }, 'later');
    now = new Date(NOW.getTime() + (lifecycle.staleQueuedSeconds - 1) * 1000);
    const backlogRepeat = await submitJob(deps, 'alice', { type: 'echo' }, 'backlog');
    const repeats = [laterRepeat, backlogRepeat];
    // Assess
    expect(repeats.map((repeat) => [repeat.job.id, repeat.replayed])).toEqual([
      [delayed.job.id, true],
      [waiting.job.id, true],
    ]);
    expect(queue.sent.length).toBe(sentBySubmits);
  });

  it('enqueues a never-flagged job that still waits long after it could have started (its message was lost)', async () => {
    // Prepare: queued normally, but the message never reached a worker.
    let now = NOW;
    const { queue, deps } = setup({ now: () => now });
    const first = await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 30 }, 'lost');
    queue.sent.length = 0;
    // Act
    now = new Date(NOW.getTime() + (30 + lifecycle.staleQueuedSeconds - 1) * 1000);
    await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 30 }, 'lost');
    const sentBeforeStale = queue.sent.length;
    now = new Date(NOW.getTime() + (30 + lifecycle.staleQueuedSeconds + 1) * 1000);
    await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 30 }, 'lost');
    const sentAtStale = queue.sent.length;
    // …and the repeats that follow within a stale-queue wait send nothing more; one after it does
    now = new Date(NOW.getTime() + (30 + 2 * lifecycle.staleQueuedSeconds) * 1000);
    await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 30 }, 'lost');
    const sentWithinWait = queue.sent.length;
    now = new Date(NOW.getTime() + (30 + 2 * lifecycle.staleQueuedSeconds + 2) * 1000);
    await submitJob(deps, 'alice', { type: 'echo', delaySeconds: 30 }, 'lost');
    // Assess
    expect(sentBeforeStale).toBe(0);
    expect(sentAtStale).toBe(1);
    expect(sentWithinWait).toBe(1);
    expect(queue.sent).toEqual([
      { message: { jobId: first.job.id, type: 'echo' }, delaySeconds: undefined },
      { message: { jobId: first.job.id, type: 'echo' }, delaySeconds: undefined },
    ]);
  });
});
