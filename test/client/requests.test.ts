/**
 * The client's single calls against a scripted API on a fake clock: the Idempotency-Key of
 * `submit()` and its reuse by retries, which answers are retried and which are not, and how
 * `get()`, `cancel()`, `list()` and `submitAndWait()` read the API.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { idempotencyKeySchema } from '#core/submit';
import { validate } from '#core/schema';
import { ApiError, AsyncJobsClient, NetworkError, RequestNotSentError } from '../../client/index.ts';
import { type Scripted, fakeApi, gaps, jobResource, settle } from './fake-api.ts';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const accepted: Scripted = { status: 202, body: jobResource('QUEUED'), headers: { location: '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA', 'retry-after': '1' } };
const unavailable: Scripted = {
  status: 503,
  body: { type: '/problems/service-unavailable', title: 'Service unavailable', status: 503, detail: 'retry' },
  headers: { 'retry-after': '2' },
};

function clientFor(script: readonly Scripted[]) {
  const api = fakeApi(script);
  return { api, client: new AsyncJobsClient({ baseUrl: 'http://api.test/prod/', fetch: api.fetch, random: () => 0.5 }) };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('submit() and its Idempotency-Key', () => {
  it('posts the request as JSON with a fresh random key on every call', async () => {
    // Prepare
    const { api, client } = clientFor([accepted, accepted]);
    // Act
    const job = await client.submit({ type: 'echo', input: { n: 1 } });
    await client.submit({ type: 'echo', input: { n: 1 } });
    // Assess
    expect(job).toMatchObject({ status: 'QUEUED', done: false });
    const [first, second] = api.calls;
    expect(first).toMatchObject({ method: 'POST', url: 'http://api.test/prod/jobs', body: '{"type":"echo","input":{"n":1}}' });
    expect(first?.headers.get('content-type')).toBe('application/json');
    expect(first?.headers.get('idempotency-key')).toMatch(UUID);
    expect(second?.headers.get('idempotency-key')).toMatch(UUID);
    expect(second?.headers.get('idempotency-key')).not.toBe(first?.headers.get('idempotency-key'));
  });

  it.each([
    ['a network error', new TypeError('fetch failed'), 100],
    ['a 503 with Retry-After', unavailable, 2000],
  ])('retries after %s with the same key and body, and resolves with the one job', async (_what, failure, expectedGap) => {
    // Prepare
    const { api, client } = clientFor([failure, accepted]);
    // Act
    const outcome = settle(client.submit({ type: 'echo', input: 'x' }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toEqual({ value: expect.objectContaining({ id: 'job_AAAAAAAAAAAAAAAAAAAAAA' }) });
    expect(api.calls).toHaveLength(2);
    const [first, second] = api.calls;
    expect(second?.headers.get('idempotency-key')).toBe(first?.headers.get('idempotency-key'));
    expect(second?.body).toBe(first?.body);
    // Network errors back off with full jitter (0.5 of the first 200 ms ceiling); a 503 waits its Retry-After.
    expect(gaps(api.calls)).toEqual([expectedGap]);
  });

  it('sends the caller’s own key verbatim, on every retry', async () => {
    // Prepare
    const { api, client } = clientFor([new TypeError('fetch failed'), accepted]);
    // Act
    const outcome = settle(client.submit({ type: 'echo' }, { idempotencyKey: 'order-4711' }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(api.calls.map((call) => call.headers.get('idempotency-key'))).toEqual(['order-4711', 'order-4711']);
  });

  it('gives up after 3 retries with a NetworkError, all four attempts under one key', async () => {
    // Prepare
    const { api, client } = clientFor(Array.from({ length: 4 }, () => new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })));
    // Act
    const outcome = settle(client.submit({ type: 'echo' }));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(NetworkError);
    expect(String((error as Error).message)).toContain('ECONNREFUSED');
    expect(new Set(api.calls.map((call) => call.headers.get('idempotency-key'))).size).toBe(1);
    expect(api.calls).toHaveLength(4);
  });

  it.each([
    ['a NetworkError', new TypeError('fetch failed'), NetworkError],
    ['an ApiError 503', unavailable, ApiError],
  ])('hands back the key it sent on %s, so the caller can submit the same job again, not a second one', async (_what, failure, type) => {
    // Prepare: every attempt fails (the API may still have kept the job)
    const { api, client } = clientFor([failure, failure, failure, failure, accepted]);
    const first = settle(client.submit({ type: 'echo', input: { order: 4711 } }));
    await vi.runAllTimersAsync();
    const result = await first;
    const error = 'error' in result ? result.error : undefined;

    // Act: the caller submits again with that key
    const again = settle(client.submit({ type: 'echo', input: { order: 4711 } }, { idempotencyKey: (error as ApiError).idempotencyKey }));
    await vi.runAllTimersAsync();

    // Assess
    expect(error).toBeInstanceOf(type);
    expect((error as ApiError).idempotencyKey).toMatch(UUID);
    expect(new Set(api.calls.map((call) => call.headers.get('idempotency-key')))).toEqual(new Set([(error as ApiError).idempotencyKey]));
    expect(await again).toHaveProperty('value');
  });

  it('makes its key from crypto.getRandomValues where crypto.randomUUID is missing (a page served over plain http)', async () => {
    // Prepare
    const randomUUID = globalThis.crypto.randomUUID;
    Object.defineProperty(globalThis.crypto, 'randomUUID', { value: undefined, configurable: true, writable: true });
    const { api, client } = clientFor([accepted, accepted]);
    try {
      // Act
      await client.submit({ type: 'echo' });
      await client.submit({ type: 'echo' });
    } finally {
      Object.defineProperty(globalThis.crypto, 'randomUUID', { value: randomUUID, configurable: true, writable: true });
    }
    // Assess
    const [first, second] = api.calls.map((call) => call.headers.get('idempotency-key'));
    expect(first).toMatch(UUID);
    expect(second).toMatch(UUID);
    expect(second).not.toBe(first);
  });

  it.each([
    [400, 'Invalid request'],
    [422, 'Unknown job type'],
    [500, 'Internal error'],
  ])('does not retry a %i: it throws ApiError with the problem at once', async (status, title) => {
    // Prepare
    const problem = { type: '/problems/x', title, status, detail: 'because' };
    const { api, client } = clientFor([{ status, body: problem }]);
    // Act
    const result = await settle(client.submit({ type: 'nope' }));
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status, problem, message: `${status} ${title}: because` });
    expect(api.calls).toHaveLength(1);
  });
});

describe('retry options left undefined', () => {
  it('keep their defaults: three retries, backing off from 200 ms', async () => {
    // Prepare: options read from a configuration that sets none of them
    const api = fakeApi([new TypeError('fetch failed'), new TypeError('fetch failed'), new TypeError('fetch failed'), accepted]);
    const retry = { retries: undefined, initialDelayMs: undefined, maxDelayMs: Number.NaN };
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch, random: () => 0.5, retry });
    // Act
    const outcome = settle(client.submit({ type: 'echo' }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual([100, 200, 400]);
  });
});

describe('a request that gets no answer', () => {
  /** The outcome once the clock has run `ms`, or 'pending'. */
  async function settledAfter<T>(ms: number, outcome: Promise<T>): Promise<T | 'pending'> {
    await vi.advanceTimersByTimeAsync(ms);
    return Promise.race([outcome, 'pending' as const]);
  }

  it('is given up after 30 s an attempt and, once the retries are spent, rejects with a NetworkError saying so', async () => {
    // Prepare
    const { api, client } = clientFor(['hang', 'hang', 'hang', 'hang']);
    // Act
    const result = await settledAfter(121_000, settle(client.get('job_AAAAAAAAAAAAAAAAAAAAAA')));
    // Assess: four attempts of 30 s, and the backoff between them (100, 200 and 400 ms).
    expect(api.calls.map((call) => call.at - START)).toEqual([0, 30_100, 60_300, 90_700]);
    const error = result !== 'pending' && 'error' in result ? result.error : result;
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).message).toBe('GET http://api.test/prod/jobs/job_AAAAAAAAAAAAAAAAAAAAAA got no answer within 30000 ms');
  });

  it('is retried, for a submit under the same key, and the error says the API may have acted on it', async () => {
    // Prepare
    const api = fakeApi(['hang', 'hang']);
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch, random: () => 0.5, requestTimeoutMs: 5_000, retry: { retries: 1 } });
    // Act
    const result = await settledAfter(10_200, settle(client.submit({ type: 'echo' }, { idempotencyKey: 'order-4711' })));
    // Assess
    expect(api.calls.map((call) => call.headers.get('idempotency-key'))).toEqual(['order-4711', 'order-4711']);
    expect(result).toEqual({
      error: expect.objectContaining({
        name: 'NetworkError',
        message: 'POST http://api.test/jobs got no answer within 5000 ms: the API may have received it and acted on it',
        idempotencyKey: 'order-4711',
      }),
    });
  });

  it('still rejects with the reason of the caller’s signal when that aborts first', async () => {
    // Prepare
    const { client } = clientFor(['hang']);
    const reason = new Error('the user left');
    // Act
    const result = await settledAfter(1_000, settle(client.get('job_AAAAAAAAAAAAAAAAAAAAAA', { signal: abortAfter(500, reason) })));
    // Assess
    expect(result).toEqual({ error: reason });
  });
});

