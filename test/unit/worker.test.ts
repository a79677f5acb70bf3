import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it, vi } from 'vitest';
import { newJobId } from '#core/ids';
import { type JobRecord, type JobStatus, type Progress, toResource } from '#core/job';
import type { LifecycleSettings } from '#core/lifecycle';
import type { EventPublisher, JobEvent, Redelivery, TransitionChanges, TransitionGuard } from '#core/ports';
import { NonRetryableError, type Processor, type ProcessorContext, RetryableError } from '#core/processor';
import { ProblemType } from '#core/problem';
import { type Invocation, MAX_EVENT_BYTES, MAX_RETRY_DELAY_SECONDS, type WorkerDeps, handleJobMessage, parseJobMessage } from '#core/worker';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

const LIFECYCLE: LifecycleSettings = {
  retentionDays: 7,
  maxAttempts: 3,
  backoffBaseSeconds: 2,
  backoffCapSeconds: 120,
  staleQueuedSeconds: 300,
  publishGraceSeconds: 60,
  sweepShards: 4,
};
const EXPIRES_AT = Math.floor(NOW.getTime() / 1000) + LIFECYCLE.retentionDays * 86_400;

/** The in-memory store, also keeping the order of the writes the worker makes. */
class RecordingStore extends InMemoryJobStore {
  readonly writes: string[] = [];
  readonly progressWrites: Progress[] = [];
  /** Delay of each progress write, to hold one in flight. */
  progressLatencyMs = 0;

  override async transition(
    id: string,
    from: JobStatus,
    to: JobStatus,
    changes: TransitionChanges,
    guard?: TransitionGuard,
  ): Promise<JobRecord | undefined> {
    const next = await super.transition(id, from, to, changes, guard);
    this.writes.push(`${from}->${to}${next ? '' : ' (lost)'}`);
    return next;
  }

  override async reportProgress(id: string, progress: Progress, at: string): Promise<boolean> {
    this.progressWrites.push(progress);
    if (this.progressLatencyMs > 0) await delay(this.progressLatencyMs);
    const written = await super.reportProgress(id, progress, at);
    this.writes.push(written ? 'progress' : 'progress (refused)');
    return written;
  }

  override async markPublished(id: string, eventId: string, at: string): Promise<void> {
    await super.markPublished(id, eventId, at);
    this.writes.push('published');
  }
}

/** A topic that keeps every publish attempt and can be told to fail the next ones. */
class RecordingPublisher implements EventPublisher {
  readonly attempts: JobEvent[] = [];
  readonly accepted: JobEvent[] = [];
  failures = 0;

  async publish(event: JobEvent): Promise<void> {
    this.attempts.push(structuredClone(event));
    if (this.failures > 0) {
      this.failures -= 1;
      throw new Error('SNS throttled');
    }
    this.accepted.push(structuredClone(event));
  }
}

/** The message's redelivery control: records the delays asked for. */
class RecordingRedelivery implements Redelivery {
  readonly delays: number[] = [];

  async delay(seconds: number): Promise<void> {
    this.delays.push(seconds);
  }
}

function setup(processors: Record<string, Processor>, overrides: Partial<WorkerDeps> = {}) {
  const store = new RecordingStore();
  const publisher = new RecordingPublisher();
  const redelivery = new RecordingRedelivery();
  const logger = { info: vi.fn(), warn: vi.fn(), error: vi.fn() };
  const deps: WorkerDeps = {
    store,
    publisher,
    processors,
    logger,
    now: () => NOW,
    lifecycle: LIFECYCLE,
    progressIntervalMs: 1_000,
    cancelPollIntervalMs: 60_000,
    maxResultBytes: 10_000,
    random: () => 0.5,
    ...overrides,
  };
  /** An invocation with plenty of time left, unless told otherwise. */
  const invocation = (stopInMs = 30_000): Invocation => ({
    endsAt: Date.now() + stopInMs + 3_000,
    stopBy: Date.now() + stopInMs,
    redelivery,
  });
  return { store, publisher, redelivery, logger, deps, invocation };
}

async function seed(store: InMemoryJobStore, type: string, overrides: Partial<JobRecord> = {}): Promise<JobRecord> {
  const job: JobRecord = {
    id: newJobId(),
    owner: 'anonymous',
    type,
    status: 'QUEUED',
    input: { n: 1 },
    timeoutSeconds: 60,
    attempts: 0,
    createdAt: '2026-03-01T11:59:00.000Z',
    updatedAt: '2026-03-01T11:59:00.000Z',
    sweepAt: '2026-03-01T12:04:00.000Z',
    sweepShard: '1',
    ...overrides,
  };
  await store.create(job, NOW);
  return job;
}

async function stored(store: InMemoryJobStore, id: string): Promise<JobRecord> {
  const job = await store.get(id);
  if (!job) throw new Error(`job ${id} is not in the store`);
  return job;
}

/** A processor that takes 50 ms. */
const fiftyMilliseconds: Processor = async () => {
  await delay(50);
  return { ok: true };
};

/** A processor that runs until its signal fires, then rejects with the signal's reason. */
const untilSignalled =
  (seen: { reason?: unknown } = {}): Processor =>
  (_, { signal, progress }) => {
    progress(1, 2);
    return new Promise((_resolve, reject) => {
      signal.addEventListener(
        'abort',
        () => {
          seen.reason = signal.reason;
          reject(signal.reason);
        },
        { once: true },
      );
    });
  };

