import { describe, expect, it } from 'vitest';
import { type JobRecord, type JobStatus, type Progress, boundedText, isExpired, makeProgress, pollAfterSeconds, toResource } from '#core/job';
import { ProblemType } from '#core/problem';

const ERROR = { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail: 'bad input' };

/** A record carrying every optional field, internal ones included, so the view has to choose what to show. */
function record(status: JobStatus, overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job_AAAAAAAAAAAAAAAAAAAAAA',
    owner: 'arn:aws:iam::123456789012:user/alice',
    type: 'echo',
    status,
    input: { secret: 'input stays private' },
    metadata: { team: 'a' },
    delaySeconds: 5,
    timeoutSeconds: 30,
    requestHash: 'hash',
    result: { answer: 42 },
    error: ERROR,
    lastError: { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail: 'an earlier attempt' },
    progress: { completed: 3, total: 10, percent: 30 },
    attempts: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:05.000Z',
    startedAt: '2026-01-01T00:00:01.000Z',
    finishedAt: '2026-01-01T00:00:05.000Z',
    expiresAt: 1_767_830_405,
    eventId: 'evt_x',
    publishedAt: '2026-01-01T00:00:06.000Z',
    runDeadline: 1_767_225_720_000,
    sweepAt: '2026-01-01T00:05:00.000Z',
    sweepShard: '2',
    ...overrides,
  };
}