/** A signal that aborts with `reason` after `ms` on the (fake) clock. */
function abortAfter(ms: number, reason: unknown): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(reason), ms);
  return controller.signal;
}

describe('a request that cannot be made', () => {
  it.each([
    ['an Idempotency-Key the API does not accept', {}, { idempotencyKey: 'ordre-é€' }, /the Idempotency-Key must be 1 to 255 printable ASCII characters/],
    ['a header value with a line break', { headers: { authorization: 'Bearer secret\nX-Injected: 1' } }, {}, /its authorization header is not a valid HTTP header/],
  ])('%s rejects with RequestNotSentError, sending nothing', async (_what, clientOptions, submitOptions, message) => {
    // Prepare
    const api = fakeApi([accepted]);
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch, ...clientOptions });
    // Act
    const result = await settle(client.submit({ type: 'echo' }, submitOptions));
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(RequestNotSentError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('secret');
    expect(api.calls).toHaveLength(0);
  });

  it('is not retried when its fetch fails before sending', async () => {
    // Prepare: a fetch (a signer's, say) that finds no credentials
    let attempts = 0;
    const fetch = async () => {
      attempts += 1;
      throw new RequestNotSentError('GET http://api.test/jobs/job_1 was not sent: no credentials');
    };
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch });
    // Act
    const result = await settle(client.get('job_1'));
    // Assess
    expect('error' in result && result.error).toBeInstanceOf(RequestNotSentError);
    expect(attempts).toBe(1);
  });
});