describe('handleJobMessage', () => {
  it('runs a job to SUCCEEDED, records its result and publishes one completion event', async () => {
    // Prepare
    const seen: { running?: JobRecord; context?: Pick<ProcessorContext, 'jobId' | 'attempt'> } = {};
    const { store, publisher, deps, invocation } = setup({
      echo: async (input, context) => {
        seen.running = await stored(store, context.jobId);
        seen.context = { jobId: context.jobId, attempt: context.attempt };
        return { echoed: input };
      },
    });
    const job = await seed(store, 'echo');
    const run = invocation();

    // Act
    const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, run);

    // Assess
    const finished = await stored(store, job.id);
    expect(outcome).toBe('done');
    expect(seen.context).toEqual({ jobId: job.id, attempt: 1 });
    expect(seen.running).toMatchObject({ status: 'RUNNING', attempts: 1, startedAt: NOW.toISOString(), runDeadline: run.endsAt });
    expect(seen.running).not.toHaveProperty('sweepAt');
    expect(finished).toMatchObject({
      status: 'SUCCEEDED',
      result: { echoed: { n: 1 } },
      attempts: 1,
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      expiresAt: EXPIRES_AT,
    });
    expect(finished.eventId).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
    for (const internal of ['error', 'runDeadline', 'sweepAt', 'sweepShard', 'publishedAt']) expect(finished).not.toHaveProperty(internal);
    // Two writes: the deleted message records the publish, so none follows it.
    expect(store.writes).toEqual(['QUEUED->RUNNING', 'RUNNING->SUCCEEDED']);
    expect(publisher.accepted).toEqual([
      { id: finished.eventId, type: 'job.succeeded', timestamp: NOW.toISOString(), data: toResource(finished) },
    ]);
    expect(publisher.accepted[0]?.data).toMatchObject({ status: 'SUCCEEDED', done: true, result: { echoed: { n: 1 } } });
  });

  it.each([
    ['since it was created', undefined, 60_000],
    ['since its delay ended, for a job that asked for one', 45, 15_000],
  ])('measures the time in queue %s', async (_case, delaySeconds, expected) => {
    // Prepare: created a minute before the worker starts it
    const { store, deps, invocation } = setup({ echo: async () => 'done' });
    const job = await seed(store, 'echo', delaySeconds === undefined ? {} : { delaySeconds });
    const measured: [string, number][] = [];
    // Act
    await handleJobMessage({ ...deps, telemetry: { count: () => undefined, milliseconds: (name, value) => measured.push([name, value]) } }, { jobId: job.id, type: 'echo' }, invocation());
    // Assess
    expect(measured.filter(([name]) => name === 'TimeInQueue')).toEqual([['TimeInQueue', expected]]);
  });

  it('records a processor that returns nothing as a null result', async () => {
    // Prepare
    const { store, deps, invocation } = setup({ noop: async () => undefined });
    const job = await seed(store, 'noop');

    // Act
    await handleJobMessage(deps, { jobId: job.id, type: 'noop' }, invocation());

    // Assess
    expect(await stored(store, job.id)).toMatchObject({ status: 'SUCCEEDED', result: null });
  });

  it.each<[string, () => Promise<never>, string]>([
    [
      'a NonRetryableError',
      async () => {
        throw new NonRetryableError('input.url is not reachable');
      },
      'input.url is not reachable',
    ],
    [
      'an unexpected error',
      async () => {
        throw new TypeError('cannot read properties of undefined');
      },
      'cannot read properties of undefined',
    ],
  ])('ends a job whose processor throws %s as FAILED at once, with a problem', async (_, processor, detail) => {
    // Prepare
    const { store, publisher, redelivery, deps, invocation } = setup({ broken: processor });
    const job = await seed(store, 'broken');

    // Act
    const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'broken' }, invocation());

    // Assess
    const finished = await stored(store, job.id);
    const problem = { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail };
    expect(outcome).toBe('done');
    expect(finished).toMatchObject({ status: 'FAILED', attempts: 1, error: problem });
    expect(finished).not.toHaveProperty('result');
    expect(redelivery.delays).toEqual([]);
    expect(publisher.accepted).toHaveLength(1);
    expect(publisher.accepted[0]).toMatchObject({ id: finished.eventId, type: 'job.failed', data: { status: 'FAILED', done: true, error: problem } });
  });

  it('logs an unexpected processor error but not a NonRetryableError', async () => {
    // Prepare
    const { store, deps, logger, invocation } = setup({
      refuses: async () => {
        throw new NonRetryableError('bad input');
      },
      crashes: async () => {
        throw new Error('bug');
      },
    });
    const refused = await seed(store, 'refuses');
    const crashed = await seed(store, 'crashes');

    // Act
    await handleJobMessage(deps, { jobId: refused.id, type: 'refuses' }, invocation());
    const afterRefusal = logger.error.mock.calls.length;
    await handleJobMessage(deps, { jobId: crashed.id, type: 'crashes' }, invocation());

    // Assess
    expect(afterRefusal).toBe(0);
    expect(logger.error).toHaveBeenCalledOnce();
    expect(logger.error.mock.calls[0]?.[1]).toMatchObject({ jobId: crashed.id, type: 'crashes' });
  });

  it('fails a job of a type this worker has no processor for', async () => {
    // Prepare
    const { store, deps, invocation } = setup({});
    const job = await seed(store, 'retired');

    // Act
    const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'retired' }, invocation());

    // Assess
    expect(outcome).toBe('done');
    expect(await stored(store, job.id)).toMatchObject({
      status: 'FAILED',
      error: { type: ProblemType.jobFailed, detail: "No processor handles job type 'retired' in this worker." },
    });
  });

  describe('retries', () => {
    it('starts the next attempt without the progress of the failed one', async () => {
      // Prepare
      const { store, deps, invocation } = setup({
        work: async (_, { attempt, progress }) => {
          if (attempt > 1) return 'ok';
          progress(9, 10, 'almost there');
          await delay(20);
          throw new RetryableError('upstream busy');
        },
      });
      const job = await seed(store, 'work');
      const message = { jobId: job.id, type: 'work' };

      // Act
      await handleJobMessage(deps, message, invocation());
      const between = await stored(store, job.id);
      await handleJobMessage(deps, message, invocation());

      // Assess
      expect(between.status).toBe('QUEUED');
      expect(between).not.toHaveProperty('progress');
      expect(await stored(store, job.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
      expect(await stored(store, job.id)).not.toHaveProperty('progress');
    });

    it('puts a job whose processor fails retryably back in the queue, and runs it again on redelivery', async () => {
      // Prepare
      const attempts: number[] = [];
      const { store, publisher, redelivery, deps, invocation } = setup({
        flaky: async (_, { attempt }) => {
          attempts.push(attempt);
          if (attempt === 1) throw new RetryableError('upstream throttled');
          return { attempt };
        },
      });
      const job = await seed(store, 'flaky');
      const message = { jobId: job.id, type: 'flaky' };

      // Act
      const first = await handleJobMessage(deps, message, invocation());
      const between = await stored(store, job.id);
      const second = await handleJobMessage(deps, message, invocation());

      // Assess
      expect(first).toBe('retry');
      expect(between).toMatchObject({
        status: 'QUEUED',
        attempts: 1,
        lastError: { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail: 'upstream throttled' },
      });
      expect(between).not.toHaveProperty('runDeadline');
      // Its message waits on the queue for the backoff: no reconciler entry (no index write) is needed.
      expect(between).not.toHaveProperty('sweepAt');
      // Full jitter over base * 2^0 = 2 s, with random() = 0.5.
      expect(redelivery.delays).toEqual([1]);
      expect(second).toBe('done');
      expect(attempts).toEqual([1, 2]);
      const finished = await stored(store, job.id);
      expect(finished).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { attempt: 2 } });
      expect(finished).not.toHaveProperty('lastError');
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.succeeded']);
    });

    it('keeps a retry’s wait against any other message for the job: one that comes early is hidden until the retry is due', async () => {
      // Prepare: the first attempt asks for a minute (a dependency's Retry-After)
      let now = NOW;
      const attempts: number[] = [];
      const { store, redelivery, deps, invocation } = setup(
        {
          flaky: async (_, { attempt }) => {
            attempts.push(attempt);
            if (attempt === 1) throw new RetryableError('upstream throttled', 60);
            return { attempt };
          },
        },
        { now: () => now },
      );
      const job = await seed(store, 'flaky');
      const message = { jobId: job.id, type: 'flaky' };
      await handleJobMessage(deps, message, invocation());

      // Act: a duplicate of the message 10 s later, then the retry's own message when it is due
      now = new Date(NOW.getTime() + 10_000);
      const early = await handleJobMessage(deps, message, invocation());
      const between = await stored(store, job.id);
      now = new Date(NOW.getTime() + 60_000);
      const due = await handleJobMessage(deps, message, invocation());

      // Assess
      expect(early).toBe('retry');
      expect(between).toMatchObject({ status: 'QUEUED', attempts: 1 });
      expect(redelivery.delays).toEqual([60, 50]);
      expect(due).toBe('done');
      expect(attempts).toEqual([1, 2]);
      const finished = await stored(store, job.id);
      expect(finished).toMatchObject({ status: 'SUCCEEDED', attempts: 2 });
      expect(finished).not.toHaveProperty('retryAt');
    });

    it('waits at most 11.5 hours before a retry, however long the processor asks, and keeps the job due then', async () => {
      // Prepare
      const { store, redelivery, deps, invocation } = setup({
        slow: async () => {
          throw new RetryableError('come back tomorrow', 86_400);
        },
      });
      const job = await seed(store, 'slow');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'slow' }, invocation());

      // Assess
      expect(redelivery.delays).toEqual([MAX_RETRY_DELAY_SECONDS]);
      expect(MAX_RETRY_DELAY_SECONDS).toBe(11.5 * 3600);
      expect((await stored(store, job.id))?.retryAt).toBe(new Date(NOW.getTime() + MAX_RETRY_DELAY_SECONDS * 1000).toISOString());
    });

    // With random() = 0.99 the jitter lands at the top of its range: the ceiling min(cap, base * 2^(attempt-1)).
    it.each<[string, number, number | undefined, number]>([
      ['after attempt 2, about 2 * 2^1 s', 1, undefined, 4],
      ['after attempt 3, about 2 * 2^2 s', 2, undefined, 8],
      ['after attempt 10, at most the cap', 9, undefined, 119],
      ['when the processor asks for longer, as long as it asks', 1, 30, 30],
      ['when the processor asks for less, the backoff', 2, 1, 8],
      ['when the processor asks for a wait that is not a number, the backoff', 2, Number.NaN, 8],
      ['when the processor asks for a wait without end, the longest there is', 2, Number.POSITIVE_INFINITY, 11.5 * 3600],
    ])('delays the next attempt %s', async (_, attemptsSoFar, retryAfterSeconds, expectedDelay) => {
      // Prepare
      const { store, redelivery, deps, invocation } = setup(
        {
          flaky: async () => {
            throw new RetryableError('try later', retryAfterSeconds);
          },
        },
        { lifecycle: { ...LIFECYCLE, maxAttempts: 20 }, random: () => 0.99 },
      );
      const job = await seed(store, 'flaky', { attempts: attemptsSoFar });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'flaky' }, invocation());

      // Assess
      expect(outcome).toBe('retry');
      expect(redelivery.delays).toEqual([expectedDelay]);
    });

    it('fails a job whose last attempt fails retryably, saying attempts are exhausted', async () => {
      // Prepare
      const { store, publisher, redelivery, deps, invocation } = setup({
        flaky: async () => {
          throw new RetryableError('upstream throttled');
        },
      });
      const job = await seed(store, 'flaky', { attempts: LIFECYCLE.maxAttempts - 1 });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'flaky' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(redelivery.delays).toEqual([]);
      expect(await stored(store, job.id)).toMatchObject({
        status: 'FAILED',
        attempts: LIFECYCLE.maxAttempts,
        error: {
          type: ProblemType.attemptsExhausted,
          title: 'Attempts exhausted',
          status: 500,
          detail: `The job failed ${LIFECYCLE.maxAttempts} times; the last attempt: upstream throttled`,
        },
      });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
    });
  });

  describe('time limits', () => {
    it.each<[string, Processor]>([
      ['stops when signalled', untilSignalled()],
      [
        'ignores the signal',
        async (_, { progress }) => {
          progress(1, 2);
          await delay(500);
          return { late: true };
        },
      ],
    ])('fails a job whose processor %s at the invocation deadline, keeping its progress', async (_, processor) => {
      // Prepare
      const { store, publisher, deps, invocation } = setup({ slow: processor }, { progressIntervalMs: 60_000 });
      const job = await seed(store, 'slow');

      // Act
      const startedAt = Date.now();
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'slow' }, invocation(40));
      const took = Date.now() - startedAt;

      // Assess
      const finished = await stored(store, job.id);
      expect(outcome).toBe('done');
      expect(took).toBeGreaterThanOrEqual(35);
      expect(took).toBeLessThan(400);
      expect(finished).toMatchObject({
        status: 'FAILED',
        error: { type: ProblemType.jobTimedOut, title: 'Job timed out', status: 500 },
        progress: { completed: 1, total: 2, percent: 50 },
      });
      expect(finished).not.toHaveProperty('result');
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
    });

    it("stops a job at its own timeoutSeconds, with a TimeoutError reason, and says so", async () => {
      // Prepare
      const seen: { reason?: unknown } = {};
      const { store, deps, invocation } = setup({ slow: untilSignalled(seen) });
      const job = await seed(store, 'slow', { timeoutSeconds: 1 });

      // Act
      const startedAt = Date.now();
      await handleJobMessage(deps, { jobId: job.id, type: 'slow' }, invocation(30_000));
      const took = Date.now() - startedAt;

      // Assess
      expect(took).toBeGreaterThanOrEqual(950);
      expect(took).toBeLessThan(5_000);
      expect(seen.reason).toMatchObject({ name: 'TimeoutError', message: 'the job ran out of time' });
      expect((await stored(store, job.id)).error).toEqual({
        type: ProblemType.jobTimedOut,
        title: 'Job timed out',
        status: 500,
        detail: 'The attempt did not finish within 1 s.',
      });
    });

    it('does not fire the signal of a job that finishes in time', async () => {
      // Prepare
      let signal: AbortSignal | undefined;
      const { store, deps, invocation } = setup({
        quick: async (_, context) => {
          signal = context.signal;
          return 'ok';
        },
      });
      const job = await seed(store, 'quick');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'quick' }, invocation(30));
      await delay(60);

      // Assess
      expect(signal?.aborted).toBe(false);
      expect((await stored(store, job.id)).status).toBe('SUCCEEDED');
    });
  });

  describe('cancel', () => {
    it('stops a running job its owner cancels and ends it CANCELLED', async () => {
      // Prepare
      const seen: { reason?: unknown } = {};
      const { store, publisher, deps, invocation } = setup({ slow: untilSignalled(seen) }, { cancelPollIntervalMs: 10 });
      const job = await seed(store, 'slow');

      // Act
      const handling = handleJobMessage(deps, { jobId: job.id, type: 'slow' }, invocation());
      await delay(20);
      const asked = await store.requestCancel(job.id, NOW.toISOString());
      const outcome = await handling;

      // Assess
      const finished = await stored(store, job.id);
      expect(asked).toMatchObject({ status: 'RUNNING', cancelRequestedAt: NOW.toISOString() });
      expect(outcome).toBe('done');
      expect(seen.reason).toMatchObject({ name: 'AbortError' });
      expect(finished).toMatchObject({
        status: 'CANCELLED',
        error: { type: ProblemType.jobCancelled, title: 'Job cancelled', status: 409 },
        progress: { completed: 1, total: 2, percent: 50 },
      });
      expect(finished).not.toHaveProperty('cancelRequestedAt');
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.cancelled']);
    });

    it('checks one at a time, and abandons a check still unanswered a second after the job ends: no read outlives the invocation', async () => {
      // Prepare: reads of the cancel flag that never answer, unless abandoned
      const { store, logger, deps, invocation } = setup(
        { quick: fiftyMilliseconds },
        { cancelPollIntervalMs: 5 },
      );
      const reads = { started: 0, open: 0, mostAtOnce: 0, abandoned: 0 };
      store.isCancelRequested = (_id: string, signal?: AbortSignal) =>
        new Promise<boolean>((_resolve, reject) => {
          reads.started += 1;
          reads.open += 1;
          reads.mostAtOnce = Math.max(reads.mostAtOnce, reads.open);
          signal?.addEventListener(
            'abort',
            () => {
              reads.open -= 1;
              reads.abandoned += 1;
              reject(signal.reason);
            },
            { once: true },
          );
        });
      const job = await seed(store, 'quick');

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'quick' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect((await stored(store, job.id)).status).toBe('SUCCEEDED');
      expect(reads).toEqual({ started: 1, open: 0, mostAtOnce: 1, abandoned: 1 });
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('waits for a check in flight when the job ends rather than abandon it (an aborted read shows as a fault in X-Ray)', async () => {
      // Prepare: reads of the cancel flag that answer "no" after 30 ms
      const { store, deps, invocation } = setup(
        { quick: fiftyMilliseconds },
        { cancelPollIntervalMs: 5 },
      );
      const reads = { started: 0, answered: 0, abandoned: 0 };
      store.isCancelRequested = (_id: string, signal?: AbortSignal) =>
        new Promise<boolean>((resolve, reject) => {
          reads.started += 1;
          const answer = setTimeout(() => {
            reads.answered += 1;
            resolve(false);
          }, 30);
          signal?.addEventListener('abort', () => {
            clearTimeout(answer);
            reads.abandoned += 1;
            reject(signal.reason);
          });
        });
      const job = await seed(store, 'quick');

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'quick' }, invocation());

      // Assess: every read answered before the attempt ended, none abandoned
      expect(outcome).toBe('done');
      expect(reads.started).toBeGreaterThan(0);
      expect(reads).toMatchObject({ answered: reads.started, abandoned: 0 });
    });

    it('ends a job CANCELLED instead of retrying it when its owner asked it to stop before the attempt failed retryably', async () => {
      // Prepare: the owner's DELETE lands while the attempt runs, before the worker's cancel poll sees it.
      const { store, publisher, redelivery, deps, invocation } = setup({
        flaky: async (_, { jobId }) => {
          await store.requestCancel(jobId, NOW.toISOString());
          throw new RetryableError('upstream busy');
        },
      });
      const job = await seed(store, 'flaky');

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'flaky' }, invocation());

      // Assess
      const finished = await stored(store, job.id);
      expect(outcome).toBe('done');
      expect(redelivery.delays).toEqual([]);
      expect(finished).toMatchObject({ status: 'CANCELLED', attempts: 1, error: { type: ProblemType.jobCancelled, status: 409 } });
      expect(finished.error?.detail).toContain('not retried');
      expect(store.writes).toEqual(['QUEUED->RUNNING', 'RUNNING->QUEUED (lost)', 'RUNNING->CANCELLED']);
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.cancelled']);
    });
  });

  describe('completion events', () => {
    it('answers retry when publishing fails, then a redelivery publishes the same event without running the job again', async () => {
      // Prepare
      const run = vi.fn(async () => ({ ok: true }));
      const { store, publisher, deps, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo');
      const message = { jobId: job.id, type: 'echo' };
      publisher.failures = 1;

      // Act
      const first = await handleJobMessage(deps, message, invocation());
      const afterFirst = await stored(store, job.id);
      const second = await handleJobMessage(deps, message, invocation());

      // Assess
      const afterSecond = await stored(store, job.id);
      expect(first).toBe('retry');
      expect(afterFirst.status).toBe('SUCCEEDED');
      expect(afterFirst.publishedAt).toBeUndefined();
      // The message comes back and publishes: no reconciler entry (no index write) on this path.
      expect(afterFirst).not.toHaveProperty('sweepAt');
      expect(second).toBe('done');
      expect(afterSecond).toEqual(afterFirst);
      expect(run).toHaveBeenCalledOnce();
      expect(publisher.attempts).toHaveLength(2);
      expect(publisher.attempts[1]).toEqual(publisher.attempts[0]);
      expect(publisher.accepted.map((event) => event.id)).toEqual([afterFirst.eventId]);
    });

    it('answers a duplicate delivery of a finished job with the same event, without running or finishing it again', async () => {
      // Prepare
      const run = vi.fn(async () => 'result');
      const { store, publisher, deps, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo');
      const message = { jobId: job.id, type: 'echo' };
      await handleJobMessage(deps, message, invocation());
      store.writes.length = 0;

      // Act
      const outcome = await handleJobMessage(deps, message, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(run).toHaveBeenCalledOnce();
      // Only the claim, lost on its condition; nothing changes.
      expect(store.writes).toEqual(['QUEUED->RUNNING (lost)']);
      expect(publisher.accepted).toHaveLength(2);
      expect(publisher.accepted[1]).toEqual(publisher.accepted[0]);
    });

    it('publishes the same content again after the webhook delivery moved on: the event leaves out its own delivery state', async () => {
      // Prepare: a job with a callback ends, and its webhook is delivered.
      const { store, publisher, deps, invocation } = setup({ echo: async () => 'result' });
      const job = await seed(store, 'echo', { callbackUrl: 'https://hooks.example.com/jobs', webhook: { status: 'pending', attempts: 0 } });
      const message = { jobId: job.id, type: 'echo' };
      await handleJobMessage(deps, message, invocation());
      await store.recordWebhook(job.id, { status: 'delivered', attempts: 1, lastStatusCode: 204, eventId: publisher.accepted[0]?.id });

      // Act: the same message comes again (its batch was retried).
      await handleJobMessage(deps, message, invocation());

      // Assess
      expect(publisher.accepted).toHaveLength(2);
      expect(publisher.accepted[1]).toEqual(publisher.accepted[0]);
      expect(publisher.accepted[0]?.data).not.toHaveProperty('webhook');
      expect(publisher.accepted[0]?.data).toMatchObject({ status: 'SUCCEEDED', callbackUrl: 'https://hooks.example.com/jobs' });
    });

    it('records the publish of a job in the sweep, so a later message does not announce it again', async () => {
      // Prepare: an ended job the reconciler handed back (a failure path left it in the sweep)
      const { store, publisher, deps, invocation } = setup({ echo: async () => 'result' });
      const job = await seed(store, 'echo');
      const message = { jobId: job.id, type: 'echo' };
      await handleJobMessage(deps, message, invocation());
      const ended = await stored(store, job.id);
      store.jobs.set(job.id, { ...ended, sweepAt: NOW.toISOString(), sweepShard: '0' });
      publisher.failures = 0;
      const before = publisher.accepted.length;

      // Act
      const first = await handleJobMessage(deps, message, invocation());
      const second = await handleJobMessage(deps, message, invocation());

      // Assess
      const after = await stored(store, job.id);
      expect([first, second]).toEqual(['done', 'done']);
      expect(publisher.accepted.slice(before).map((event) => event.id)).toEqual([ended.eventId]);
      expect(after.publishedAt).toBe(NOW.toISOString());
      expect(after).not.toHaveProperty('sweepAt');
    });

    it('drops a message for a job that does not exist', async () => {
      // Prepare
      const run = vi.fn(async () => 'result');
      const { publisher, deps, logger, invocation } = setup({ echo: run });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: newJobId(), type: 'echo' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(run).not.toHaveBeenCalled();
      expect(publisher.attempts).toEqual([]);
      expect(logger.warn).toHaveBeenCalledOnce();
    });
  });

  describe('a job already RUNNING', () => {
    it('leaves a duplicate message until the other invocation must have ended', async () => {
      // Prepare
      const run = vi.fn(async () => 'result');
      const { store, publisher, redelivery, deps, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo', { status: 'RUNNING', attempts: 1, runDeadline: Date.now() + 10_000 });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, invocation());

      // Assess
      expect(outcome).toBe('retry');
      expect(run).not.toHaveBeenCalled();
      expect(publisher.attempts).toEqual([]);
      expect(redelivery.delays).toHaveLength(1);
      expect(redelivery.delays[0]).toBeGreaterThanOrEqual(10);
      expect(redelivery.delays[0]).toBeLessThanOrEqual(12);
      expect((await stored(store, job.id)).status).toBe('RUNNING');
    });

    it.each([
      ['its first start', {}],
      ['the restart of a takeover', { status: 'RUNNING' as const, attempts: 1, runDeadline: Date.now() - 5_000 }],
    ])('runs the job when the answer to %s was lost and the retried write found it RUNNING by that very write', async (_, seeded) => {
      // Prepare: the write lands, its answer does not; the SDK's retry of it is refused (the job is no longer QUEUED)
      const run = vi.fn(async () => 'result');
      const { store, redelivery, deps, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo', seeded);
      const transition = store.transition.bind(store);
      let lost = false;
      store.transition = async (...args) => {
        const written = await transition(...args);
        if (written && args[1] === 'QUEUED' && args[2] === 'RUNNING' && !lost) {
          lost = true;
          return undefined;
        }
        return written;
      };

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, invocation());

      // Assess
      expect(lost).toBe(true);
      expect(outcome).toBe('done');
      expect(run).toHaveBeenCalledOnce();
      expect(redelivery.delays).toEqual([]);
      expect(await stored(store, job.id)).toMatchObject({ status: 'SUCCEEDED', result: 'result' });
    });

    it('does not run a job another start holds, even one made by the same invocation', async () => {
      // Prepare: a duplicate in the same batch started the job with this invocation's deadline
      const run = vi.fn(async () => 'result');
      const { store, deps, invocation } = setup({ echo: run });
      const current = invocation();
      const job = await seed(store, 'echo', { status: 'RUNNING', attempts: 1, runDeadline: current.endsAt, runId: 'run_someone-else', startedAt: NOW.toISOString() });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, current);

      // Assess
      expect(outcome).toBe('retry');
      expect(run).not.toHaveBeenCalled();
    });

    it('takes over a job whose invocation has certainly ended, counting the lost attempt', async () => {
      // Prepare
      const run = vi.fn(async () => 'result');
      const { store, deps, logger, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo', { status: 'RUNNING', attempts: 1, runDeadline: Date.now() - 5_000 });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(run).toHaveBeenCalledOnce();
      expect(await stored(store, job.id)).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: 'result' });
      expect(logger.warn).toHaveBeenCalledWith('took over a job whose worker stopped', expect.objectContaining({ jobId: job.id }));
    });

    it('fails an abandoned job that has used all its attempts', async () => {
      // Prepare
      const run = vi.fn(async () => 'result');
      const { store, publisher, deps, invocation } = setup({ echo: run });
      const job = await seed(store, 'echo', { status: 'RUNNING', attempts: LIFECYCLE.maxAttempts, runDeadline: Date.now() - 5_000 });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'echo' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(run).not.toHaveBeenCalled();
      expect(await stored(store, job.id)).toMatchObject({
        status: 'FAILED',
        error: { type: ProblemType.attemptsExhausted, status: 500 },
      });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
    });

    it.each([
      ['attempts left', 1],
      ['all its attempts used', LIFECYCLE.maxAttempts],
    ])('ends CANCELLED, without running it again, a job cancelled while its stopped worker held it (%s)', async (_, attempts) => {
      // Prepare
      const run = vi.fn(async () => 'charged again');
      const { store, publisher, deps, invocation } = setup({ charge: run });
      const job = await seed(store, 'charge', { status: 'RUNNING', attempts, runDeadline: Date.now() - 5_000 });
      expect(await store.requestCancel(job.id, NOW.toISOString())).toMatchObject({ status: 'RUNNING', cancelRequestedAt: NOW.toISOString() });

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'charge' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(run).not.toHaveBeenCalled();
      expect(await stored(store, job.id)).toMatchObject({ status: 'CANCELLED', attempts, error: { type: ProblemType.jobCancelled } });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.cancelled']);
    });
  });

  describe('a takeover racing a cancel', () => {
    it.each([
      ['attempts left (the requeue)', 1],
      ['all its attempts used (the FAILED write)', LIFECYCLE.maxAttempts],
    ])('honours a cancel that lands between its read and its write: %s', async (_, attempts) => {
      // Prepare: the owner's DELETE arrives just before the takeover's write
      const run = vi.fn(async () => 'charged again');
      const { store, publisher, deps, invocation } = setup({ charge: run });
      const job = await seed(store, 'charge', { status: 'RUNNING', attempts, runDeadline: Date.now() - 5_000 });
      const transition = store.transition.bind(store);
      let cancelled = false;
      store.transition = async (id, from, to, changes, guard) => {
        if (!cancelled && from === 'RUNNING' && to !== 'CANCELLED') {
          cancelled = true;
          await store.requestCancel(id, NOW.toISOString());
        }
        return transition(id, from, to, changes, guard);
      };

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'charge' }, invocation());

      // Assess
      expect(cancelled).toBe(true);
      expect(outcome).toBe('done');
      expect(run).not.toHaveBeenCalled();
      expect(await stored(store, job.id)).toMatchObject({ status: 'CANCELLED' });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.cancelled']);
    });
  });

  describe('processor text', () => {
    it.each([
      ['an object', { code: 'E42' }, '[object Object]'],
      ['a number', 42, '42'],
      ['undefined', undefined, 'undefined'],
    ])('ends a job FAILED when its error’s message is %s, not a string', async (_, message, detail) => {
      // Prepare
      const { store, publisher, deps, invocation } = setup({
        odd: async () => {
          const error = new Error('x');
          (error as { message: unknown }).message = message;
          throw error;
        },
      });
      const job = await seed(store, 'odd');

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'odd' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(await stored(store, job.id)).toMatchObject({ status: 'FAILED', error: { detail } });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
    });

    it('keeps the start of a very long error message, so the final write and the event still fit', async () => {
      // Prepare
      const page = `upstream said: ${'<html>'.repeat(70_000)}`;
      const { store, publisher, deps, invocation } = setup({
        upstream: async () => {
          throw new NonRetryableError(page);
        },
      });
      const job = await seed(store, 'upstream');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'upstream' }, invocation());

      // Assess
      const detail = (await stored(store, job.id)).error?.detail ?? '';
      expect(detail.startsWith(page.slice(0, 4_096))).toBe(true);
      expect(detail.endsWith(`[${page.length - 4_096} more characters cut]`)).toBe(true);
      expect(publisher.accepted.map((event) => event.data.error?.detail?.length)).toEqual([detail.length]);
    });

    it('cuts a very long progress message the same way', async () => {
      // Prepare
      const { store, deps, invocation } = setup({
        chatty: async (_, { progress }) => {
          progress(1, 2, 'x'.repeat(10_000));
          return 'ok';
        },
      });
      const job = await seed(store, 'chatty');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'chatty' }, invocation());

      // Assess
      const message = (await stored(store, job.id)).progress?.message ?? '';
      expect(message).toBe(`${'x'.repeat(4_096)} … [5904 more characters cut]`);
    });
  });

  describe('result size', () => {
    // {"t":"…"} is 8 bytes of JSON around the text.
    it.each<[string, string, 'SUCCEEDED' | 'FAILED']>([
      ['exactly at the limit', 'x'.repeat(92), 'SUCCEEDED'],
      ['one byte over the limit', 'x'.repeat(93), 'FAILED'],
      ['under the limit in characters, over it in bytes', 'é'.repeat(50), 'FAILED'],
    ])('a result %s ends the job %s', async (_, text, status) => {
      // Prepare
      const { store, publisher, deps, invocation } = setup({ big: async () => ({ t: text }) }, { maxResultBytes: 100 });
      const job = await seed(store, 'big');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'big' }, invocation());

      // Assess
      const finished = await stored(store, job.id);
      const size = Buffer.byteLength(JSON.stringify({ t: text }));
      expect(finished.status).toBe(status);
      expect(publisher.accepted).toHaveLength(1);
      if (status === 'FAILED') {
        expect(finished.error).toEqual({
          type: ProblemType.resultTooLarge,
          title: 'Result too large',
          status: 500,
          detail: `The result is ${size} bytes; the limit is 100 bytes.`,
        });
        expect(finished).not.toHaveProperty('result');
      } else {
        expect(finished.result).toEqual({ t: text });
      }
    });
  });

  describe('results JSON cannot hold', () => {
    it.each<[string, unknown]>([
      ['a function', () => 1],
      ['a symbol', Symbol('result')],
      ['a BigInt', 10n],
      ['an object that contains itself', (() => {
        const cyclic: Record<string, unknown> = {};
        cyclic.self = cyclic;
        return cyclic;
      })()],
    ])('%s ends the job FAILED after one run, saying why', async (_, value) => {
      // Prepare
      let runs = 0;
      const { store, publisher, deps, invocation } = setup({
        odd: async () => {
          runs += 1;
          return value;
        },
      });
      const job = await seed(store, 'odd');

      // Act
      const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'odd' }, invocation());

      // Assess
      expect(outcome).toBe('done');
      expect(runs).toBe(1);
      expect(await stored(store, job.id)).toMatchObject({
        status: 'FAILED',
        error: { type: ProblemType.jobFailed, detail: 'The processor returned a value JSON cannot represent (such as a function, a symbol, a BigInt or a cycle).' },
      });
      expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
    });
  });

  describe('the completion event’s size', () => {
    // Control characters are stored once each but written six times in JSON (\u0001).
    const metadata = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`${'\u0001'.repeat(125)}${String(i).padStart(3, '0')}`, '\u0001'.repeat(256)]));
    it.each<[string, number, 'SUCCEEDED' | 'FAILED']>([
      ['within what the topic takes', 150_000, 'SUCCEEDED'],
      ['over what the topic takes with the job’s metadata and progress, though the result is under its own limit', 200_000, 'FAILED'],
    ])('a result whose event is %s (%i characters) ends the job %s', async (_, resultChars, status) => {
      // Prepare
      const { store, publisher, deps, invocation } = setup(
        {
          big: async (_input, { progress }) => {
            progress(1, 2, '\u0001'.repeat(4_096));
            return 'r'.repeat(resultChars);
          },
        },
        { maxResultBytes: 204_800 },
      );
      const job = await seed(store, 'big', { metadata });

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'big' }, invocation());

      // Assess
      const finished = await stored(store, job.id);
      expect(finished.status).toBe(status);
      expect(publisher.accepted).toHaveLength(1);
      expect(Buffer.byteLength(JSON.stringify(publisher.accepted[0]))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
      if (status === 'FAILED') {
        expect(finished.error).toMatchObject({ type: ProblemType.resultTooLarge, detail: expect.stringMatching(/^The result is 200002 bytes; with the rest of the job, its completion event would be \d+ bytes, over the 261120 the topic takes\.$/) });
      }
    });
  });

  describe('progress', () => {
    it('writes the first report at once, holds the rest, and puts the latest into the final write', async () => {
      // Prepare
      const { store, deps, invocation } = setup(
        {
          steps: async (_, { progress }) => {
            for (let step = 1; step <= 50; step += 1) {
              progress(step, 50, `step ${step}`);
              await delay(1);
            }
            return 'done';
          },
        },
        { progressIntervalMs: 60_000 },
      );
      const job = await seed(store, 'steps');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'steps' }, invocation());

      // Assess
      expect(store.progressWrites).toEqual([{ completed: 1, total: 50, percent: 2, message: 'step 1' }]);
      expect((await stored(store, job.id)).progress).toEqual({ completed: 50, total: 50, percent: 100, message: 'step 50' });
    });

    it('writes at most once per interval', async () => {
      // Prepare
      const intervalMs = 40;
      let elapsed = 0;
      const { store, deps, invocation } = setup(
        {
          steps: async (_, { progress }) => {
            const start = Date.now();
            for (let step = 1; step <= 100; step += 1) {
              progress(step, 100);
              await delay(3);
            }
            elapsed = Date.now() - start;
            return 'done';
          },
        },
        { progressIntervalMs: intervalMs },
      );
      const job = await seed(store, 'steps');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'steps' }, invocation());

      // Assess
      const writes = store.progressWrites.length;
      expect(writes).toBeGreaterThanOrEqual(2);
      expect(writes).toBeLessThanOrEqual(Math.floor(elapsed / intervalMs) + 2);
      const completed = store.progressWrites.map((progress) => progress.completed);
      expect(completed).toEqual([...completed].sort((a, b) => a - b));
      expect((await stored(store, job.id)).progress).toMatchObject({ completed: 100, percent: 100 });
    });

    it('waits for a progress write in flight before the final write', async () => {
      // Prepare
      const { store, deps, invocation } = setup({
        quick: async (_, { progress }) => {
          progress(1, 2);
          await delay(5);
          return 'done';
        },
      });
      store.progressLatencyMs = 50;
      const job = await seed(store, 'quick');

      // Act
      await handleJobMessage(deps, { jobId: job.id, type: 'quick' }, invocation());

      // Assess
      expect(store.writes).toEqual(['QUEUED->RUNNING', 'progress', 'RUNNING->SUCCEEDED']);
    });
  });
});

