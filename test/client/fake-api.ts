/**
 * A scripted stand-in for `fetch`: it answers each call with the next scripted answer and records
 * what the client sent and when (by the clock, which tests fake).
 */
import type { FetchLike, Job, JobStatus, Progress } from '../../client/index.ts';

/** One scripted answer: an HTTP response, an error to reject with, or a request that never answers. */
export type Scripted =
  | { readonly status: number; readonly body?: unknown; readonly headers?: Readonly<Record<string, string>>; readonly html?: string }
  | Error
  | 'hang';

/** A call the client made. */
export interface RecordedCall {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  readonly body: string | undefined;
  /** `Date.now()` when the call was made. */
  readonly at: number;
}

export interface FakeApi {
  readonly fetch: FetchLike;
  readonly calls: RecordedCall[];
}

/** A fetch that answers with `script`, in order; a call past its end fails the test. */
export function fakeApi(script: readonly Scripted[]): FakeApi {
  const calls: RecordedCall[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({
      method: init.method ?? 'GET',
      url,
      headers: new Headers(init.headers),
      body: typeof init.body === 'string' ? init.body : undefined,
      at: Date.now(),
    });
    const answer = script[calls.length - 1];
    if (answer === undefined) throw new Error(`unexpected call ${calls.length}: ${init.method} ${url}`);
    if (answer instanceof Error) throw answer;
    if (answer === 'hang') {
      return new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
      });
    }
    if (answer.html !== undefined) return new Response(answer.html, { status: answer.status, headers: { 'content-type': 'text/html', ...answer.headers } });
    const problem = answer.status >= 400 && typeof answer.body === 'object' && answer.body !== null && 'title' in answer.body;
    return new Response(answer.body === undefined ? null : JSON.stringify(answer.body), {
      status: answer.status,
      headers: { 'content-type': problem ? 'application/problem+json' : 'application/json', ...answer.headers },
    });
  };
  return { fetch, calls };
}

/** A job resource as the API returns it. */
export function jobResource(status: JobStatus, extra: { progress?: Progress; result?: unknown; error?: Job['error']; id?: string } = {}): Job {
  const id = extra.id ?? 'job_AAAAAAAAAAAAAAAAAAAAAA';
  const done = status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
  return {
    id,
    type: 'sleep',
    status,
    done,
    ...(extra.progress && { progress: extra.progress }),
    ...(extra.result !== undefined && { result: extra.result }),
    ...(extra.error && { error: extra.error }),
    attempts: status === 'QUEUED' ? 0 : 1,
    timeoutSeconds: 60,
    createdAt: '2026-01-01T00:00:00.000Z',
    links: { self: `/jobs/${id}` },
  };
}

/** `202` with `Retry-After`, as `GET /jobs/{id}` answers while a job runs. */
export function pending(status: 'QUEUED' | 'RUNNING', retryAfter: string | undefined, progress?: Progress): Scripted {
  return {
    status: 202,
    body: jobResource(status, progress ? { progress } : {}),
    ...(retryAfter !== undefined && { headers: { 'retry-after': retryAfter } }),
  };
}

/** Gaps between consecutive calls, in milliseconds. */
export function gaps(calls: readonly RecordedCall[]): number[] {
  return calls.slice(1).map((call, index) => call.at - (calls[index]?.at ?? 0));
}

/** Settles a promise into a value or the error it rejected with, so a test can run timers first. */
export function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