describe('the Idempotency-Key the client sends', () => {
  // The client is a package of its own and imports nothing from the API's code, so it keeps its own copy of the rule.
  it.each([
    ['an empty key', ''],
    ['"!"', '!'],
    ['"~"', '~'],
    ['"order-4711"', 'order-4711'],
    ['255 characters', 'k'.repeat(255)],
    ['256 characters', 'k'.repeat(256)],
    ['a space', 'order 4711'],
    ['a tab', 'order\t4711'],
    ['DEL', '\u007f'],
    ['"ordre-é"', 'ordre-é'],
    ['an emoji', 'order-😀'],
  ])('%s: sent exactly when the API accepts it', async (_, key) => {
    // Prepare
    const api = fakeApi([accepted]);
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch });
    const apiAccepts = validate(idempotencyKeySchema, key).length === 0;
    // Act
    const result = await settle(client.submit({ type: 'echo' }, { idempotencyKey: key }));
    // Assess
    expect(api.calls).toHaveLength(apiAccepts ? 1 : 0);
    expect('error' in result && result.error instanceof RequestNotSentError).toBe(!apiAccepts);
  });
});

describe('a busy answer’s Retry-After', () => {
  it.each([
    ['delta-seconds', '86400'],
    ['an HTTP date a month ahead', new Date(START + 30 * 86_400_000).toUTCString()],
  ])('does not sit out a Retry-After longer than a minute (%s): it rejects at once with the ApiError', async (_what, retryAfter) => {
    // Prepare
    const { api, client } = clientFor([{ status: 429, body: { type: 'about:blank', title: 'Too Many Requests', status: 429 }, headers: { 'retry-after': retryAfter } }]);
    // Act
    const outcome = settle(client.get('job_AAAAAAAAAAAAAAAAAAAAAA'));
    await vi.advanceTimersByTimeAsync(0);
    const result = await outcome;
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 429 });
    expect((error as ApiError).headers.get('retry-after')).toBe(retryAfter);
    expect(api.calls).toHaveLength(1);
  });

  it('waits out a longer Retry-After when told it may', async () => {
    // Prepare
    const api = fakeApi([{ status: 503, body: { type: 'x', title: 'busy', status: 503 }, headers: { 'retry-after': '120' } }, accepted]);
    const client = new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch, retry: { maxRetryAfterMs: 300_000 } });
    // Act
    const outcome = settle(client.submit({ type: 'echo' }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual([120_000]);
  });
});

