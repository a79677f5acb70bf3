/**
 * What the domain needs from the outside world. `functions/aws` implements these with DynamoDB,
 * SQS and SNS; the domain never imports the AWS SDK.
 */
import type { JobRecord, JobResource, JobStatus, Progress } from './job.ts';
import type { WebhookState } from './webhooks.ts';

/** Fields a transition may set along with the new status. */
export type TransitionChanges = Partial<
  Pick<
    JobRecord,
    'result' | 'error' | 'progress' | 'startedAt' | 'finishedAt' | 'expiresAt' | 'eventId' | 'runDeadline' | 'runId' | 'lastError' | 'retryAt' | 'sweepAt' | 'sweepShard'
  >
> & {
  /** Adds one to `attempts` in the same write (a start). */
  readonly countAttempt?: boolean;
  /** Attributes removed in the same write. */
  readonly clear?: readonly ('runDeadline' | 'retryAt' | 'sweepAt' | 'sweepShard' | 'cancelRequestedAt' | 'lastError' | 'progress')[];
};

/** Extra conditions of a transition. */
export interface TransitionGuard {
  /** `runDeadline` must still hold this value. */
  readonly runDeadline?: number;
  /** `false`: the owner must not have asked the job to stop (no `cancelRequestedAt`). */
  readonly cancelRequested?: false;
  /** The job's `retryAt`, if it has one, is no later than this ISO time: its retry is due. */
  readonly retryDueBy?: string;
}

/** A position in a caller's job list; opaque outside the store and the cursor codec. */
export type ListKey = Readonly<Record<string, string>>;

/** The fields of a {@link ListKey}: the job's own key and its place in the owner index. */
export const LIST_KEY_FIELDS = ['createdAt', 'id', 'owner'] as const;

/** One page of a caller's jobs, newest first. */
export interface JobPage {
  readonly jobs: readonly JobRecord[];
  readonly next?: ListKey;
}

/** What must still hold of a job for a sweep write to be made. */
export interface SweepGuard {
  /**
   * The job has never started (`attempts` is 0). A QUEUED job that has started is waiting out a retry
   * on its own message, which a sweep would only cut short.
   */
  readonly neverStarted?: boolean;
  /** The job's entry is still the one the caller read (its `sweepAt`): nothing cleared or moved it meanwhile. */
  readonly seenSweepAt?: string;
  /** The job has no entry yet: one written since the caller's read (a flag, say) stays as it is. */
  readonly noEntry?: boolean;
}

/** Persistence of job records. Every state change is conditional on the expected current status. */
export interface JobStore {
  /** Writes a new record; false when an unexpired record with this id exists (an expired one is replaced). */
  create(job: JobRecord, now: Date): Promise<boolean>;
  /** Strongly consistent read; undefined when there is no record. */
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Moves the job from `from` to `to` in one conditional write and returns the new record,
   * or undefined when the job was not in `from` (someone else moved it first) or the guard failed.
   */
  transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges, guard?: TransitionGuard): Promise<JobRecord | undefined>;
  /** Records progress while the job is RUNNING; false when it no longer is. */
  reportProgress(id: string, progress: Progress, at: string): Promise<boolean>;
  /** Asks a RUNNING job to stop and returns the record as that write left it; undefined when it is not RUNNING. */
  requestCancel(id: string, at: string): Promise<JobRecord | undefined>;
  /** True when the owner asked the job to stop; the read is abandoned (and rejects) when `signal` aborts. */
  isCancelRequested(id: string, signal?: AbortSignal): Promise<boolean>;
  /** Records that the completion event `eventId` was accepted by the topic; the job leaves the sweep (failure paths only). */
  markPublished(id: string, eventId: string, at: string): Promise<void>;
  /**
   * Removes a record that never became visible to work (its message could not be sent); false when it
   * is no longer in `status` or has started (a send given up at the deadline may have gone through).
   */
  discard(id: string, status: JobStatus): Promise<boolean>;
  /**
   * A page of the owner's jobs, newest first, optionally of one status, without expired ones. With
   * `maxBytes`, it stops reading records once it has read about that much (the page then ends at the
   * last record read, and `next` goes on from there): records past a page's size are not read to be dropped.
   */
  list(owner: string, query: { readonly limit: number; readonly status?: JobStatus; readonly after?: ListKey; readonly now: Date; readonly maxBytes?: number }): Promise<JobPage>;
  /** Jobs of one sweep shard whose `sweepAt` has passed. */
  dueForSweep(shard: string, now: Date, limit: number): Promise<JobRecord[]>;
  /**
   * Puts the job in the reconciler's sweep (or moves it later there) while it is still in `status`,
   * its end is not recorded as announced and `guard` holds; false when it is not. Only failure paths,
   * a repeat of a keyed submit answered from the record, and the cancel of a QUEUED job (in its own
   * write) put a job there: the happy path writes no sweep index entry.
   */
  scheduleSweep(id: string, status: JobStatus, sweepAt: string, shard: string, guard?: SweepGuard): Promise<boolean>;
  /** Records how the webhook delivery of the job is going. */
  recordWebhook(id: string, state: WebhookState): Promise<void>;
}

/** The message that tells the worker to run a job. */
export interface JobMessage {
  readonly jobId: string;
  readonly type: string;
}

/** The jobs queue. */
export interface JobQueue {
  /**
   * Sends the message and resolves to the id the queue gave it (SQS names every message it takes, though
   * the SDK types the id as optional: undefined only from a queue that answers without one); `signal`
   * abandons the send (it then rejects) when the caller cannot wait longer.
   */
  enqueue(message: JobMessage, delaySeconds?: number, signal?: AbortSignal): Promise<string | undefined>;
}

/** Control over the delivery of the message being handled (SQS: its receipt handle). */
export interface Redelivery {
  /** The message comes back after `seconds` instead of the queue's visibility timeout. */
  delay(seconds: number): Promise<void>;
}

/** The completion event envelope, shared by SNS and webhooks. */
export interface JobEvent {
  readonly id: string;
  readonly type: 'job.succeeded' | 'job.failed' | 'job.cancelled';
  readonly timestamp: string;
  /** The job as it ended; its `webhook` member (the delivery of this event) is left out. */
  readonly data: Omit<JobResource, 'webhook'>;
}

/** The completion topic. */
export interface EventPublisher {
  publish(event: JobEvent): Promise<void>;
}
