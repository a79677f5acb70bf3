/**
 * The dead-letter handler (on-dead-letter) ends a job its worker kept stopping on, and leaves alone a
 * job that is fine: one a live invocation is running, or one waiting out a retry's backoff, whose
 * dead letter was another message of the job (a duplicate, or a re-send) that used up its receives.
 */
import { describe, expect, it } from 'vitest';
import { type DeadLetterDeps, handleDeadLetter } from '#core/dead-letter';
import { newJobId } from '#core/ids';
import type { JobRecord } from '#core/job';
import type { Redelivery } from '#core/ports';
import { ProblemType } from '#core/problem';
import { reconcile } from '#core/reconcile';
import { handleJobMessage } from '#core/worker';
import { TEST_LIFECYCLE as LIFECYCLE, quickWorker, RecordingQueue, RecordingTopic, silentLogger as silent } from '../support/core-fakes.ts';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const redelivery: Redelivery = { delay: async () => undefined };

function setup(now: () => Date = () => new Date()) {
  const store = new InMemoryJobStore();
  const topic = new RecordingTopic();
  const deadLetters: DeadLetterDeps = { store, publisher: topic, lifecycle: LIFECYCLE, now, logger: silent };
  const job: JobRecord = {
    id: newJobId(),
    owner: 'anonymous',
    type: 'test',
    status: 'QUEUED',
    input: null,
    timeoutSeconds: 5,
    attempts: 0,
    createdAt: now().toISOString(),
    updatedAt: now().toISOString(),
  };
  const deadLetter = () => handleDeadLetter(deadLetters, { jobId: job.id, type: 'test' }, 7);
  return { store, topic, job, deadLetter };
}

describe('a dead letter for a job that is fine', () => {
  it('a job a live invocation is running goes on: it ends as its processor says, with one event', async () => {
    // Prepare: the job runs, its processor waiting on a gate
    const { store, topic, job, deadLetter } = setup();
    await store.create(job, new Date());
    let open: (result: string) => void = () => undefined;
    const worker = quickWorker(store, topic, { test: () => new Promise((resolve) => (open = resolve)) });
    const running = handleJobMessage(worker, { jobId: job.id, type: 'test' }, { endsAt: Date.now() + 60_000, stopBy: Date.now() + 57_000, redelivery });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await store.get(job.id))?.status).toBe('RUNNING');
    // Act: a second message of the job reaches the DLQ, then the processor finishes
    const handled = await deadLetter();
    open('the result');
    const outcome = await running;
    // Assess
    expect(handled).toBe('left to the invocation running it');
    expect(outcome).toBe('done');
    expect(await store.get(job.id)).toMatchObject({ status: 'SUCCEEDED', result: 'the result' });
    expect(topic.events.map((event) => event.type)).toEqual(['job.succeeded']);
  });

  it('a job waiting out a retry stays QUEUED, and the reconciler re-sends it if it has not started a while after it was due', async () => {
    // Prepare: the second of three attempts failed; the next is due in 10 minutes
    let clock = Date.parse('2026-06-01T12:00:00.000Z');
    const now = () => new Date(clock);
    const { store, topic, job, deadLetter } = setup(now);
    const retryAt = new Date(clock + 600_000).toISOString();
    await store.create({ ...job, attempts: 2, retryAt }, now());
    const queue = new RecordingQueue();
    const sweep = () => reconcile({ store, queue, lifecycle: LIFECYCLE, batch: 25, now, logger: silent });
    // Act
    const handled = await deadLetter();
    // Assess: not ended, not announced; nothing to re-send while the job's own message may still come
    expect(handled).toBe('left to its retry');
    expect(await store.get(job.id)).toMatchObject({ status: 'QUEUED', attempts: 2, retryAt });
    expect(topic.events).toEqual([]);
    clock += 600_000 + (LIFECYCLE.staleQueuedSeconds - 1) * 1000;
    await sweep();
    expect(queue.sent).toEqual([]);
    // Then, past the grace after it was due, a message for it is sent
    clock += 2_000;
    await sweep();
    expect(queue.sent).toEqual([{ jobId: job.id, type: 'test' }]);
  });
});

describe('a dead letter that comes as the retry falls due', () => {
  it('(a second message sent back until then) leaves the job QUEUED for its own message, with a sweep entry a stale-queue wait after it was due', async () => {
    // Prepare
    const { store, topic, job, deadLetter } = setup();
    const retryAt = new Date(Date.now() - 1_000).toISOString();
    await store.create({ ...job, attempts: 1, retryAt }, new Date());
    // Act
    await deadLetter();
    // Assess
    expect(await store.get(job.id)).toMatchObject({ status: 'QUEUED', attempts: 1, retryAt, sweepAt: new Date(Date.parse(retryAt) + LIFECYCLE.staleQueuedSeconds * 1000).toISOString() });
    expect(topic.events).toEqual([]);
  });
});

describe('a dead letter for a job its worker kept stopping on', () => {
  it('a RUNNING job whose invocation has passed its deadline ends FAILED, abandoned, and is announced', async () => {
    // Prepare
    const { store, topic, job, deadLetter } = setup();
    await store.create({ ...job, status: 'RUNNING', attempts: 1, startedAt: new Date().toISOString(), runDeadline: Date.now() - 5_000 }, new Date());
    // Act
    const handled = await deadLetter();
    // Assess
    expect(handled).toBe('failed');
    expect(await store.get(job.id)).toMatchObject({ status: 'FAILED', error: { type: ProblemType.jobAbandoned } });
    expect(topic.events.map((event) => event.type)).toEqual(['job.failed']);
  });

  it('a QUEUED job whose retry was due longer than a stale-queue wait ago ends FAILED, abandoned', async () => {
    // Prepare
    const { store, topic, job, deadLetter } = setup();
    const retryAt = new Date(Date.now() - (LIFECYCLE.staleQueuedSeconds + 1) * 1000).toISOString();
    await store.create({ ...job, attempts: 1, retryAt }, new Date());
    // Act
    await deadLetter();
    // Assess
    expect(await store.get(job.id)).toMatchObject({ status: 'FAILED', error: { type: ProblemType.jobAbandoned } });
    expect(topic.events.map((event) => event.type)).toEqual(['job.failed']);
  });
});

describe('what a dead letter came to, for its log line', () => {
  it.each([
    ['a job that does not exist', undefined, 'no such job'],
    ['a job that had already ended', { status: 'SUCCEEDED', attempts: 1, finishedAt: new Date().toISOString(), eventId: 'evt_x', result: 1 }, 'had already ended'],
    ['a job whose owner had asked it to stop', { status: 'RUNNING', attempts: 1, runDeadline: Date.now() - 5_000, cancelRequestedAt: new Date().toISOString() }, 'cancelled'],
  ] as const)('names %s', async (_case, fields, expected) => {
    // Prepare
    const { store, job, deadLetter } = setup();
    if (fields) await store.create({ ...job, ...fields } as JobRecord, new Date());
    // Act
    const handled = await deadLetter();
    // Assess
    expect(handled).toBe(expected);
  });
});
