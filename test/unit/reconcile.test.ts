import { describe, expect, it } from 'vitest';
import type { JobMessage, JobQueue } from '#core/ports';
import { MAX_RESEND_WAIT_SECONDS, ReconcileIncomplete, type ReconcileReport, reconcile } from '#core/reconcile';
import { type SubmitDeps, submitJob } from '#core/submit';
import { lifecycle } from '#infra/config';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** A queue that refuses the messages of the jobs in `refused`, like SQS denying or throttling them, or everything while `down`. */
class SelectiveQueue implements JobQueue {
  readonly sent: JobMessage[] = [];
  readonly refused = new Set<string>();
  down = false;

  async enqueue(message: JobMessage): Promise<string> {
    if (this.down || this.refused.has(message.jobId)) throw new Error('AccessDenied');
    this.sent.push(message);
    return `message-${this.sent.length}`;
  }
}

/** Two keyed jobs whose message never went out, flagged for the reconciler and due at NOW. */
async function twoLostJobs(): Promise<{ store: InMemoryJobStore; queue: SelectiveQueue; deps: SubmitDeps; ids: [string, string] }> {
  const store = new InMemoryJobStore();
  const queue = new SelectiveQueue();
  const deps: SubmitDeps = {
    store,
    queue,
    knownTypes: ['echo'],
    inputSchemas: {},
    limits: { maxDelaySeconds: 900, retryAfterSeconds: 2, defaultTimeoutSeconds: 60, maxTimeoutSeconds: 117, maxBodyBytes: 131_072 },
    lifecycle,
    idempotencySecret: 'test-secret',
    webhooks: { mode: 'cloud', resolve: async () => [] },
    now: () => NOW,
  };
  queue.down = true;
  for (const key of ['first', 'second']) await submitJob(deps, 'anonymous', { type: 'echo' }, key).catch(() => undefined);
  queue.down = false;
  const ids = [...store.jobs.keys()];
  if (ids.length !== 2 || !ids[0] || !ids[1]) throw new Error('expected two kept jobs');
  return { store, queue, deps, ids: [ids[0], ids[1]] };
}

async function run(store: InMemoryJobStore, queue: JobQueue, at = NOW, batch = 100): Promise<ReconcileReport> {
  return reconcile({ store, queue, lifecycle, batch, now: () => at, logger: { warn: () => undefined } });
}

