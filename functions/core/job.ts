/** The job model: the stored record and the resource clients see. */
import type { ProblemDetails } from './problem.ts';
import type { WebhookState } from './webhooks.ts';

export const JOB_STATUSES = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

const FINAL: ReadonlySet<JobStatus> = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/** True for the three statuses a job never leaves. */
export function isFinal(status: JobStatus): boolean {
  return FINAL.has(status);
}

/** Progress a processor reported; `percent` is derived when `total` is known. */
export interface Progress {
  readonly completed: number;
  readonly total?: number;
  readonly percent?: number;
  readonly message?: string;
}

/** The record kept in the job store. Timestamps are ISO-8601 UTC strings; `expiresAt` is epoch seconds (DynamoDB TTL). */
export interface JobRecord {
  readonly id: string;
  /** Who submitted it: the IAM caller ARN, the JWT `sub`, or `anonymous` when the API has no authorizer. */
  readonly owner: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly input: unknown;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly delaySeconds?: number;
  /** Seconds one attempt may run before its signal fires and the job fails as timed out. */
  readonly timeoutSeconds: number;
  /** Where the completion event is delivered as a signed webhook. */
  readonly callbackUrl?: string;
  /** How the webhook delivery is going. */
  readonly webhook?: WebhookState;
  /** SHA-256 of the submitted body, kept for jobs submitted with an Idempotency-Key. */
  readonly requestHash?: string;
  readonly result?: unknown;
  readonly error?: ProblemDetails;
  readonly progress?: Progress;
  readonly attempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly expiresAt?: number;
  /** Id of the completion event, fixed by the final transition so a republish reuses it. */
  readonly eventId?: string;
  /** Set once the completion event has been accepted by SNS. */
  readonly publishedAt?: string;
  /** Set when the owner asked a RUNNING job to stop. */
  readonly cancelRequestedAt?: string;
  /** Epoch ms by which the invocation running the current attempt has ended, one way or another. */
  readonly runDeadline?: number;
  /**
   * Written by each start (internal): a start whose answer was lost, and whose SDK retry was refused by
   * its own write, tells by it that the job is RUNNING for itself.
   */
  readonly runId?: string;
  /** Why the last attempt failed when it will be retried (internal; `error` is for final states). */
  readonly lastError?: ProblemDetails;
  /**
   * When a job that failed retryably may start again (ISO time; internal): its message is hidden until
   * then, and a start refuses any other message that comes earlier (a duplicate, a repeat's re-send).
   */
  readonly retryAt?: string;
  /**
   * When the reconciler should look at the job (ISO time), present only while the job may need it:
   * QUEUED (its message may be lost) or ended but not yet announced. Sparse GSI `sweep`.
   */
  readonly sweepAt?: string;
  /** Partition of the `sweep` index, spreading its writes. */
  readonly sweepShard?: string;
}

/** The job resource of the HTTP API and of completion events. */
export interface JobResource {
  readonly id: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly done: boolean;
  readonly progress?: Progress;
  readonly result?: unknown;
  readonly error?: ProblemDetails;
  readonly metadata?: Readonly<Record<string, string>>;
  readonly attempts: number;
  readonly timeoutSeconds: number;
  readonly delaySeconds?: number;
  readonly cancelRequested?: boolean;
  readonly callbackUrl?: string;
  readonly webhook?: Omit<WebhookState, 'eventId'>;
  readonly createdAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly expiresAt?: string;
  readonly links: { readonly self: string };
}

/** Path of a job's resource, used for `Location` and `links.self`. */
export function jobPath(id: string): string {
  return `/jobs/${id}`;
}

/** The client-facing view of a record: `result` only when SUCCEEDED, `error` only when FAILED or CANCELLED. */
export function toResource(job: JobRecord): JobResource {
  return {
    id: job.id,
    type: job.type,
    status: job.status,
    done: isFinal(job.status),
    ...(job.progress && { progress: job.progress }),
    ...(job.status === 'SUCCEEDED' && { result: job.result ?? null }),
    ...((job.status === 'FAILED' || job.status === 'CANCELLED') && job.error && { error: job.error }),
    ...(job.metadata && { metadata: job.metadata }),
    attempts: job.attempts,
    timeoutSeconds: job.timeoutSeconds,
    ...(job.delaySeconds !== undefined && { delaySeconds: job.delaySeconds }),
    ...(job.cancelRequestedAt !== undefined && job.status === 'RUNNING' && { cancelRequested: true }),
    ...(job.callbackUrl !== undefined && { callbackUrl: job.callbackUrl }),
    ...(job.webhook !== undefined && { webhook: withoutEventId(job.webhook) }),
    createdAt: job.createdAt,
    ...(job.startedAt && { startedAt: job.startedAt }),
    ...(job.finishedAt && { finishedAt: job.finishedAt }),
    ...(job.expiresAt !== undefined && { expiresAt: new Date(job.expiresAt * 1000).toISOString() }),
    links: { self: jobPath(job.id) },
  };
}

