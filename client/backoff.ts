/**
 * Timing helpers of the client: backoff with full jitter, `Retry-After`, an abortable sleep, a deadline
 * of any length, and the merging of timing options with their defaults.
 */

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
 * `defaults`, with each option of `options` that is set in its place. An option given as `undefined`
 * (`{ maxDelayMs: config.maxDelayMs }` with nothing configured) keeps its default, as does a number
 * that is NaN or below 0: spread over the defaults, either would turn every delay into NaN, which a
 * timer takes as no delay at all.
 */
export function withDefaults<T extends object>(defaults: T, options: Partial<T> | undefined): T {
  const merged = { ...defaults } as Record<string, unknown>;
  for (const [name, value] of Object.entries(options ?? {})) {
    if (value === undefined || (typeof value === 'number' && !(value >= 0))) continue;
    merged[name] = value;
  }
  return merged as T;
}

/** `delayMs` when it is a finite number of at least 0, else `fallbackMs`: a delay of NaN would be no delay at all. */
export function finiteDelay(delayMs: number, fallbackMs: number): number {
  return Number.isFinite(delayMs) && delayMs >= 0 ? delayMs : fallbackMs;
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

/**
 * Calls `onDeadline` once `ms` have passed, however many that is: a timer can wait at most about 24.8
 * days, so a longer deadline is kept as a point in time and its timer armed again, in steps of at most
 * that, until the point is reached. Returns what cancels it.
 */
export function startDeadline(ms: number, onDeadline: () => void): () => void {
  const deadline = Date.now() + ms;
  const step = (remaining: number) => (remaining > 0 ? Math.min(remaining, MAX_TIMER_MS) : 0);
  const check = () => {
    const remaining = deadline - Date.now();
    if (remaining > 0) timer = setTimeout(check, step(remaining));
    else onDeadline();
  };
  let timer = setTimeout(check, step(ms));
  return () => clearTimeout(timer);
}

/** A signal tied to a caller's signal and a deadline; see {@link deadlineSignal}. */
export interface DeadlineSignal {
  readonly signal: AbortSignal;
  /** Whether it aborted because the deadline passed. */
  timedOut(): boolean;
  /** Stops the deadline and lets go of the caller's signal: call it once the work is done. */
  release(): void;
}

/**
 * A signal that aborts when `outer` does (with its reason), or once `timeoutMs` passed (with
 * `reason()`, by default an AbortError), whichever comes first: what `AbortSignal.any` with
 * `AbortSignal.timeout` does, by hand, so that it works where those do not exist, lets go of `outer`
 * on `release`, and holds a deadline longer than a timer can (see {@link startDeadline}).
 */
export function deadlineSignal(outer: AbortSignal | undefined, timeoutMs: number | undefined, reason?: () => unknown): DeadlineSignal {
  const controller = new AbortController();
  if (outer?.aborted) controller.abort(outer.reason);
  const onAbort = () => controller.abort(outer?.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  let timedOut = false;
  const stop =
    timeoutMs === undefined
      ? undefined
      : startDeadline(timeoutMs, () => {
          timedOut = true;
          controller.abort(reason?.());
        });
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    release: () => {
      stop?.();
      outer?.removeEventListener('abort', onAbort);
    },
  };
}

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
