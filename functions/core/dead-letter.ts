/**
 * Ending jobs whose message reached the dead-letter queue: the worker kept crashing or timing out on
 * it. Without this, such a job would stay RUNNING (or QUEUED) forever.
 */
import { isFinal } from './job.ts';
import { announce, finalChanges, type LifecycleSettings } from './lifecycle.ts';
import type { EventPublisher, JobMessage, JobStore } from './ports.ts';
import { type ProblemDetails, ProblemType } from './problem.ts';
import { noTelemetry, type Telemetry } from './telemetry.ts';
import { cancelledProblem, NOT_RUN_AGAIN, recordEnd } from './worker.ts';

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

/** Marks the job FAILED (CANCELLED if its owner asked it to stop) unless it already ended, and makes sure its end is announced. Throws to be retried. */
export async function handleDeadLetter(deps: DeadLetterDeps, message: JobMessage, receives: number): Promise<void> {
  for (let round = 0; round < 3; round += 1) {
    const job = await deps.store.get(message.jobId);
    if (!job) {
      deps.logger.warn('dead letter for a job that does not exist', { jobId: message.jobId });
      return;
    }
    if (isFinal(job.status)) return announce(deps.store, deps.publisher, job, deps.now);
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
      return announce(deps.store, deps.publisher, ended, deps.now);
    }
  }
  throw new Error(`job ${message.jobId} kept changing while its dead letter was handled`);
}
