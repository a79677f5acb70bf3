/**
 * Every transition race, with the interleavings forced: cancel versus start, cancel versus finish,
 * duplicate start, duplicate finish. Whatever the order, a job ends in exactly one final state,
 * runs at most once per attempt, and has exactly one completion event id.
 */
import { describe, expect, it } from 'vitest';
import { type CancelDeps, cancelJob } from '#core/cancel';
import { newJobId } from '#core/ids';
import { type JobRecord, isFinal, toResource } from '#core/job';
import type { Redelivery } from '#core/ports';
import type { Processor } from '#core/processor';
import { handleJobMessage } from '#core/worker';
import { TEST_LIFECYCLE as LIFECYCLE, quickWorker, RecordingQueue, RecordingTopic, silentLogger as silent } from '../support/core-fakes.ts';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const OWNER = 'arn:aws:iam::1:user/alice';

const redelivery: Redelivery = { delay: async () => undefined };

/** A store that runs `hook` just before the first write of a kind, to force an interleaving. */
class InterleavingStore extends InMemoryJobStore {
  private readonly hooks = new Map<string, () => Promise<unknown>>();
  before(kind: 'start' | 'finish' | 'requestCancel' | 'afterRequestCancel', hook: () => Promise<unknown>): void {
    this.hooks.set(kind, hook);
  }
  private async fire(kind: string): Promise<void> {
    const hook = this.hooks.get(kind);
    this.hooks.delete(kind);
    if (hook) await hook();
  }
  override async transition(...args: Parameters<InMemoryJobStore['transition']>) {
    const [, from, to] = args;
    if (from === 'QUEUED' && to === 'RUNNING') await this.fire('start');
    if (from === 'RUNNING' && isFinal(to)) await this.fire('finish');
    return super.transition(...args);
  }
  override async requestCancel(id: string, at: string) {
    await this.fire('requestCancel');
    const asked = await super.requestCancel(id, at);
    await this.fire('afterRequestCancel');
    return asked;
  }
}

function setup(processor: Processor) {
  const store = new InterleavingStore();
  const topic = new RecordingTopic();
  const queue = new RecordingQueue();
  let runs = 0;
  const worker = quickWorker(store, topic, {
    test: async (input, context) => {
      runs += 1;
      return processor(input, context);
    },
  });
  const cancel: CancelDeps = { store, queue, lifecycle: LIFECYCLE, now: () => new Date(), logger: silent };
  const job: JobRecord = {
    id: newJobId(),
    owner: OWNER,
    type: 'test',
    status: 'QUEUED',
    input: null,
    timeoutSeconds: 5,
    attempts: 0,
    createdAt: new Date().toISOString(),
    updatedAt: new Date().toISOString(),
  };
  const invocation = () => ({ endsAt: Date.now() + 60_000, stopBy: Date.now() + 57_000, redelivery });
  const deliver = () => handleJobMessage(worker, { jobId: job.id, type: 'test' }, invocation());
  return { store, topic, queue, job, deliver, cancel: () => cancelJob(cancel, OWNER, job.id), runs: () => runs };
}

/** The invariants every race must keep. */
async function assertOneEnding(store: InMemoryJobStore, topic: RecordingTopic, job: JobRecord, expected: string) {
  const final = await store.get(job.id);
  expect(final?.status).toBe(expected);
  expect(new Set(topic.events.map((event) => event.id)).size).toBeLessThanOrEqual(1);
  for (const event of topic.events) expect(event.id).toBe(final?.eventId);
}

