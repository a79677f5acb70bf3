/**
 * Ending jobs whose message reached the dead-letter queue: the worker kept crashing or timing out on
 * it. Without this, such a job would stay RUNNING (or QUEUED) forever.
 *
 * A job can have a second message (an SQS duplicate, or a re-send by the reconciler or a keyed repeat),
 * and every "come back later" answer to it uses up one of its receives: such a message can reach the
 * DLQ while the job is fine. A job that a live invocation is running, or that waits out a retry's
 * backoff for its own message (or is due since less than a stale-queue wait), is therefore not ended here.
 */
import { isFinal } from './job.ts';
import { sweepShardOf } from './ids.ts';
import { announce, finalChanges, type LifecycleSettings, queuedSweepAt } from './lifecycle.ts';
import type { EventPublisher, JobMessage, JobStore } from './ports.ts';
import { type ProblemDetails, ProblemType } from './problem.ts';
import { noTelemetry, type Telemetry } from './telemetry.ts';
import { attemptMayBeRunning, cancelledProblem, NOT_RUN_AGAIN, recordEnd } from './worker.ts';

/** What the dead-letter handler needs. */
export interface DeadLetterDeps {
  readonly store: JobStore;
  readonly publisher: EventPublisher;
  readonly lifecycle: LifecycleSettings;
  readonly now: () => Date;
  readonly logger: { warn(message: string, fields?: Record<string, unknown>): void };
  /** @default noTelemetry */
  readonly telemetry?: Telemetry;
}

function abandoned(receives: number): ProblemDetails {
  return {
    type: ProblemType.jobAbandoned,
    title: 'Job abandoned',
    status: 500,
    detail: `The worker stopped (crashed or timed out) each of the ${receives} times it received the job.`,
  };
}

/** What a dead letter came to, for its log line. */
export type DeadLetterOutcome = 'failed' | 'cancelled' | 'had already ended' | 'left to the invocation running it' | 'left to its retry' | 'no such job';

/** Marks the job FAILED (CANCELLED if its owner asked it to stop) unless it already ended, and makes sure its end is announced. Throws to be retried. */
export async function handleDeadLetter(deps: DeadLetterDeps, message: JobMessage, receives: number): Promise<DeadLetterOutcome> {
  for (let round = 0; round < 3; round += 1) {
    const job = await deps.store.get(message.jobId);
    if (!job) {
      deps.logger.warn('dead letter for a job that does not exist', { jobId: message.jobId });
      return 'no such job';
    }
    if (isFinal(job.status)) {
      await announce(deps.store, deps.publisher, job, deps.now);
      return 'had already ended';
    }
    const now = deps.now().getTime();
    // Running in an invocation that has not reached its deadline: that one holds the job's own message,
    // which brings the job back if the invocation stops. This was another message.
    if (job.status === 'RUNNING' && attemptMayBeRunning(job, now)) {
      deps.logger.warn('dead letter for a job another invocation is running; left to it', { jobId: job.id, attempt: job.attempts });
      return 'left to the invocation running it';
    }
    // Waiting out a retry's backoff, or just due: its own message is hidden until `retryAt` and starts it
    // then. A second message sent back until then (the worker's answer to one that comes early) reaches
    // the DLQ about then, too. In case this was the job's own message, the reconciler re-sends one if the
    // job has not started a stale-queue wait after it was due; a job still QUEUED past that is failed below.
    const sweepAt = job.status === 'QUEUED' && job.retryAt !== undefined ? queuedSweepAt(deps.lifecycle, new Date(job.retryAt)) : undefined;
    if (sweepAt !== undefined && Date.parse(sweepAt) > now) {
      if (await deps.store.scheduleSweep(job.id, 'QUEUED', sweepAt, sweepShardOf(job.id, deps.lifecycle.sweepShards))) {
        deps.logger.warn('dead letter for a job waiting to retry; the reconciler re-sends it if it has not started by then', { jobId: job.id, retryAt: job.retryAt, sweepAt });
        return 'left to its retry';
      }
      continue;
    }
    // The lifecycle only fails a RUNNING job: a QUEUED one is started first, in a separate write.
    const running =
      job.status === 'RUNNING'
        ? job
        : await deps.store.transition(job.id, 'QUEUED', 'RUNNING', { startedAt: deps.now().toISOString(), clear: ['sweepAt', 'sweepShard'] });
    if (!running) continue;
    // Its owner asked it to stop: that, not the crashes, is how it ends.
    const ended =
      running.cancelRequestedAt !== undefined
        ? await deps.store.transition(job.id, 'RUNNING', 'CANCELLED', { error: cancelledProblem(NOT_RUN_AGAIN), ...finalChanges(deps.lifecycle, deps.now()) })
        : await deps.store.transition(job.id, 'RUNNING', 'FAILED', { error: abandoned(receives), ...finalChanges(deps.lifecycle, deps.now()) }, { cancelRequested: false });
    if (ended) {
      recordEnd(deps.telemetry ?? noTelemetry, ended);
      await announce(deps.store, deps.publisher, ended, deps.now);
      return ended.status === 'CANCELLED' ? 'cancelled' : 'failed';
    }
  }
  throw new Error(`job ${message.jobId} kept changing while its dead letter was handled`);
}