describe('processors that misbehave', () => {
  it.each<[string, () => unknown, string]>([
    ['a value without a text form', () => Object.create(null), 'a value without a text form ([object Object])'],
    ['an object whose toString throws', () => ({ toString: () => { throw new Error('no'); } }), 'a value without a text form ([object Object])'],
    [
      'an Error whose message cannot be read',
      () =>
        Object.defineProperty(new Error('x'), 'message', {
          get() {
            throw new Error('no');
          },
        }),
      'a value without a text form ([object Error])',
    ],
  ])('ends a job whose processor throws %s FAILED in its one attempt, as any other error', async (_case, thrown, detail) => {
    // Prepare
    const { store, publisher, deps, invocation } = setup({
      odd: async () => {
        throw thrown();
      },
    });
    const job = await seed(store, 'odd');

    // Act
    const outcome = await handleJobMessage(deps, { jobId: job.id, type: 'odd' }, invocation());

    // Assess
    expect(outcome).toBe('done');
    expect(await stored(store, job.id)).toMatchObject({ status: 'FAILED', attempts: 1, error: { type: ProblemType.jobFailed, detail } });
    expect(publisher.accepted.map((event) => event.type)).toEqual(['job.failed']);
  });

  it('times out a processor that blocks the event loop past its timeout, though it returns a result', async () => {
    // Prepare: it holds the thread 1.2 s, so the 1 s timer cannot fire before it settles
    const { store, deps, invocation } = setup({
      busy: async () => {
        await Promise.resolve();
        const until = Date.now() + 1_200;
        while (Date.now() < until) {
          // a CPU-bound loop that never yields
        }
        return { done: true };
      },
    });
    const job = await seed(store, 'busy', { timeoutSeconds: 1 });

    // Act
    await handleJobMessage(deps, { jobId: job.id, type: 'busy' }, invocation(30_000));

    // Assess
    const finished = await stored(store, job.id);
    expect(finished).toMatchObject({ status: 'FAILED', error: { type: ProblemType.jobTimedOut } });
    expect(finished).not.toHaveProperty('result');
  });

  it('keeps the last good progress when a processor reports a count that is not a number', async () => {
    // Prepare
    const { store, deps, invocation } = setup(
      {
        counts: async (_input, { progress }) => {
          progress(1, 2, 'half');
          progress(Number.NaN, 2);
          progress('3' as unknown as number, 4);
          progress(2, Number.POSITIVE_INFINITY, 'two of many');
          await delay(30);
          return 'ok';
        },
      },
      { progressIntervalMs: 10 },
    );
    const job = await seed(store, 'counts');

    // Act
    await handleJobMessage(deps, { jobId: job.id, type: 'counts' }, invocation());

    // Assess: the last call that made sense, its infinite total left out as unknown
    expect((await stored(store, job.id)).progress).toEqual({ completed: 2, message: 'two of many' });
  });
});

describe('parseJobMessage', () => {
  it.each<[string, string, ReturnType<typeof parseJobMessage>]>([
    ['a job message', '{"jobId":"job_1","type":"echo"}', { jobId: 'job_1', type: 'echo' }],
    ['a job message with extra fields', '{"jobId":"job_1","type":"echo","x":1}', { jobId: 'job_1', type: 'echo' }],
    ['a message without a type', '{"jobId":"job_1"}', undefined],
    ['a numeric job id', '{"jobId":1,"type":"echo"}', undefined],
    ['JSON null', 'null', undefined],
    ['a string', '"job_1"', undefined],
    ['text that is not JSON', 'hello', undefined],
  ])('reads %s', (_, body, expected) => {
    // Act / Assess
    expect(parseJobMessage(body)).toEqual(expected);
  });
});