describe('cancel versus start', () => {
  it('cancel first: the start loses, the processor never runs, the cancellation is announced once', async () => {
    // Prepare
    const { store, topic, job, deliver, cancel, runs } = setup(async () => 'never');
    await store.create(job, new Date());
    store.before('start', cancel);
    // Act
    const outcome = await deliver();
    // Assess
    expect(outcome).toBe('done');
    expect(runs()).toBe(0);
    await assertOneEnding(store, topic, job, 'CANCELLED');
    expect(topic.events.map((event) => event.type)).toEqual(['job.cancelled']);
  });

  it('cancelled while QUEUED: its own message and the announcement publish one event between them, once', async () => {
    // Prepare
    const { store, topic, queue, job, deliver, cancel, runs } = setup(async () => 'never');
    await store.create(job, new Date());
    const answer = await cancel();
    // Act: the announcement cancel enqueued, then the job's own message
    expect(queue.sent).toEqual([{ jobId: job.id, type: 'test' }]);
    const outcomes = [await deliver(), await deliver()];
    // Assess
    expect(answer.outcome).toBe('cancelled');
    expect(outcomes).toEqual(['done', 'done']);
    expect(runs()).toBe(0);
    expect(topic.events.map((event) => event.type)).toEqual(['job.cancelled']);
    await assertOneEnding(store, topic, job, 'CANCELLED');
  });

  it('cancelled during a retry’s backoff: the announcement and the job’s own message publish one event between them', async () => {
    // Prepare: the job ran once, failed retryably, and waits QUEUED for its message to come back
    const { store, topic, queue, job, deliver, cancel, runs } = setup(async () => 'never');
    await store.create({ ...job, attempts: 1, startedAt: new Date().toISOString() }, new Date());
    await cancel();
    // Act
    expect(queue.sent).toHaveLength(1);
    const outcomes = [await deliver(), await deliver()];
    // Assess
    expect(outcomes).toEqual(['done', 'done']);
    expect(runs()).toBe(0);
    expect(topic.events.map((event) => event.type)).toEqual(['job.cancelled']);
    await assertOneEnding(store, topic, job, 'CANCELLED');
  });

  it('cancelled while QUEUED with no announcement enqueued: the job waits in the sweep until a message announces it', async () => {
    // Prepare
    const { store, topic, queue, job, deliver, cancel } = setup(async () => 'never');
    await store.create(job, new Date());
    queue.failing = true;
    // Act
    const answer = await cancel();
    const swept = await store.get(job.id);
    await deliver();
    // Assess
    expect(answer.outcome).toBe('cancelled');
    expect(swept).toMatchObject({ status: 'CANCELLED', sweepShard: expect.any(String) });
    expect(Date.parse(swept?.sweepAt ?? '')).toBeGreaterThan(Date.now());
    expect(topic.events.map((event) => event.type)).toEqual(['job.cancelled']);
    const announced = await store.get(job.id);
    expect(announced?.publishedAt).toBeDefined();
    expect(announced).not.toHaveProperty('sweepAt');
  });

  it('start first: cancel finds it RUNNING, asks it to stop (202), and the processor’s signal ends it CANCELLED', async () => {
    // Prepare
    const setupResult = setup(
      (_input, { signal }) =>
        new Promise((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
          setTimeout(() => resolve('finished anyway'), 3_000);
        }),
    );
    const { store, topic, job, deliver, cancel, runs } = setupResult;
    await store.create(job, new Date());
    // Act
    const running = deliver();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const cancelled = await cancel();
    await running;
    // Assess
    expect(cancelled.outcome).toBe('stopping');
    expect(runs()).toBe(1);
    await assertOneEnding(store, topic, job, 'CANCELLED');
  });

  it('both at once: exactly one final state, never a run after the cancel, one event id', async () => {
    for (let i = 0; i < 20; i += 1) {
      // Prepare
      const { store, topic, job, deliver, cancel } = setup(async () => 'done');
      await store.create(job, new Date());
      // Act
      const [, cancelOutcome] = await Promise.all([deliver(), cancel().catch((error: unknown) => error)]);
      // Assess
      const final = await store.get(job.id);
      expect(['CANCELLED', 'SUCCEEDED']).toContain(final?.status);
      if (final?.status === 'SUCCEEDED') expect((cancelOutcome as { outcome?: string }).outcome ?? 'conflict').not.toBe('cancelled');
      expect(new Set(topic.events.map((event) => event.id)).size).toBeLessThanOrEqual(1);
    }
  });
});