function withoutEventId({ eventId: _eventId, ...rest }: WebhookState): Omit<WebhookState, 'eventId'> {
  return rest;
}

/** Allowed between the clocks of the instances that write and read a time on a job (a deadline, a retry's due time). */
export const CLOCK_MARGIN_MS = 1_000;

/** Epoch ms from which the invocation that started the job's current attempt has certainly ended, and a worker takes the job over. */
export function attemptOverAt(job: Pick<JobRecord, 'runDeadline'>): number | undefined {
  return job.runDeadline === undefined ? undefined : job.runDeadline + CLOCK_MARGIN_MS;
}

/** When a job may first start: its creation plus its `delaySeconds`. */
export function runnableAt(job: Pick<JobRecord, 'createdAt' | 'delaySeconds'>): Date {
  return new Date(Date.parse(job.createdAt) + (job.delaySeconds ?? 0) * 1000);
}

/** Whole seconds from `now` until `at` (an instant, or its ISO string), rounded up; 0 or less once it has come. */
export function secondsUntil(at: Date | string, now: Date): number {
  return Math.ceil(((typeof at === 'string' ? Date.parse(at) : at.getTime()) - now.getTime()) / 1000);
}

/** Whole seconds left of a job's `delaySeconds` (0 once it may start). */
export function secondsUntilRunnable(job: Pick<JobRecord, 'createdAt' | 'delaySeconds'>, now: Date): number {
  return Math.max(0, secondsUntil(runnableAt(job), now));
}

/**
 * The `Retry-After` of a pending job: the API's polling interval, or, for a QUEUED job, what is left of
 * its delay or of the wait before its retry (a backoff, or the `retryAfterSeconds` its processor asked
 * for), within which nothing but a cancel can change it.
 */
export function pollAfterSeconds(job: JobRecord, now: Date, intervalSeconds: number): number {
  if (job.status !== 'QUEUED') return intervalSeconds;
  const untilRetry = job.retryAt === undefined ? 0 : secondsUntil(job.retryAt, now);
  return Math.max(intervalSeconds, secondsUntilRunnable(job, now), untilRetry);
}

/** True when the job's retention has passed: it reads as gone even before DynamoDB's TTL deletes it. */
export function isExpired(job: JobRecord, now: Date): boolean {
  return job.expiresAt !== undefined && job.expiresAt * 1000 <= now.getTime();
}

/**
 * Most characters of a text a processor supplies (an error's message, a progress message) that a job
 * record keeps: a record must stay within DynamoDB's 400 KB item and its event within SNS's 256 KB.
 */
export const MAX_PROCESSOR_TEXT_CHARS = 4_096;

/** `value` as text (a processor may put anything in an error's message), cut to {@link MAX_PROCESSOR_TEXT_CHARS} with a note of how much was left out. */
export function boundedText(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  if (text.length <= MAX_PROCESSOR_TEXT_CHARS) return text;
  // Never half of a surrogate pair: a lone one is not valid UTF-8 to store.
  const end = /[\uD800-\uDBFF]/.test(text.charAt(MAX_PROCESSOR_TEXT_CHARS - 1)) ? MAX_PROCESSOR_TEXT_CHARS - 1 : MAX_PROCESSOR_TEXT_CHARS;
  return `${text.slice(0, end)} … [${text.length - end} more characters cut]`;
}

/**
 * Builds a progress value, deriving `percent` and clamping it to 0..100. Undefined for a `completed`
 * that is not a finite number (JSON would store it as null, which the job schema refuses); a `total`
 * that is not one is left out, as unknown.
 */
export function makeProgress(completed: number, total?: number, message?: string): Progress | undefined {
  if (typeof completed !== 'number' || !Number.isFinite(completed)) return undefined;
  const knownTotal = typeof total === 'number' && Number.isFinite(total) ? total : undefined;
  const ratio = knownTotal !== undefined && knownTotal > 0 ? completed / knownTotal : Number.NaN;
  const percent = Number.isFinite(ratio) ? Math.min(100, Math.max(0, Math.round(ratio * 100))) : undefined;
  return {
    completed,
    ...(knownTotal !== undefined && { total: knownTotal }),
    ...(percent !== undefined && { percent }),
    ...(message !== undefined && { message: boundedText(message) }),
  };
}