describe('get()', () => {
  it('reads the job, whether the answer is 202 or 200', async () => {
    // Prepare
    const { api, client } = clientFor([
      { status: 202, body: jobResource('RUNNING'), headers: { 'retry-after': '1' } },
      { status: 200, body: jobResource('FAILED', { error: { type: '/problems/job-failed', title: 'Job failed', status: 500 } }) },
    ]);
    // Act
    const running = await client.get('job_AAAAAAAAAAAAAAAAAAAAAA');
    const failed = await client.get('job_AAAAAAAAAAAAAAAAAAAAAA');
    // Assess: a FAILED job is an answer, not an error, for get().
    expect(running).toMatchObject({ status: 'RUNNING', done: false });
    expect(failed).toMatchObject({ status: 'FAILED', done: true, error: { title: 'Job failed' } });
    expect(api.calls[0]).toMatchObject({ method: 'GET', url: 'http://api.test/prod/jobs/job_AAAAAAAAAAAAAAAAAAAAAA' });
  });

  it('turns an answer that is not problem+json into an about:blank problem', async () => {
    // Prepare: what API Gateway itself answers for an unknown route.
    const { client } = clientFor([{ status: 404, body: { message: 'Not Found' } }]);
    // Act
    const result = await settle(client.get('job_x'));
    // Assess
    expect('error' in result && result.error).toMatchObject({ status: 404, problem: { type: 'about:blank', title: 'Not Found', status: 404 } });
  });

  it('turns an error page that is not JSON (a proxy’s HTML 502) into an ApiError with its status, after the retries', async () => {
    // Prepare
    const badGateway: Scripted = { status: 502, html: '<html><h1>502 Bad Gateway</h1></html>' };
    const { api, client } = clientFor([badGateway, badGateway, badGateway, badGateway]);
    // Act
    const outcome = settle(client.get('job_x'));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 502, problem: { type: 'about:blank', status: 502 } });
    expect(api.calls).toHaveLength(4);
  });

  it('escapes the id into the path', async () => {
    // Prepare
    const { api, client } = clientFor([{ status: 200, body: jobResource('SUCCEEDED') }]);
    // Act
    await client.get('../admin?x=1');
    // Assess
    expect(api.calls[0]?.url).toBe('http://api.test/prod/jobs/..%2Fadmin%3Fx%3D1');
  });
});

