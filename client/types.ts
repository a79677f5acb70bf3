/**
 * The API's resources as a client sees them. These mirror the HTTP contract (DESIGN.md, "HTTP
 * contract (v1)"); the client keeps its own copy so it can be used without the server's code.
 */

/** Where a job is in its lifecycle. */
export type JobStatus = 'QUEUED' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'CANCELLED';

/** The statuses a job never leaves. */
export const FINAL_STATUSES: readonly JobStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];

/** One field-level validation failure; `field` is a JSON pointer into the request body. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** An RFC 9457 problem details object, as every error body and every failed job carries it. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
  /** Extension members the server may add. */
  readonly [extension: string]: unknown;
}

/** Progress a job's processor reported; `percent` is present when `total` is known. */
export interface Progress {
  readonly completed: number;
  readonly total?: number;
  readonly percent?: number;
  readonly message?: string;
}

/** The job resource of `POST /jobs`, `GET /jobs/{id}`, `DELETE /jobs/{id}` and completion events. */
export interface Job<Result = unknown> {
  readonly id: string;
  readonly type: string;
  readonly status: JobStatus;
  /** True exactly for SUCCEEDED, FAILED and CANCELLED. */
  readonly done: boolean;
  readonly progress?: Progress;
  /** Present only when SUCCEEDED. */
  readonly result?: Result;
  /** Present only when FAILED or CANCELLED. */
  readonly error?: ProblemDetails;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly attempts: number;
  /** Seconds one attempt may run. */
  readonly timeoutSeconds: number;
  /** Seconds the start was deferred by, when asked at submit. */
  readonly delaySeconds?: number;
  /** True once a cancel reached a RUNNING job that has not stopped yet. */
  readonly cancelRequested?: boolean;
  /** Where the completion event is delivered as a signed webhook, when the job was submitted with one. */
  readonly callbackUrl?: string;
  /** How the webhook delivery is going, when the job has a `callbackUrl` (never in an event's `data`). */
  readonly webhook?: WebhookDelivery;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly expiresAt?: string;
  readonly links: { readonly self: string };
}

/** What a job's resource shows of its webhook delivery. */
export interface WebhookDelivery {
  /**
   * `pending` until the job ends; `retrying` after a failed attempt; then `delivered`, `gone` (the
   * receiver answered 410 and gets no more), `failed` (the attempts ran out) or `refused` (the target
   * is one the SSRF rules reject).
   */
  readonly status: 'pending' | 'retrying' | 'delivered' | 'gone' | 'failed' | 'refused';
  readonly attempts: number;
  /** The HTTP status of the last attempt, when it got one. */
  readonly lastStatusCode?: number;
  /** Why the last attempt failed, when it did. */
  readonly lastError?: string;
  readonly lastAttemptAt?: string;
}

/** The body of `POST /jobs`. */
export interface SubmitRequest {
  /** A registered job type, e.g. `echo`, `sleep`, `fail`. */
  readonly type: string;
  /** Any JSON value; handed to the processor as is. */
  readonly input?: unknown;
  /** Where the completion event is delivered as a signed webhook. */
  readonly callbackUrl?: string;
  /** Seconds to wait before the job may start. */
  readonly delaySeconds?: number;
  /** Seconds one attempt may run. @default the server's */
  readonly timeoutSeconds?: number;
  /** Caller-defined labels, returned with the job and its events. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** One page of `GET /jobs`. */
export interface JobPage {
  readonly jobs: readonly Job[];
  /** Opaque; absent on the last page. */
  readonly nextCursor?: string;
}

/** The envelope of completion events, on the SNS topic and in webhook bodies. */
export interface JobEvent {
  readonly id: string;
  readonly type: 'job.succeeded' | 'job.failed' | 'job.cancelled';
  readonly timestamp: string;
  /** The job as it ended, without its `webhook` member (which reports on this event's own delivery). */
  readonly data: Omit<Job, 'webhook'>;
}
