/**
 * The job lifecycle. Every transition is applied as one conditional write on the expected current
 * status, so a duplicate delivery, a race with cancel or a replayed message can never move a job
 * backwards or finish it twice.
 */
import { type JobStatus, isFinal } from './job.ts';

const TRANSITIONS: Readonly<Record<JobStatus, readonly JobStatus[]>> = {
  QUEUED: ['RUNNING', 'CANCELLED'],
  // RUNNING -> QUEUED: a retryable failure that leaves attempts.
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'QUEUED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

/** True when the lifecycle allows moving a job from `from` to `to`. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** Raised by code that asks for a transition the lifecycle forbids: a programming error, never a race. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: JobStatus,
    readonly to: JobStatus,
  ) {
    super(`illegal job transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

/** Throws unless `from -> to` is legal; called before every conditional write. */
export function assertTransition(from: JobStatus, to: JobStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** A final transition's event type (`job.succeeded`, ...), or undefined for the others. */
export function eventTypeFor(to: JobStatus): `job.${Lowercase<JobStatus>}` | undefined {
  return isFinal(to) ? (`job.${to.toLowerCase()}` as `job.${Lowercase<JobStatus>}`) : undefined;
}
