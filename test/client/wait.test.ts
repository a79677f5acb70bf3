/**
 * `wait()` against a scripted API on a fake clock: when it polls (Retry-After, else backoff with
 * full jitter and a cap), when it gives up (its deadline, an abort), what it reports (progress),
 * and how each ending surfaces (the job, or a typed error with the problem).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  ApiError,
  AsyncJobsClient,
  JobCancelledError,
  JobFailedError,
  NetworkError,
  type Progress,
  WaitTimeoutError,
} from '../../client/index.ts';
import { type Scripted, fakeApi, gaps, jobResource, pending, settle } from './fake-api.ts';

const START = Date.UTC(2026, 0, 1, 12, 0, 0);
const ID = 'job_AAAAAAAAAAAAAAAAAAAAAA';
const succeeded: Scripted = { status: 200, body: jobResource('SUCCEEDED', { result: { ok: true } }) };

function clientFor(script: readonly Scripted[], random: () => number = Math.random) {
  const api = fakeApi(script);
  return { api, client: new AsyncJobsClient({ baseUrl: 'http://api.test', fetch: api.fetch, random }) };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(START);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('wait() follows Retry-After', () => {
  it.each([
    ['delta-seconds', '2', 2000],
    ['an HTTP date', new Date(START + 3000).toUTCString(), 3000],
  ])('polls again after the delay the server asks for, given as %s', async (_form, retryAfter, delayMs) => {
    // Prepare
    const { api, client } = clientFor([pending('RUNNING', retryAfter), succeeded]);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toEqual({ value: expect.objectContaining({ status: 'SUCCEEDED', result: { ok: true } }) });
    expect(api.calls.map((call) => `${call.method} ${call.url}`)).toEqual([`GET http://api.test/jobs/${ID}`, `GET http://api.test/jobs/${ID}`]);
    expect(gaps(api.calls)).toEqual([delayMs]);
  });

  it('polls at the server pace even when its backoff would be longer', async () => {
    // Prepare: a backoff that starts at 10 s must not apply while the server says 1 s.
    const { api, client } = clientFor([pending('QUEUED', '1'), pending('RUNNING', '1'), pending('RUNNING', '1'), succeeded]);
    // Act
    const outcome = settle(client.wait(ID, { pollInterval: { initialDelayMs: 10_000, maxDelayMs: 60_000 } }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual([1000, 1000, 1000]);
  });
});

describe('wait() without Retry-After backs off exponentially with full jitter and a cap', () => {
  it.each([
    // random() = 0.5: half of each ceiling; ceilings 1 s, 2 s, 4 s, then the 4 s cap.
    ['a constant 0.5', [0.5], [500, 1000, 2000, 2000, 2000]],
    // Full jitter: any point from 0 up to the ceiling, but never under 100 ms (no tight loop).
    ['a varying source', [0, 0.9, 0.25, 0.99, 0.1], [100, 1800, 1000, 3960, 400]],
  ])('waits random() times min(cap, initial * 2^n), with %s', async (_name, randoms, expected) => {
    // Prepare
    let draw = 0;
    const random = () => randoms[draw++ % randoms.length] ?? 0;
    const script = [...Array.from({ length: 5 }, () => pending('RUNNING', undefined)), succeeded];
    const { api, client } = clientFor(script, random);
    // Act
    const outcome = settle(client.wait(ID, { pollInterval: { initialDelayMs: 1000, maxDelayMs: 4000 } }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual(expected);
  });

  it('never waits longer than the cap, however many polls it takes', async () => {
    // Prepare
    const script = [...Array.from({ length: 12 }, () => pending('RUNNING', undefined)), succeeded];
    const { api, client } = clientFor(script, () => 0.999);
    // Act
    const outcome = settle(client.wait(ID, { pollInterval: { initialDelayMs: 100, maxDelayMs: 3000 } }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    const waited = gaps(api.calls);
    expect(Math.max(...waited)).toBe(2997);
    expect(waited.slice(-6)).toEqual(Array(6).fill(2997));
  });
});

describe('wait() takes an option left undefined, or NaN, as its default', () => {
  it.each([
    // random() = 0.5: half of the default ceilings, 1 s doubling.
    ['maxDelayMs: undefined', { maxDelayMs: undefined }, (): number => 0.5, [500, 1000, 2000]],
    ['initialDelayMs: NaN', { initialDelayMs: Number.NaN }, (): number => 0.5, [500, 1000, 2000]],
    // A delay that comes out NaN all the same becomes the default's first, 1 s.
    ['a random() that gives NaN', {}, (): number => Number.NaN, [1000, 1000, 1000]],
  ])('with %s, it backs off as by default, never polling in a tight loop', async (_what, pollInterval, random, expected) => {
    // Prepare
    const { api, client } = clientFor([pending('RUNNING', undefined), pending('RUNNING', undefined), pending('RUNNING', undefined), succeeded], random);
    // Act
    const outcome = settle(client.wait(ID, { pollInterval }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual(expected);
  });
});

describe('wait() deadline and abort', () => {
  it('keeps a deadline longer than a timer can wait (30 days), throwing WaitTimeoutError only once it passed', async () => {
    // Prepare: the job runs for longer; the server asks for a poll every 12 days.
    const day = 86_400_000;
    const { api, client } = clientFor(Array.from({ length: 5 }, () => pending('RUNNING', String(12 * 86_400))));
    // Act
    const outcome = settle(client.wait(ID, { timeoutMs: 30 * day }));
    await vi.advanceTimersByTimeAsync(29 * day);
    const after29Days = await Promise.race([outcome, 'still waiting']);
    await vi.advanceTimersByTimeAsync(day);
    const result = await outcome;
    // Assess
    expect(after29Days).toBe('still waiting');
    expect(api.calls.map((call) => (call.at - START) / day)).toEqual([0, 12, 24]);
    expect('error' in result && result.error).toBeInstanceOf(WaitTimeoutError);
    expect(Date.now() - START).toBe(30 * day);
  });

  it('throws WaitTimeoutError at the deadline, carrying the job as last seen', async () => {
    // Prepare
    const { api, client } = clientFor(Array.from({ length: 10 }, () => pending('RUNNING', '1', { completed: 1, total: 4, percent: 25 })));
    // Act
    const outcome = settle(client.wait(ID, { timeoutMs: 2500 }));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    expect(Date.now() - START).toBe(2500);
    expect(api.calls.map((call) => call.at - START)).toEqual([0, 1000, 2000]);
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).not.toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({ jobId: ID, timeoutMs: 2500, lastJob: { status: 'RUNNING', progress: { percent: 25 } } });
  });

  it('cuts a request that hangs past the deadline', async () => {
    // Prepare
    const { api, client } = clientFor([pending('QUEUED', '1'), 'hang']);
    // Act
    const outcome = settle(client.wait(ID, { timeoutMs: 5000 }));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    expect(Date.now() - START).toBe(5000);
    expect(api.calls).toHaveLength(2);
    expect('error' in result && result.error).toBeInstanceOf(WaitTimeoutError);
  });

  it('stops when its signal aborts, rejecting with the signal reason and polling no more', async () => {
    // Prepare
    const { api, client } = clientFor(Array.from({ length: 10 }, () => pending('RUNNING', '1')));
    const controller = new AbortController();
    const reason = new Error('the user left');
    setTimeout(() => controller.abort(reason), 1500);
    // Act
    const outcome = settle(client.wait(ID, { signal: controller.signal, timeoutMs: 60_000 }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toEqual({ error: reason });
    expect(Date.now() - START).toBe(1500);
    expect(api.calls).toHaveLength(2);
  });

  it('does not call the API at all with a signal that has already aborted', async () => {
    // Prepare
    const { api, client } = clientFor([succeeded]);
    const controller = new AbortController();
    controller.abort();
    // Act
    const result = await settle(client.wait(ID, { signal: controller.signal }));
    // Assess
    expect('error' in result && result.error).toMatchObject({ name: 'AbortError' });
    expect(api.calls).toHaveLength(0);
  });
});

describe('wait() reports progress', () => {
  it('calls onProgress once per change of progress, in order, including the final one', async () => {
    // Prepare
    const first: Progress = { completed: 1, total: 4, percent: 25, message: 'one' };
    const second: Progress = { completed: 1, total: 4, percent: 25, message: 'still one' };
    const last: Progress = { completed: 4, total: 4, percent: 100, message: 'done' };
    const { client } = clientFor([
      pending('QUEUED', '1'),
      pending('RUNNING', '1', first),
      pending('RUNNING', '1', first),
      pending('RUNNING', '1', second),
      { status: 200, body: jobResource('SUCCEEDED', { progress: last, result: 1 }) },
    ]);
    const seen: Progress[] = [];
    // Act
    const outcome = settle(client.wait(ID, { onProgress: (progress) => seen.push(progress) }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(seen).toEqual([first, second, last]);
  });
});

describe('wait() endings', () => {
  const problem = { type: '/problems/job-failed', title: 'Job failed', status: 500, detail: 'no such customer' };

  it.each([
    ['FAILED', JobFailedError, JobCancelledError],
    ['CANCELLED', JobCancelledError, JobFailedError],
  ] as const)('a job that ends %s throws its own error class with the job and its problem', async (status, expected, other) => {
    // Prepare
    const { client } = clientFor([pending('RUNNING', '1'), { status: 200, body: jobResource(status, { error: problem }) }]);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(expected);
    expect(error).not.toBeInstanceOf(other);
    expect(error).not.toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({ problem, job: { id: ID, status } });
  });

  it('throws ApiError with the problem when the job is not found, without polling again', async () => {
    // Prepare
    const notFound = { type: '/problems/not-found', title: 'Job not found', status: 404, detail: `There is no job '${ID}'.` };
    const { api, client } = clientFor([pending('RUNNING', '1'), { status: 404, body: notFound }]);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    const result = await outcome;
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, problem: notFound });
    expect(api.calls).toHaveLength(2);
  });

  it('keeps waiting, up to its deadline, through polls that fail for longer than one request retries', async () => {
    // Prepare: eight failed attempts in a row (a request gives up after four)
    const lost = () => new TypeError('fetch failed');
    const { api, client } = clientFor([pending('RUNNING', '1'), ...Array.from({ length: 8 }, lost), succeeded]);
    // Act
    const outcome = settle(client.wait(ID, { timeoutMs: 60_000 }));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toMatchObject({ value: { status: 'SUCCEEDED' } });
    expect(api.calls).toHaveLength(10);
  });

  it('without a deadline, gives up after six failed polls in a row', async () => {
    // Prepare
    const lost = () => new TypeError('fetch failed');
    const { api, client } = clientFor([pending('RUNNING', '1'), ...Array.from({ length: 24 }, lost)]);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    // Assess
    expect('error' in (await outcome) && (await outcome as { error: unknown }).error).toBeInstanceOf(NetworkError);
    expect(api.calls).toHaveLength(25);
  });

  it.each(['0', '1.5', 'soon'])('never polls in a tight loop, whatever Retry-After says (%s)', async (retryAfter) => {
    // Prepare
    const { api, client } = clientFor([pending('RUNNING', retryAfter), pending('RUNNING', retryAfter), succeeded], () => 0);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(Math.min(...gaps(api.calls))).toBeGreaterThanOrEqual(100);
  });

  it('keeps waiting through a 503 by retrying that poll after its Retry-After', async () => {
    // Prepare
    const unavailable = { status: 503, body: { type: '/problems/service-unavailable', title: 'Service unavailable', status: 503 }, headers: { 'retry-after': '2' } };
    const { api, client } = clientFor([pending('RUNNING', '1'), unavailable, succeeded]);
    // Act
    const outcome = settle(client.wait(ID));
    await vi.runAllTimersAsync();
    // Assess
    expect(await outcome).toHaveProperty('value');
    expect(gaps(api.calls)).toEqual([1000, 2000]);
  });
});
