/**
 * `AsyncJobsClient`: the API over `fetch`, for Node 20+ and browsers (no Node-only imports here).
 * It treats `202` as "accepted, not done", waits the way the server asks (`Retry-After`), and
 * retries a submit with the same `Idempotency-Key` so a retry never creates a second job.
 */
import { type BackoffOptions, deadlineSignal, finiteDelay, fullJitterDelay, parseRetryAfter, sleep, withDefaults } from './backoff.ts';
import { ApiError, AsyncJobsError, JobCancelledError, JobFailedError, NetworkError, RequestNotSentError, WaitTimeoutError } from './errors.ts';
import { FINAL_STATUSES, type Job, type JobPage, type JobStatus, type ProblemDetails, type Progress, type SubmitRequest } from './types.ts';

/** The part of `fetch` the client uses; `globalThis.fetch` fits, and so does a test double. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Retries of one request after a network error or a `429`, `502`, `503` or `504`. */
export interface RetryOptions extends Partial<BackoffOptions> {
  /** Retries after the first attempt. @default 3 */
  readonly retries?: number;
  /**
   * The longest `Retry-After` a retry (or a failed poll of a wait) waits out. A busy answer asking for
   * longer is not retried: it rejects at once with its {@link ApiError}, whose `retry-after` header says when
   * the API expects the caller back. @default 60 000 (one minute)
   */
  readonly maxRetryAfterMs?: number;
}

