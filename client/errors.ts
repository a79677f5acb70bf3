/**
 * What the client throws. Each outcome a caller must tell apart has its own class: the API
 * answered an error, the API could not be reached, the request could not even be sent, the job
 * ended FAILED, the job ended CANCELLED, and the wait itself ran out of time. Aborting through an
 * AbortSignal rejects with the signal's reason, as `fetch` does.
 */
import type { Job, ProblemDetails } from './types.ts';

/** Base class of every error the client throws on its own account. */
export class AsyncJobsError extends Error {
  override readonly name: string = 'AsyncJobsError';
  /**
   * Set on what `submit` and `submitAndWait` throw: the `Idempotency-Key` the submit sent. The job may
   * exist even so (the API may have created it and its answer been lost, or it answered 503 after
   * keeping the job); submit again with this key (`idempotencyKey`) to get that job rather than a second one.
   */
  idempotencyKey: string | undefined;
}

/** The API answered with an HTTP error; `problem` is its problem details body. */
export class ApiError extends AsyncJobsError {
  override readonly name = 'ApiError';

  constructor(
    /** The HTTP status code. */
    readonly status: number,
    /** The problem details; synthesized (`type: about:blank`) when the body was not problem+json. */
    readonly problem: ProblemDetails,
    /** The response headers, e.g. `retry-after`. */
    readonly headers: Headers,
  ) {
    super(`${status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
}

/**
 * The request was never sent: it could not be made (an `Idempotency-Key` or header value HTTP does not
 * allow, credentials missing or a signature that could not be made). Nothing reached the API, so
 * nothing happened there, and sending it again as is fails the same way: it is not retried.
 * A `fetch` given to the client may throw it too, for a failure of its own before sending.
 */
export class RequestNotSentError extends AsyncJobsError {
  override readonly name = 'RequestNotSentError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The API could not be reached, did not answer within the request timeout, or its answer could not be
 * read. The request may have reached the API all the same, and been acted on.
 */
export class NetworkError extends AsyncJobsError {
  override readonly name = 'NetworkError';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** The job ended FAILED; `job.error` (also `problem`) says why. */
export class JobFailedError extends AsyncJobsError {
  override readonly name = 'JobFailedError';
  /** Why the job failed. */
  readonly problem: ProblemDetails | undefined;

  constructor(readonly job: Job) {
    super(`job ${job.id} failed${job.error ? `: ${job.error.detail ?? job.error.title}` : ''}`);
    this.problem = job.error;
  }
}

/** The job ended CANCELLED; `job.error` (also `problem`) says how, when the server recorded it. */
export class JobCancelledError extends AsyncJobsError {
  override readonly name = 'JobCancelledError';
  /** How the job was cancelled, when the server recorded it. */
  readonly problem: ProblemDetails | undefined;

  constructor(readonly job: Job) {
    super(`job ${job.id} was cancelled${job.error?.detail ? `: ${job.error.detail}` : ''}`);
    this.problem = job.error;
  }
}

/** `wait()` reached its own deadline before the job ended; the job itself may still end later. */
export class WaitTimeoutError extends AsyncJobsError {
  override readonly name = 'WaitTimeoutError';

  constructor(
    /** The job waited for; undefined when the deadline passed before a submit was answered. */
    readonly jobId: string | undefined,
    readonly timeoutMs: number,
    /** The job as last seen, if any poll answered before the deadline. */
    readonly lastJob: Job | undefined,
  ) {
    // In seconds, as the CLI's --timeout is given.
    super(`job ${jobId ?? '(not yet accepted)'} did not end within ${timeoutMs / 1000} s${lastJob ? ` (last seen ${lastJob.status})` : ''}`);
  }
}