describe('cancel versus finish', () => {
  it('finish first: the cancel request finds the job ended and answers 409', async () => {
    // Prepare
    const { store, topic, job, deliver, cancel } = setup(async () => 'result');
    await store.create(job, new Date());
    let cancelError: unknown;
    store.before('finish', async () => undefined);
    // Act
    await deliver();
    await cancel().catch((error: unknown) => {
      cancelError = error;
    });
    // Assess
    expect((cancelError as { problem?: { status: number } }).problem?.status).toBe(409);
    await assertOneEnding(store, topic, job, 'SUCCEEDED');
  });

  it('cancel lands between the processor’s return and the finish write: the finish wins, one ending, one event', async () => {
    // Prepare
    const { store, topic, job, deliver, cancel } = setup(async () => 'result');
    await store.create(job, new Date());
    let asked: Awaited<ReturnType<typeof cancelJob>> | undefined;
    store.before('finish', async () => {
      asked = await cancel();
    });
    // Act
    await deliver();
    // Assess
    expect(asked?.outcome).toBe('stopping');
    await assertOneEnding(store, topic, job, 'SUCCEEDED');
    expect(topic.events).toHaveLength(1);
  });

  it('the job ends right after the cancel request: the 202 shows it as the request left it, RUNNING and asked to stop', async () => {
    // Prepare
    let finish: (result: string) => void = () => undefined;
    const { store, job, deliver, cancel } = setup(() => new Promise((resolve) => (finish = resolve)));
    await store.create(job, new Date());
    const running = deliver();
    await new Promise((resolve) => setTimeout(resolve, 20));
    store.before('afterRequestCancel', async () => {
      finish('result');
      await running;
    });
    // Act
    const asked = await cancel();
    // Assess
    expect((await store.get(job.id))?.status).toMatch(/^(SUCCEEDED|CANCELLED)$/);
    expect(asked.outcome).toBe('stopping');
    expect(toResource(asked.job)).toMatchObject({ status: 'RUNNING', done: false, cancelRequested: true });
  });
});

describe('duplicate start', () => {
  it('two deliveries at once: one runs the job, the other leaves its message for later', async () => {
    // Prepare
    const { store, topic, job, deliver, runs } = setup(async () => new Promise((resolve) => setTimeout(() => resolve('once'), 50)));
    await store.create(job, new Date());
    // Act
    const outcomes = await Promise.all([deliver(), deliver()]);
    // Assess
    expect(outcomes.sort()).toEqual(['done', 'retry']);
    expect(runs()).toBe(1);
    await assertOneEnding(store, topic, job, 'SUCCEEDED');
    expect((await store.get(job.id))?.attempts).toBe(1);
  });
});

describe('duplicate finish', () => {
  it('of two finish writes from RUNNING, exactly one lands', async () => {
    // Prepare
    const store = new InMemoryJobStore();
    const { job } = setup(async () => null);
    await store.create({ ...job, status: 'RUNNING', attempts: 1 }, new Date());
    // Act
    const [succeeded, failed] = await Promise.all([
      store.transition(job.id, 'RUNNING', 'SUCCEEDED', { eventId: 'evt_a' }),
      store.transition(job.id, 'RUNNING', 'FAILED', { eventId: 'evt_b' }),
    ]);
    // Assess
    expect([succeeded, failed].filter(Boolean)).toHaveLength(1);
    expect((await store.get(job.id))?.status).toBe('SUCCEEDED');
  });

  it('a redelivery after the finish neither runs nor finishes the job again, and republishes the same event id if it was not recorded', async () => {
    // Prepare
    const { store, topic, job, deliver, runs } = setup(async () => 'first');
    await store.create(job, new Date());
    await deliver();
    const first = topic.events[0];
    await store.jobs.set(job.id, { ...(store.jobs.get(job.id) as JobRecord), publishedAt: undefined } as JobRecord);
    // Act
    const outcome = await deliver();
    // Assess
    expect(outcome).toBe('done');
    expect(runs()).toBe(1);
    expect(topic.events.map((event) => event.id)).toEqual([first?.id, first?.id]);
    await assertOneEnding(store, topic, job, 'SUCCEEDED');
  });
});
