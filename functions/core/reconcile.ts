/**
 * The scheduled reconciler: re-enqueues QUEUED jobs whose message was lost (the submit's
 * SendMessage failed after the record was written, or the queue lost it), and sends ended jobs whose
 * event was not recorded as published back to the worker, which announces them (only the worker and
 * the dead-letter handler publish). It reads only the sparse `sweep` index.
 */
import { isFinal, type JobRecord, runnableAt } from './job.ts';
import type { LifecycleSettings } from './lifecycle.ts';
import { errorText } from './log.ts';
import type { JobQueue, JobStore } from './ports.ts';

/** What the reconciler needs. */
export interface ReconcileDeps {
  readonly store: JobStore;
  /** The jobs queue: a message makes the worker run a QUEUED job, or announce an ended one. */
  readonly queue: JobQueue;
  readonly lifecycle: LifecycleSettings;
  readonly batch: number;
  readonly now: () => Date;
  readonly logger: { warn(message: string, fields?: Record<string, unknown>): void };
}

/** What one run did. */
export interface ReconcileReport {
  readonly requeued: number;
  readonly announced: number;
  readonly failures: number;
}

/**
 * Raised at the end of a run in which some jobs could not be reconciled (the others were): the run
 * then counts as failed, so that a safety net that keeps failing for a job raises the reconciler alarm
 * rather than leave that job QUEUED, or unannounced, without anyone told.
 */
export class ReconcileIncomplete extends Error {
  /** `report.failures` counts both the jobs that could not be reconciled and the shards that could not be read (`unreadShards`). */
  constructor(
    readonly report: ReconcileReport,
    readonly unreadShards = 0,
    cause?: unknown,
  ) {
    const jobs = report.failures - unreadShards;
    const what = [
      ...(jobs > 0 ? [`${jobs} ${jobs === 1 ? 'job' : 'jobs'} could not be reconciled`] : []),
      ...(unreadShards > 0 ? [`${unreadShards} ${unreadShards === 1 ? 'shard' : 'shards'} of the sweep index could not be read${cause === undefined ? '' : ` (${errorText(cause)})`}`] : []),
    ];
    super(`${what.join(', and ')} (requeued ${report.requeued}, announced ${report.announced}); a later run tries again`, ...(cause === undefined ? [] : [{ cause }]));
    this.name = 'ReconcileIncomplete';
  }
}

/** The longest wait between two messages the reconciler sends for one job. */
export const MAX_RESEND_WAIT_SECONDS = 3_600;

/**
 * How long after sending a job's message the reconciler looks at it again: the lifecycle's wait (a
 * stale-queue wait, or a publish's grace), or, when longer, as long as the job has already waited since
 * it could start (or since it ended), up to an hour. Each message the job gets unanswered doubles the
 * wait: a queue that is only backed up (its worker far behind) is not sent one more message per job
 * every few minutes, while a job whose message was lost still gets one at once.
 */
export function resendWaitSeconds(lifecycle: LifecycleSettings, job: JobRecord, now: Date): number {
  const base = lifecycle[job.status === 'QUEUED' ? 'staleQueuedSeconds' : 'publishGraceSeconds'];
  const since = job.status === 'QUEUED' ? (job.retryAt ?? runnableAt(job).toISOString()) : (job.finishedAt ?? job.updatedAt);
  const waited = Math.floor((now.getTime() - Date.parse(since)) / 1000);
  return Number.isFinite(waited) ? Math.max(base, Math.min(MAX_RESEND_WAIT_SECONDS, waited)) : base;
}

/**
 * One pass over the due entries of every shard. A job, or a shard, that cannot be reconciled does not
 * stop the pass; the pass then ends in {@link ReconcileIncomplete}.
 */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  let requeued = 0;
  let announced = 0;
  let failures = 0;
  let unreadShards = 0;
  let shardError: unknown;
  const shards = Array.from({ length: deps.lifecycle.sweepShards }, (_, shard) => String(shard));
  for (const shard of shards) {
    let due: JobRecord[];
    try {
      due = await deps.store.dueForSweep(shard, deps.now(), deps.batch);
    } catch (error) {
      // One shard that cannot be read (throttled, say) does not keep the others from their run.
      failures += 1;
      unreadShards += 1;
      shardError ??= error;
      deps.logger.warn('reading a shard of the sweep index failed; the next run tries again', { shard, error: String(error) });
      continue;
    }
    for (const job of due) {
      try {
        // Deferring first means two overlapping runs cannot both send; a duplicate would be harmless anyway.
        if (!(job.status === 'QUEUED' || (isFinal(job.status) && !job.publishedAt))) continue;
        const now = deps.now();
        const next = new Date(now.getTime() + resendWaitSeconds(deps.lifecycle, job, now) * 1000).toISOString();
        // The index is read eventually consistent: only the entry read, still in place, is acted on. A job
        // that started since (its start clears the entry) and went back to QUEUED for a retry is left alone.
        const guard = job.sweepAt === undefined ? {} : { seenSweepAt: job.sweepAt };
        const sweepShard = job.sweepShard ?? shard;
        if (!(await deps.store.scheduleSweep(job.id, job.status, next, sweepShard, guard))) continue;
        try {
          await deps.queue.enqueue({ jobId: job.id, type: job.type });
        } catch (error) {
          // Not sent: make the entry due again, so the next run tries again and a keyed retry of the submit
          // still reads the job as lacking its message (a deferred entry would let it answer 202 unsent). Due
          // now, not at its old time: behind the entries already due, so a run's batch is not taken by the
          // same jobs failing over and over while others wait.
          if (job.sweepAt !== undefined) {
            await deps.store.scheduleSweep(job.id, job.status, deps.now().toISOString(), sweepShard, { seenSweepAt: next }).catch(() => undefined);
          }
          throw error;
        }
        if (job.status === 'QUEUED') {
          deps.logger.warn('re-enqueued a job whose message was missing', { jobId: job.id });
          requeued += 1;
        } else {
          deps.logger.warn('asked the worker to announce an ended job', { jobId: job.id });
          announced += 1;
        }
      } catch (error) {
        failures += 1;
        deps.logger.warn('reconciling a job failed; the next run tries again', { jobId: job.id, error: String(error) });
      }
    }
  }
  if (failures > 0) throw new ReconcileIncomplete({ requeued, announced, failures }, unreadShards, shardError);
  return { requeued, announced, failures };
}