describe('cancel()', () => {
  it('sends DELETE to the job and returns the job as the API answers it', async () => {
    // Prepare
    const { api, client } = clientFor([{ status: 200, body: jobResource('CANCELLED') }]);
    // Act
    const job = await client.cancel('job_AAAAAAAAAAAAAAAAAAAAAA');
    // Assess
    expect(job.status).toBe('CANCELLED');
    expect(api.calls[0]).toMatchObject({ method: 'DELETE', url: 'http://api.test/prod/jobs/job_AAAAAAAAAAAAAAAAAAAAAA' });
  });
});

describe('cancel() retried after its answer was lost', () => {
  const finished = { type: '/problems/job-already-finished', title: 'Job already finished', status: 409, detail: 'ended' };

  it('resolves with the job when the retry finds it CANCELLED (the first DELETE did it)', async () => {
    // Prepare
    const { api, client } = clientFor([new TypeError('fetch failed'), { status: 409, body: finished }, { status: 200, body: jobResource('CANCELLED') }]);
    // Act
    const outcome = settle(client.cancel('job_AAAAAAAAAAAAAAAAAAAAAA'));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toMatchObject({ value: { status: 'CANCELLED' } });
    expect(api.calls.map((call) => call.method)).toEqual(['DELETE', 'DELETE', 'GET']);
  });

  it('still rejects with ApiError 409 for a job that ended otherwise', async () => {
    // Prepare
    const { client } = clientFor([{ status: 409, body: finished }, { status: 200, body: jobResource('SUCCEEDED') }]);
    // Act
    const result = await settle(client.cancel('job_AAAAAAAAAAAAAAAAAAAAAA'));
    // Assess
    expect('error' in result && result.error).toMatchObject({ status: 409, problem: finished });
  });
});

describe('list()', () => {
  it('yields one page per request, following nextCursor until the last page', async () => {
    // Prepare
    const { api, client } = clientFor([
      { status: 200, body: { jobs: [jobResource('QUEUED', { id: 'job_1' }), jobResource('QUEUED', { id: 'job_2' })], nextCursor: 'c/1+' } },
      { status: 200, body: { jobs: [jobResource('QUEUED', { id: 'job_3' })] } },
    ]);
    // Act
    const pages = [];
    for await (const page of client.list({ status: 'QUEUED', limit: 2 })) pages.push(page.jobs.map((job) => job.id));
    // Assess
    expect(pages).toEqual([['job_1', 'job_2'], ['job_3']]);
    expect(api.calls.map((call) => call.url)).toEqual([
      'http://api.test/prod/jobs?status=QUEUED&limit=2',
      'http://api.test/prod/jobs?status=QUEUED&limit=2&cursor=c%2F1%2B',
    ]);
  });

  it('stops requesting when the caller stops iterating', async () => {
    // Prepare
    const { api, client } = clientFor([{ status: 200, body: { jobs: [jobResource('QUEUED')], nextCursor: 'more' } }]);
    // Act
    for await (const _page of client.list()) break;
    // Assess
    expect(api.calls).toHaveLength(1);
    expect(api.calls[0]?.url).toBe('http://api.test/prod/jobs');
  });
});

describe('submitAndWait()', () => {
  it('waits the Retry-After of the submit before the first poll, and resolves with the final job', async () => {
    // Prepare
    const { api, client } = clientFor([accepted, { status: 200, body: jobResource('SUCCEEDED', { result: 42 }) }]);
    // Act
    const outcome = settle(client.submitAndWait({ type: 'echo', input: 42 }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toEqual({ value: expect.objectContaining({ status: 'SUCCEEDED', result: 42 }) });
    expect(api.calls.map((call) => call.method)).toEqual(['POST', 'GET']);
    expect(gaps(api.calls)).toEqual([1000]);
  });

  it('counts the submit against timeoutMs', async () => {
    // Prepare: the submit itself hangs.
    const { client } = clientFor(['hang']);
    // Act
    const outcome = settle(client.submitAndWait({ type: 'echo' }, { timeoutMs: 3000 }));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    expect(Date.now() - START).toBe(3000);
    expect('error' in result && result.error).toMatchObject({ name: 'WaitTimeoutError', jobId: undefined, lastJob: undefined, idempotencyKey: expect.stringMatching(UUID) });
  });
});
