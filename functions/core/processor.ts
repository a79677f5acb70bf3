/** The contract between the worker and the code that does a job's work. */

/** What a processor gets besides its input. */
export interface ProcessorContext {
  readonly jobId: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /**
   * Fires when the job must stop: its owner cancelled it, it ran out of time, or the worker is about to be
   * stopped. Check it in loops, or pass it on (to `fetch`, to timers); a processor that ignores it is
   * abandoned at that point anyway.
   */
  readonly signal: AbortSignal;
  /** Reports progress; cheap to call often, the worker writes it at most once per interval. */
  progress(completed: number, total?: number, message?: string): void;
}

/** Does the work of one job type; the returned value (JSON) becomes the job's `result`. */
export type Processor = (input: unknown, context: ProcessorContext) => Promise<unknown>;

/** Thrown by a processor when retrying cannot help (bad input, a business rule): the job ends FAILED. */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetryableError';
  }
}

/**
 * Thrown by a processor when trying again later may succeed (a throttled or unavailable dependency):
 * the job goes back to QUEUED and runs again after a backoff, up to the configured attempts.
 * Any other error ends the job FAILED at once.
 */
export class RetryableError extends Error {
  constructor(
    message: string,
    /** Wait at least this long before the next attempt (e.g. from a dependency's Retry-After), up to 11.5 hours. */
    readonly retryAfterSeconds?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'RetryableError';
  }
}
