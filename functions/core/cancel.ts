/** Cancelling a job at its owner's request. */
import { type JobRecord, isFinal } from './job.ts';
import { sweepShardOf } from './ids.ts';
import { announceSweepAt, finalChanges, type LifecycleSettings } from './lifecycle.ts';
import type { JobQueue, JobStore } from './ports.ts';
import { alreadyFinishedProblem, type ProblemDetails, ProblemType } from './problem.ts';
import { readJob } from './read.ts';
import { MetricName, noTelemetry, type Telemetry } from './telemetry.ts';

/** What cancelling needs. */
export interface CancelDeps {
  readonly store: JobStore;
  /** The jobs queue: the worker announces the cancellation, as it announces every end but one (DLQ). */
  readonly queue: JobQueue;
  readonly lifecycle: LifecycleSettings;
  readonly now: () => Date;
  readonly logger: { warn(message: string, fields?: Record<string, unknown>): void };
  /** @default noTelemetry */
  readonly telemetry?: Telemetry;
}

/** `cancelled`: the job is CANCELLED now (200). `stopping`: it is RUNNING and was asked to stop (202). */
export interface CancelOutcome {
  readonly outcome: 'cancelled' | 'stopping';
  readonly job: JobRecord;
}

/** The error of a job cancelled while QUEUED: before its first attempt, or waiting out a retry's backoff. */
function cancelledProblem(attempts: number): ProblemDetails {
  const when = attempts === 0 ? 'before it started' : `while it waited to retry, after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
  return { type: ProblemType.jobCancelled, title: 'Job cancelled', status: 409, detail: `The job was cancelled at its owner’s request ${when}.` };
}

/**
 * A QUEUED job becomes CANCELLED at once, and its message, when it arrives, finds nothing to run.
 * A RUNNING job is asked to stop: its processor's signal fires and it ends CANCELLED. An ended job
 * cannot be cancelled (409). Each step is conditional, so cancel racing start or finish ends one way.
 */
export async function cancelJob(deps: CancelDeps, owner: string, id: string): Promise<CancelOutcome> {
  let job = await readJob(deps.store, owner, id, deps.now());
  for (let round = 0; round < 3; round += 1) {
    if (isFinal(job.status)) throw alreadyFinishedProblem(id, job.status);
    if (job.status === 'QUEUED') {
      // The job's own message may still come (delayed, or hidden for a retry's backoff), and it may have
      // none (its submit's SendMessage failed): the same write puts it in the reconciler's sweep, so
      // whoever announces it records the publish (and a later message finds it announced), and the
      // reconciler announces it if no message does.
      const now = deps.now();
      const { clear = [], ...changes } = finalChanges(deps.lifecycle, now);
      const cancelled = await deps.store.transition(id, 'QUEUED', 'CANCELLED', {
        ...changes,
        error: cancelledProblem(job.attempts),
        sweepAt: announceSweepAt(deps.lifecycle, now),
        sweepShard: sweepShardOf(id, deps.lifecycle.sweepShards),
        clear: clear.filter((field) => field !== 'sweepAt' && field !== 'sweepShard'),
      });
      if (cancelled) {
        (deps.telemetry ?? noTelemetry).count(MetricName.jobsCancelled);
        try {
          // A fresh message has the worker announce the end now.
          await deps.queue.enqueue({ jobId: id, type: cancelled.type });
        } catch (error) {
          deps.logger.warn('enqueueing the cancel announcement failed; the reconciler will announce it', { jobId: id, error: String(error) });
        }
        return { outcome: 'cancelled', job: cancelled };
      }
    } else {
      // The record as this write left it: RUNNING and asked to stop. (A read after it could already find
      // the job ended, and a 202 with Retry-After for a finished job would tell the caller to wait for nothing.)
      const asked = await deps.store.requestCancel(id, deps.now().toISOString());
      if (asked) return { outcome: 'stopping', job: asked };
    }
    // It moved on between the read and the write: look again.
    job = await readJob(deps.store, owner, id, deps.now());
  }
  throw new Error(`job ${id} kept changing while being cancelled`);
}
