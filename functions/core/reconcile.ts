/**
 * The scheduled reconciler: re-enqueues QUEUED jobs whose message was lost (the submit's
 * SendMessage failed after the record was written, or the queue lost it) and announces ended jobs
 * whose event was not recorded as published. It reads only the sparse `sweep` index.
 */
import { isFinal } from './job.ts';
import { announce, type LifecycleSettings, queuedSweepAt } from './lifecycle.ts';
import type { EventPublisher, JobQueue, JobStore } from './ports.ts';

/** What the reconciler needs. */
export interface ReconcileDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly publisher: EventPublisher;
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

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReport> {
  let requeued = 0;
  let announced = 0;
  let failures = 0;
  const shards = Array.from({ length: deps.lifecycle.sweepShards }, (_, shard) => String(shard));
  for (const shard of shards) {
    for (const job of await deps.store.dueForSweep(shard, deps.now(), deps.batch)) {
      try {
        if (job.status === 'QUEUED') {
          // Deferring first means two overlapping runs cannot both send; a duplicate would be harmless anyway.
          if (await deps.store.deferSweep(job.id, 'QUEUED', queuedSweepAt(deps.lifecycle, deps.now()))) {
            await deps.queue.enqueue({ jobId: job.id, type: job.type });
            deps.logger.warn('re-enqueued a job whose message was missing', { jobId: job.id });
            requeued += 1;
          }
        } else if (isFinal(job.status)) {
          await announce(deps.store, deps.publisher, job, deps.now);
          announced += 1;
        }
      } catch (error) {
        failures += 1;
        deps.logger.warn('reconciling a job failed; the next run tries again', { jobId: job.id, error: String(error) });
      }
    }
  }
  return { requeued, announced, failures };
}