/** Options of {@link AsyncJobsClient}. */
export interface AsyncJobsClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` or an HTTP API stage URL. */
  readonly baseUrl: string;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
  /** Extra headers for every request (e.g. `authorization`); a function is called before each request. @default none */
  readonly headers?: HeadersInit | (() => HeadersInit | Promise<HeadersInit>);
  /** Retries of one request when the API is unreachable or busy. @default 3 retries, 200 ms to 5 s, full jitter */
  readonly retry?: RetryOptions;
  /**
   * How long one attempt of a request may take, answer included; past it, the attempt is given up and
   * retried as a network error is (a submit under the same `Idempotency-Key`). Bound a whole call with
   * its `signal` (`AbortSignal.timeout(ms)`), or a wait with `timeoutMs`. @default 30 000 (API
   * Gateway answers every request within 30 s)
   */
  readonly requestTimeoutMs?: number;
  /** Source of randomness for jitter, in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/** Options of {@link AsyncJobsClient.submit}. */
export interface SubmitOptions {
  /**
   * Sent as `Idempotency-Key`. @default a new random UUID per call, reused by that call's retries; an
   * error of the call carries it as `idempotencyKey`. Pass your own when the call may be aborted (an
   * abort rejects with your signal's reason, which cannot carry it) and you may want to submit again.
   * It must be 1 to 255 printable ASCII characters, no spaces (what the API accepts); another rejects
   * with {@link RequestNotSentError} before anything is sent.
   */
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

/** Options of {@link AsyncJobsClient.wait}. */
export interface WaitOptions {
  /** Overall deadline of the wait, in milliseconds; past it, {@link WaitTimeoutError}. @default no deadline */
  readonly timeoutMs?: number;
  /** Aborts the wait; it then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called with the job's progress each time it changes (including the first progress seen). */
  readonly onProgress?: (progress: Progress, job: Job) => void;
  /** Called with the job after every answer, e.g. to show its status. */
  readonly onPoll?: (job: Job) => void;
  /** Backoff between polls when the server sends no `Retry-After`. @default 1 s to 30 s, full jitter */
  readonly pollInterval?: Partial<BackoffOptions>;
}

/** Options of {@link AsyncJobsClient.list}. */
export interface ListOptions {
  /** Only jobs in this status. @default all */
  readonly status?: JobStatus;
  /** Page size. @default the server's */
  readonly limit?: number;
  /** Start from this page (a `nextCursor` seen earlier). @default the first page */
  readonly cursor?: string;
  readonly signal?: AbortSignal;
}

/** Options of a single request. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/** A job together with the delay the server asked for before the next poll. */
interface Answer {
  readonly job: Job;
  readonly retryAfterMs: number | undefined;
}

interface RawRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal | undefined;
}

interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

/** Statuses that mean "busy or briefly unreachable": retrying the same request is the right answer. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

const DEFAULT_RETRY: Required<RetryOptions> = { retries: 3, initialDelayMs: 200, maxDelayMs: 5_000, maxRetryAfterMs: 60_000 };
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_INTERVAL: BackoffOptions = { initialDelayMs: 1_000, maxDelayMs: 30_000 };
/** The shortest wait between two polls. */
const MIN_POLL_DELAY_MS = 100;
/** Polls in a row that may fail during a wait without a deadline before the wait gives up. */
const MAX_FAILED_POLLS_WITHOUT_DEADLINE = 5;

/** What the API accepts as an `Idempotency-Key`: 1 to 255 printable ASCII characters, no spaces. */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** A typed client of the async jobs API. */
export class AsyncJobsClient {
  readonly #baseUrl: string;
  readonly #fetch: FetchLike;
  readonly #headers: AsyncJobsClientOptions['headers'];
  readonly #retry: Required<RetryOptions>;
  readonly #requestTimeoutMs: number;
  readonly #random: () => number;

  constructor(options: AsyncJobsClientOptions) {
    this.#baseUrl = options.baseUrl.replace(/\/+$/, '');
    // Called through a closure: browsers reject `fetch` called as a method of another object.
    this.#fetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
    this.#headers = options.headers;
    this.#retry = withDefaults(DEFAULT_RETRY, options.retry);
    const { requestTimeoutMs } = options;
    // Not NaN, nor 0 (every attempt cut at once): those keep the default, as an undefined does.
    this.#requestTimeoutMs = requestTimeoutMs !== undefined && requestTimeoutMs > 0 ? requestTimeoutMs : DEFAULT_REQUEST_TIMEOUT_MS;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Submits a job. Resolves with the accepted job: accepted, not done (`QUEUED`; a repeat of a keyed
   * submit resolves with the job as it is now). Retries after a network error or a busy answer reuse the
   * same `Idempotency-Key` and body, so the server creates at most one job; when the call still fails,
   * its error carries that key as `idempotencyKey`, for a later submit of the same job.
   */
  async submit(request: SubmitRequest, options: SubmitOptions = {}): Promise<Job> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    return (await withKey(idempotencyKey, this.#submit(request, idempotencyKey, options.signal))).job;
  }

  /** The job as it is now: `QUEUED` or `RUNNING` while it runs, or its final state. */
  async get(id: string, options: RequestOptions = {}): Promise<Job> {
    return (await this.#read(id, options.signal)).job;
  }

  /**
   * Polls the job until it ends, following `Retry-After` (or backing off with full jitter when the
   * server sends none). Resolves with the job when it SUCCEEDED; rejects with
   * {@link JobFailedError} or {@link JobCancelledError} when it ended otherwise,
   * {@link WaitTimeoutError} when `timeoutMs` passed first, {@link ApiError} or {@link NetworkError}
   * when the API answered an error or could not be reached, or the signal's reason when aborted.
   */
  wait(id: string, options: WaitOptions = {}): Promise<Job> {
    return this.#withDeadline(id, options, (signal, seen) => this.#pollUntilDone(id, undefined, options, signal, seen));
  }

  /** Submits a job and waits for it; `timeoutMs` covers both. See {@link submit} and {@link wait}. */
  submitAndWait(request: SubmitRequest, options: SubmitOptions & WaitOptions = {}): Promise<Job> {
    const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
    return withKey(
      idempotencyKey,
      this.#withDeadline(undefined, options, async (signal, seen) => {
        const accepted = await this.#submit(request, idempotencyKey, signal);
        return this.#pollUntilDone(accepted.job.id, accepted, options, signal, seen);
      }),
    );
  }

  /**
   * Cancels a job: a `QUEUED` job is `CANCELLED` at once; a `RUNNING` one is asked to stop and
   * ends `CANCELLED` when its processor notices. A job already `CANCELLED` resolves with it (so a
   * cancel retried after its answer was lost still succeeds); one that ended otherwise rejects with
   * an `ApiError` 409.
   */
  async cancel(id: string, options: RequestOptions = {}): Promise<Job> {
    try {
      const response = await this.#request({ method: 'DELETE', path: `/jobs/${encodeURIComponent(id)}`, signal: options.signal });
      return toJob(response.body);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 409) throw error;
      const { job } = await this.#read(id, options.signal);
      if (job.status === 'CANCELLED') return job;
      throw error;
    }
  }

  /** The caller's jobs, newest first, one page at a time, following `nextCursor` to the end. */
  async *list(options: ListOptions = {}): AsyncGenerator<JobPage, void, undefined> {
    let cursor = options.cursor;
    do {
      const query = new URLSearchParams();
      if (options.status) query.set('status', options.status);
      if (options.limit !== undefined) query.set('limit', String(options.limit));
      if (cursor) query.set('cursor', cursor);
      const search = query.toString() ? `?${query}` : '';
      const response = await this.#request({ method: 'GET', path: `/jobs${search}`, signal: options.signal });
      const page = toPage(response.body);
      yield page;
      cursor = page.nextCursor;
    } while (cursor);
  }

  async #submit(request: SubmitRequest, idempotencyKey: string, signal: AbortSignal | undefined): Promise<Answer> {
    if (!IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new RequestNotSentError(
        `the submit was not sent: the Idempotency-Key must be 1 to 255 printable ASCII characters without spaces, got ${JSON.stringify(idempotencyKey)}`,
      );
    }
    const response = await this.#request(
      {
        method: 'POST',
        path: '/jobs',
        headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
        // Serialized once: every retry sends the same bytes, so the server sees the same fingerprint.
        body: JSON.stringify(request),
        signal,
      },
    );
    return { job: toJob(response.body), retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
  }

  async #read(id: string, signal: AbortSignal | undefined): Promise<Answer> {
    const response = await this.#request({ method: 'GET', path: `/jobs/${encodeURIComponent(id)}`, signal });
    return { job: toJob(response.body), retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) };
  }

  async #pollUntilDone(
    id: string,
    first: Answer | undefined,
    options: WaitOptions,
    signal: AbortSignal,
    seen: (job: Job) => void,
  ): Promise<Job> {
    const interval = withDefaults(DEFAULT_POLL_INTERVAL, options.pollInterval);
    // A NaN delay (a `random` gone wrong) would be no pause at all: it becomes the default's first.
    const backoff = (attempt: number) => finiteDelay(fullJitterDelay(attempt, interval, this.#random), DEFAULT_POLL_INTERVAL.initialDelayMs);
    let backoffAttempt = 0;
    let lastProgress: string | undefined;
    // A poll that fails for a while (the API unreachable or busy) is tried again later, up to the
    // deadline: a wait of a minute must not end on a second of trouble. Without a deadline, a few times.
    const poll = async (): Promise<Answer> => {
      for (let failures = 0; ; failures += 1) {
        try {
          return await this.#read(id, signal);
        } catch (error) {
          const transient = error instanceof NetworkError || (error instanceof ApiError && (error.status >= 500 || RETRYABLE_STATUSES.has(error.status)));
          if (signal.aborted || !transient || (options.timeoutMs === undefined && failures >= MAX_FAILED_POLLS_WITHOUT_DEADLINE)) throw error;
          const retryAfter = error instanceof ApiError ? parseRetryAfter(error.headers.get('retry-after')) : undefined;
          if (retryAfter !== undefined && retryAfter > this.#retry.maxRetryAfterMs) throw error;
          await sleep(Math.max(MIN_POLL_DELAY_MS, retryAfter ?? backoff(failures)), signal);
        }
      }
    };
    let answer = first ?? (await poll());
    for (;;) {
      const { job } = answer;
      seen(job);
      options.onPoll?.(job);
      const progressKey = job.progress && progressSignature(job.progress);
      if (job.progress && progressKey !== lastProgress) {
        lastProgress = progressKey;
        options.onProgress?.(job.progress, job);
      }
      if (isDone(job)) return settle(job);
      // Never a tight loop, whatever Retry-After says (0 would mean at once).
      const delay = Math.max(MIN_POLL_DELAY_MS, answer.retryAfterMs || backoff(backoffAttempt++));
      await sleep(delay, signal);
      answer = await poll();
    }
  }

  /**
   * Runs `body` under the wait's deadline and the caller's signal: either one aborts whatever is
   * in flight (a request or a sleep). A deadline becomes a WaitTimeoutError, an abort the
   * signal's reason.
   */
  async #withDeadline(
    jobId: string | undefined,
    options: WaitOptions,
    body: (signal: AbortSignal, seen: (job: Job) => void) => Promise<Job>,
  ): Promise<Job> {
    const outer = options.signal;
    if (outer?.aborted) throw outer.reason;
    const linked = deadlineSignal(outer, options.timeoutMs);
    let lastJob: Job | undefined;
    try {
      return await body(linked.signal, (job) => {
        lastJob = job;
      });
    } catch (error) {
      if (linked.timedOut() && options.timeoutMs !== undefined) throw new WaitTimeoutError(lastJob?.id ?? jobId, options.timeoutMs, lastJob);
      if (outer?.aborted) throw outer.reason;
      throw error;
    } finally {
      linked.release();
    }
  }

  /**
   * One API call, retried after a network error, an attempt that got no answer within the request
   * timeout, or a busy answer: waiting `Retry-After` when the server sent it, else backing off with full
   * jitter. Only what is safe to send twice is retried: GET and DELETE are idempotent, and a POST
   * carries an Idempotency-Key. A request that could not be made is thrown at once: nothing was sent.
   */
  async #request(request: RawRequest): Promise<RawResponse> {
    const url = `${this.#baseUrl}${request.path}`;
    const { signal } = request;
    const safeToRepeat = request.method !== 'POST' || request.headers?.['idempotency-key'] !== undefined;
    for (let attempt = 0; ; attempt += 1) {
      if (signal?.aborted) throw signal.reason;
      const canRetry = safeToRepeat && attempt < this.#retry.retries;
      const headers = headersOf(request.method, url, [
        typeof this.#headers === 'function' ? await this.#headers() : this.#headers,
        { accept: 'application/json, application/problem+json' },
        request.headers,
      ]);
      const sent = await this.#attempt(url, request, headers);
      if ('error' in sent) {
        const { error } = sent;
        if (signal?.aborted) throw signal.reason;
        // Signing, credentials…: it failed before sending, and would fail the same way again.
        if (error instanceof RequestNotSentError) throw error;
        if (canRetry) {
          await sleep(this.#retryDelay(attempt), signal);
          continue;
        }
        if (sent.timedOut) {
          // Unlike a refused connection, a request without an answer may well have been received and acted on.
          const maybe = request.method === 'GET' ? '' : ': the API may have received it and acted on it';
          throw new NetworkError(`${request.method} ${url} got no answer within ${this.#requestTimeoutMs} ms${maybe}`, { cause: error });
        }
        // fetch says only "fetch failed"; the reason (ECONNREFUSED, a DNS error...) is its cause.
        const reason = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : String(error);
        throw new NetworkError(`${request.method} ${url} failed: ${reason}`, { cause: error });
      }
      const { response, text } = sent;
      const retryAfter = response.ok ? undefined : parseRetryAfter(response.headers.get('retry-after'));
      // A busy answer is retried unless it asks for a longer wait than the caller allows (a day, say).
      if (!response.ok && canRetry && RETRYABLE_STATUSES.has(response.status) && !(retryAfter !== undefined && retryAfter > this.#retry.maxRetryAfterMs)) {
        await sleep(retryAfter ?? this.#retryDelay(attempt), signal);
        continue;
      }
      // An error answer need not be JSON (a proxy's HTML 502): it is still an ApiError with its status.
      if (!response.ok) throw new ApiError(response.status, toProblem(parseBodyOrUndefined(text), response.status, response.statusText), response.headers);
      const body = parseBody(text, url);
      return { status: response.status, headers: response.headers, body };
    }
  }

  /**
   * One attempt of a request: its answer, body read; or what it failed with, and whether that was its
   * own timeout. Its signal aborts with the caller's or when the timeout passes, whichever comes first.
   */
  async #attempt(url: string, request: RawRequest, headers: Headers): Promise<{ response: Response; text: string } | { error: unknown; timedOut: boolean }> {
    const { signal } = request;
    if (signal?.aborted) return { error: signal.reason, timedOut: false };
    const linked = deadlineSignal(signal, this.#requestTimeoutMs, () => new DOMException(`no answer within ${this.#requestTimeoutMs} ms`, 'TimeoutError'));
    try {
      const response = await this.#fetch(url, {
        method: request.method,
        headers,
        ...(request.body !== undefined && { body: request.body }),
        signal: linked.signal,
      });
      return { response, text: await response.text() };
    } catch (error) {
      return { error, timedOut: linked.timedOut() };
    } finally {
      linked.release();
    }
  }

  /** The pause before retry number `attempt`; a NaN one (a `random` gone wrong) becomes the default's first. */
  #retryDelay(attempt: number): number {
    return finiteDelay(fullJitterDelay(attempt, this.#retry, this.#random), DEFAULT_RETRY.initialDelayMs);
  }
}

/**
 * The headers of a request, from `sources` in order (a later one wins). A value HTTP does not allow (a
 * line break, a character beyond Latin-1) is a RequestNotSentError naming the header, not its value
 * (a token, say), rather than the TypeError of `Headers`.
 */
function headersOf(method: string, url: string, sources: readonly (HeadersInit | Readonly<Record<string, string>> | undefined)[]): Headers {
  const headers = new Headers();
  for (const source of sources) {
    const entries = source === undefined ? [] : source instanceof Headers || Array.isArray(source) ? source : Object.entries(source);
    for (const [name, value] of entries as Iterable<readonly [string, string]>) {
      try {
        headers.set(name, value);
      } catch {
        // Without the TypeError as its cause: that names the value, which may be a secret.
        throw new RequestNotSentError(`${method} ${url} was not sent: its ${name} header is not a valid HTTP header (a line break in its value?)`);
      }
    }
  }
  return headers;
}

/** Gives what `call` throws on the client's own account the submit's Idempotency-Key. */
async function withKey<T>(idempotencyKey: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof AsyncJobsError) error.idempotencyKey ??= idempotencyKey;
    throw error;
  }
}