describe('toResource', () => {
  it.each<[JobStatus, boolean, boolean, boolean]>([
    ['QUEUED', false, false, false],
    ['RUNNING', false, false, false],
    ['SUCCEEDED', true, true, false],
    ['FAILED', true, false, true],
    ['CANCELLED', true, false, true],
  ])('a %s job: done %s, result shown %s, error shown %s', (status, done, hasResult, hasError) => {
    // Act
    const resource = toResource(record(status));

    // Assess
    expect(resource.status).toBe(status);
    expect(resource.done).toBe(done);
    expect('result' in resource).toBe(hasResult);
    expect('error' in resource).toBe(hasError);
    if (hasResult) expect(resource.result).toEqual({ answer: 42 });
    if (hasError) expect(resource.error).toEqual(ERROR);
  });

  it('shows a finished job completely, with an ISO expiry, and nothing internal', () => {
    // Act
    const resource = toResource(record('SUCCEEDED'));

    // Assess
    expect(resource).toStrictEqual({
      id: 'job_AAAAAAAAAAAAAAAAAAAAAA',
      type: 'echo',
      status: 'SUCCEEDED',
      done: true,
      progress: { completed: 3, total: 10, percent: 30 },
      result: { answer: 42 },
      metadata: { team: 'a' },
      attempts: 1,
      timeoutSeconds: 30,
      delaySeconds: 5,
      createdAt: '2026-01-01T00:00:00.000Z',
      startedAt: '2026-01-01T00:00:01.000Z',
      finishedAt: '2026-01-01T00:00:05.000Z',
      expiresAt: '2026-01-08T00:00:05.000Z',
      links: { self: '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA' },
    });
  });

  it('shows a queued job without the fields it does not have yet', () => {
    // Prepare
    const queued: JobRecord = {
      id: 'job_BBBBBBBBBBBBBBBBBBBBBB',
      owner: 'anonymous',
      type: 'sleep',
      status: 'QUEUED',
      input: null,
      timeoutSeconds: 60,
      attempts: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    };

    // Act
    const resource = toResource(queued);

    // Assess
    expect(resource).toStrictEqual({
      id: 'job_BBBBBBBBBBBBBBBBBBBBBB',
      type: 'sleep',
      status: 'QUEUED',
      done: false,
      attempts: 0,
      timeoutSeconds: 60,
      createdAt: '2026-01-01T00:00:00.000Z',
      links: { self: '/jobs/job_BBBBBBBBBBBBBBBBBBBBBB' },
    });
  });

  it.each<[JobStatus, boolean]>([
    ['RUNNING', true],
    ['QUEUED', false],
    ['CANCELLED', false],
  ])('shows a cancel request on a %s job: %s', (status, shown) => {
    // Act
    const resource = toResource(record(status, { cancelRequestedAt: '2026-01-01T00:00:03.000Z' }));

    // Assess
    expect(resource.cancelRequested).toBe(shown ? true : undefined);
    expect('cancelRequested' in resource).toBe(shown);
  });

  it('shows a null result for a job that succeeded without returning anything', () => {
    // Prepare
    const { result: _, ...withoutResult } = record('SUCCEEDED');

    // Act
    const resource = toResource(withoutResult);

    // Assess
    expect(resource).toHaveProperty('result', null);
  });

  it('serialises the epoch-seconds expiry 0 as 1970, not as missing', () => {
    // Act
    const resource = toResource(record('FAILED', { expiresAt: 0 }));

    // Assess
    expect(resource.expiresAt).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('pollAfterSeconds (Retry-After of a pending job)', () => {
  const createdAt = '2026-01-01T00:00:00.000Z';
  const at = (seconds: number) => new Date(Date.parse(createdAt) + seconds * 1000);

  it.each<[string, number, number, Partial<JobRecord>]>([
    ['a QUEUED job that may start', 10, 1, { status: 'QUEUED', delaySeconds: 0 }],
    ['a QUEUED job with delaySeconds 30', 25.8, 5, { status: 'QUEUED', delaySeconds: 30 }],
    ['a QUEUED job waiting until 700 s to retry', 100, 600, { status: 'QUEUED', delaySeconds: 0, retryAt: at(700).toISOString() }],
    ['a QUEUED job whose retry is due', 100, 1, { status: 'QUEUED', delaySeconds: 0, retryAt: at(100).toISOString() }],
    ['a RUNNING job', 10, 1, { status: 'RUNNING', delaySeconds: 30, retryAt: at(700).toISOString() }],
  ])('for %s, %d s after its creation, is %d s', (_, nowSeconds, expected, fields) => {
    // Act
    const seconds = pollAfterSeconds(record('QUEUED', { createdAt, ...fields }), at(nowSeconds), 1);

    // Assess
    expect(seconds).toBe(expected);
  });
});

describe('isExpired', () => {
  const expiresAt = 1_767_830_405;

  it.each<[string, number | undefined, number, boolean]>([
    ['a job without an expiry', undefined, expiresAt * 1000 + 1, false],
    ['a job a millisecond before its expiry', expiresAt, expiresAt * 1000 - 1, false],
    ['a job at its expiry', expiresAt, expiresAt * 1000, true],
    ['a job after its expiry', expiresAt, expiresAt * 1000 + 86_400_000, true],
  ])('reads %s as expired: %s', (_, expiry, nowMs, expected) => {
    // Prepare
    const { expiresAt: __, ...base } = record('SUCCEEDED');
    const job: JobRecord = expiry === undefined ? base : { ...base, expiresAt: expiry };

    // Act / Assess
    expect(isExpired(job, new Date(nowMs))).toBe(expected);
  });
});

describe('boundedText', () => {
  it('keeps a text of up to 4,096 characters as it is', () => {
    expect(boundedText('x'.repeat(4_096))).toBe('x'.repeat(4_096));
  });

  it('cuts a longer one, saying how much went, and never between the halves of a surrogate pair', () => {
    // Prepare: an emoji (two UTF-16 units) straddling the cut
    const text = `${'x'.repeat(4_095)}😀${'y'.repeat(10)}`;
    // Act
    const bounded = boundedText(text);
    // Assess
    expect(bounded).toBe(`${'x'.repeat(4_095)} … [12 more characters cut]`);
    expect(Buffer.from(bounded, 'utf8').toString('utf8')).toBe(bounded);
  });
});

describe('makeProgress', () => {
  it.each<[string, [number, number?, string?], Progress]>([
    ['a fraction', [3, 10], { completed: 3, total: 10, percent: 30 }],
    ['a rounded fraction', [1, 3], { completed: 1, total: 3, percent: 33 }],
    ['a fraction rounding up', [2, 3], { completed: 2, total: 3, percent: 67 }],
    ['done', [10, 10], { completed: 10, total: 10, percent: 100 }],
    ['more than the total, clamped to 100', [15, 10], { completed: 15, total: 10, percent: 100 }],
    ['a negative count, clamped to 0', [-2, 10], { completed: -2, total: 10, percent: 0 }],
    ['no total', [5], { completed: 5 }],
    ['a zero total', [5, 0], { completed: 5, total: 0 }],
    ['a negative total', [5, -1], { completed: 5, total: -1 }],
    ['a message', [1, 4, 'resizing'], { completed: 1, total: 4, percent: 25, message: 'resizing' }],
    ['a message without a total', [7, undefined, 'scanning'], { completed: 7, message: 'scanning' }],
    ['an infinite total, left out as unknown', [5, Number.POSITIVE_INFINITY], { completed: 5 }],
    ['a total that is not a number, left out', [5, Number.NaN], { completed: 5 }],
  ])('reports %s', (_, [completed, total, message], expected) => {
    // Act
    const progress = makeProgress(completed, total, message);

    // Assess
    expect(progress).toEqual(expected);
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '7' as unknown as number])('reports no progress for a count of %s (JSON would store null, which the schema refuses)', (completed) => {
    // Act / Assess
    expect(makeProgress(completed, 10)).toBeUndefined();
  });
});
