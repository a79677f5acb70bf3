/**
 * What the domain needs from the outside world. `functions/aws` implements these with DynamoDB,
 * SQS and SNS; the domain never imports the AWS SDK.
 */
import type { JobRecord, JobResource, JobStatus, Progress } from './job.ts';

/** Fields a transition may set along with the new status. */
export type TransitionChanges = Partial<
  Pick<JobRecord, 'result' | 'error' | 'progress' | 'startedAt' | 'finishedAt' | 'expiresAt' | 'eventId'>
> & {
  /** Adds one to `attempts` in the same write (a start). */
  readonly countAttempt?: boolean;
};

/** Persistence of job records. Every state change is conditional on the expected current status. */
export interface JobStore {
  /** Writes a new record; false when a record with this id already exists. */
  create(job: JobRecord): Promise<boolean>;
  /** Strongly consistent read; undefined when there is no record. */
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Moves the job from `from` to `to` in one conditional write and returns the new record,
   * or undefined when the job was not in `from` (someone else moved it first).
   */
  transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges): Promise<JobRecord | undefined>;
  /** Records progress while the job is RUNNING; false when it no longer is. */
  reportProgress(id: string, progress: Progress, at: string): Promise<boolean>;
  /** Records that the completion event `eventId` was accepted by the topic. */
  markPublished(id: string, eventId: string, at: string): Promise<void>;
  /** Removes a record that never became visible to work (its message could not be sent). */
  discard(id: string, status: JobStatus): Promise<void>;
}

/** The message that tells the worker to run a job. */
export interface JobMessage {
  readonly jobId: string;
  readonly type: string;
}

/** The jobs queue. */
export interface JobQueue {
  enqueue(message: JobMessage, delaySeconds?: number): Promise<void>;
}

/** The completion event envelope, shared by SNS and webhooks. */
export interface JobEvent {
  readonly id: string;
  readonly type: 'job.succeeded' | 'job.failed' | 'job.cancelled';
  readonly timestamp: string;
  readonly data: JobResource;
}

/** The completion topic. */
export interface EventPublisher {
  publish(event: JobEvent): Promise<void>;
}