/**
 * A random UUID (version 4). `crypto.randomUUID` exists only in secure contexts (https, localhost): a page
 * served over plain http elsewhere has `crypto.getRandomValues` alone, which makes the same.
 */
export function newIdempotencyKey(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function parseBodyOrUndefined(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseBody(text: string, url: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new NetworkError(`${url} answered with a body that is not JSON`, { cause: error });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The problem details of an error answer. An answer that is not problem+json (a gateway's own
 * `{"message":"Not Found"}`, an HTML page) becomes an `about:blank` problem, as RFC 9457 advises.
 */
function toProblem(body: unknown, status: number, statusText: string): ProblemDetails {
  if (isRecord(body) && typeof body.title === 'string') {
    return { ...body, type: typeof body.type === 'string' ? body.type : 'about:blank', title: body.title, status };
  }
  const message = isRecord(body) && typeof body.message === 'string' ? body.message : undefined;
  return { type: 'about:blank', title: message ?? (statusText || `HTTP ${status}`), status };
}

const JOB_STATUSES: ReadonlySet<string> = new Set<JobStatus>(['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED']);

function isJob(value: unknown): value is Job {
  return isRecord(value) && typeof value.id === 'string' && typeof value.status === 'string' && JOB_STATUSES.has(value.status);
}

function toJob(body: unknown): Job {
  if (!isJob(body)) throw new NetworkError('the API answered with something that is not a job resource');
  return body;
}

function toPage(body: unknown): JobPage {
  if (!isRecord(body) || !Array.isArray(body.jobs) || !body.jobs.every(isJob)) {
    throw new NetworkError('the API answered with something that is not a page of jobs');
  }
  const nextCursor = typeof body.nextCursor === 'string' && body.nextCursor !== '' ? body.nextCursor : undefined;
  return { jobs: body.jobs, ...(nextCursor !== undefined && { nextCursor }) };
}

function isDone(job: Job): boolean {
  return job.done || FINAL_STATUSES.includes(job.status);
}

/** The job when it SUCCEEDED; the matching error when it ended otherwise. */
function settle(job: Job): Job {
  if (job.status === 'FAILED') throw new JobFailedError(job);
  if (job.status === 'CANCELLED') throw new JobCancelledError(job);
  return job;
}

function progressSignature(progress: Progress): string {
  return JSON.stringify([progress.completed, progress.total, progress.percent, progress.message]);
}
