/** Timing helpers of the client: backoff with full jitter, `Retry-After`, and an abortable sleep. */

/** Bounds of an exponential backoff. */
export interface BackoffOptions {
  /** Ceiling of the first delay. */
  readonly initialDelayMs: number;
  /** No delay exceeds this. */
  readonly maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (0-based): a uniformly random time between 0 and
 * `min(maxDelayMs, initialDelayMs * 2^attempt)` ("full jitter"), so that many clients that failed
 * together do not come back together.
 */
export function fullJitterDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  // An HTTP date names its month or weekday; anything else (`1.5`, say) is unreadable, not a date in 2001.
  if (!/[A-Za-z]{3}/.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The longest delay a timer takes: a longer one would fire at once (Node warns and uses 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms` (at most about 24.8 days), or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.min(ms, MAX_TIMER_MS));
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