describe('reconcile', () => {
  it('sends every lost job and reports them', async () => {
    // Prepare
    const { store, queue, ids } = await twoLostJobs();

    // Act
    const report = await run(store, queue);

    // Assess
    expect(report).toEqual({ requeued: 2, announced: 0, failures: 0 });
    expect(queue.sent.map((message) => message.jobId).sort()).toEqual([...ids].sort());
  });

  it('still sends the other jobs when one cannot be sent, and then fails the run, so the alarm hears of it', async () => {
    // Prepare
    const { store, queue, ids } = await twoLostJobs();
    queue.refused.add(ids[0]);

    // Act
    const error = await run(store, queue).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    // Assess
    expect(error).toBeInstanceOf(ReconcileIncomplete);
    expect((error as ReconcileIncomplete).report).toEqual({ requeued: 1, announced: 0, failures: 1 });
    expect((error as Error).message).toBe('1 job could not be reconciled (requeued 1, announced 0); a later run tries again');
    expect(queue.sent.map((message) => message.jobId)).toEqual([ids[1]]);
  });

  it('leaves a job it could not send due, so the next run and the caller’s keyed retry send it, not one five minutes later', async () => {
    // Prepare: a run that fails to send one job, as during an SQS outage
    const { store, queue, deps, ids } = await twoLostJobs();
    queue.refused.add(ids[0]);
    await run(store, queue).catch(() => undefined);
    queue.refused.clear();
    const sentBefore = queue.sent.length;

    // Act: SQS is back; the caller retries with the same key, and the reconciler runs a minute later
    const retried = await submitJob({ ...deps, now: () => new Date(NOW.getTime() + 30_000) }, 'anonymous', { type: 'echo' }, 'first');
    const afterRetry = queue.sent.slice(sentBefore).map((message) => message.jobId);
    const nextRun = await run(store, queue, new Date(NOW.getTime() + 60_000));

    // Assess: the retry, answered from the record, sent the message it found missing
    expect(retried.job.id).toBe(ids[0]);
    expect(afterRetry).toEqual([ids[0]]);
    expect(nextRun.failures).toBe(0);
  });

  it('puts a job it could not send behind the others due, so a job that keeps failing does not hold up the rest of its shard', async () => {
    // Prepare: two lost jobs a second apart in one shard; a run reads one entry per shard; the older one cannot be sent
    const { store, queue } = await twoLostJobs();
    const [older, newer] = [...store.jobs.values()];
    if (!older || !newer) throw new Error('expected two jobs');
    await store.scheduleSweep(older.id, 'QUEUED', NOW.toISOString(), '0', {});
    await store.scheduleSweep(newer.id, 'QUEUED', new Date(NOW.getTime() + 1_000).toISOString(), '0', {});
    queue.refused.add(older.id);

    // Act: two runs a minute apart
    await run(store, queue, new Date(NOW.getTime() + 60_000), 1).catch(() => undefined);
    await run(store, queue, new Date(NOW.getTime() + 120_000), 1).catch(() => undefined);

    // Assess: the second run reached the newer job
    expect(queue.sent.map((message) => message.jobId)).toEqual([newer.id]);
  });

  it('still reads the other shards when one cannot be read, and then fails the run', async () => {
    // Prepare: the two lost jobs in shards 0 and 2; shard 1 cannot be read (throttled)
    const { store, queue, ids } = await twoLostJobs();
    await store.scheduleSweep(ids[0], 'QUEUED', NOW.toISOString(), '0', {});
    await store.scheduleSweep(ids[1], 'QUEUED', NOW.toISOString(), '2', {});
    const due = store.dueForSweep.bind(store);
    store.dueForSweep = async (shard, now, limit) => {
      if (shard === '1') throw new Error('ThrottlingException');
      return due(shard, now, limit);
    };

    // Act
    const error = await run(store, queue).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );

    // Assess
    expect((error as ReconcileIncomplete).report).toEqual({ requeued: 2, announced: 0, failures: 1 });
    expect((error as Error).message).toBe('1 shard of the sweep index could not be read (Error: ThrottlingException) (requeued 2, announced 0); a later run tries again');
    expect(queue.sent.map((message) => message.jobId).sort()).toEqual([...ids].sort());
  });

  it.each([
    ['a job that could start a minute ago: a stale-queue wait', 60, lifecycle.staleQueuedSeconds],
    ['a job that could start 20 minutes ago: as long again', 1_200, 1_200],
    ['a job that could start a day ago: an hour at most', 86_400, MAX_RESEND_WAIT_SECONDS],
  ])('looks at %s after sending its message', async (_case, waitedSeconds, expected) => {
    // Prepare: a backed-up queue, say: the job's message has not reached a worker for so long
    const { store, queue, ids } = await twoLostJobs();
    const job = store.jobs.get(ids[0]);
    if (!job) throw new Error('no job');
    store.jobs.set(ids[0], { ...job, createdAt: new Date(NOW.getTime() - waitedSeconds * 1000).toISOString() });
    store.jobs.delete(ids[1]);

    // Act
    await run(store, queue);

    // Assess
    expect(queue.sent.map((message) => message.jobId)).toEqual([ids[0]]);
    expect(store.jobs.get(ids[0])?.sweepAt).toBe(new Date(NOW.getTime() + expected * 1000).toISOString());
  });

  it('sends an ended job that stays unannounced for an hour 7 times, not 60: each wait as long as the job has waited', async () => {
    // Prepare: a job cancelled while QUEUED, its announcement due; the worker never gets to it (the queue is backed up)
    const { store, queue, ids } = await twoLostJobs();
    const job = store.jobs.get(ids[0]);
    if (!job) throw new Error('no job');
    store.jobs.set(ids[0], { ...job, status: 'CANCELLED', finishedAt: NOW.toISOString(), eventId: 'evt_x', sweepAt: NOW.toISOString() });
    store.jobs.delete(ids[1]);

    // Act: a run every minute for an hour
    for (let minute = 0; minute < 60; minute += 1) await run(store, queue, new Date(NOW.getTime() + minute * 60_000));

    // Assess: at minutes 0, 1, 2, 4, 8, 16 and 32
    expect(queue.sent).toHaveLength(7);
  });
});
