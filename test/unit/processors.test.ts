import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { NonRetryableError, type ProcessorContext, RetryableError } from '#core/processor';
import { echo } from '#processors/echo';
import { fail } from '#processors/fail';
import { flaky } from '#processors/flaky';
import { jobTypes, processors } from '#processors/registry';
import { inputSchemas } from '#processors/types';
import { sleep } from '#processors/sleep';
import { validate } from '#core/schema';
import { submitSchema } from '#core/submit';

function contextWith(signal: AbortSignal = new AbortController().signal, attempt = 1) {
  const progress = vi.fn<ProcessorContext['progress']>();
  const context: ProcessorContext = { jobId: 'job_test', attempt, signal, progress };
  return { context, progress };
}

/** The rejection of a promise, or a failure when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
    },
    (error: unknown) => error,
  );
}

describe('registry', () => {
  it('offers the example job types', () => {
    // Assess
    expect(jobTypes).toEqual(expect.arrayContaining(['echo', 'sleep', 'fail', 'flaky']));
    expect(processors).toMatchObject({ echo, sleep, fail, flaky });
  });

  it('has a processor for exactly the names types.ts lists, which the submit handler accepts', () => {
    // Assess
    expect(Object.keys(processors).sort()).toEqual([...jobTypes].sort());
  });

  it.each(jobTypes)('registers %s under a name the submit schema accepts', (type) => {
    // Act
    const errors = validate(submitSchema({ maxDelaySeconds: 900, defaultTimeoutSeconds: 60, maxTimeoutSeconds: 117 }), {
      type,
    });

    // Assess
    expect(errors).toEqual([]);
  });
});

describe('echo', () => {
  it.each<[string, unknown]>([
    ['an object', { a: [1, { b: 'c' }] }],
    ['an array', [1, 2, 3]],
    ['a string', 'hello'],
    ['a number', 42],
    ['null', null],
  ])('returns %s unchanged', async (_, input) => {
    // Prepare
    const { context } = contextWith();

    // Act
    const result = await echo(input, context);

    // Assess
    expect(result).toEqual(input);
  });
});

describe('fail', () => {
  it.each<[string, unknown, string]>([
    ['the given message', { message: 'card declined' }, 'card declined'],
    ['a default for no input', null, 'the job failed as asked'],
    ['a default for an empty message', { message: '' }, 'the job failed as asked'],
    ['a default for a message that is not text', { message: 42 }, 'the job failed as asked'],
  ])('fails without retries, with %s', async (_, input, message) => {
    // Prepare
    const { context } = contextWith();

    // Act
    const error = await rejectionOf(fail(input, context));

    // Assess
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toMatchObject({ name: 'NonRetryableError', message });
  });
});

describe('flaky', () => {
  it.each<[string, unknown, string]>([
    ['a fractional failAttempts', { failAttempts: 1.5 }, 'input.failAttempts must be a non-negative integer'],
    ['a negative failAttempts', { failAttempts: -1 }, 'input.failAttempts must be a non-negative integer'],
    ['failAttempts as text', { failAttempts: '2' }, 'input.failAttempts must be a non-negative integer'],
    ['a failureRate over 1', { failureRate: 1.5 }, 'input.failureRate must be a number from 0 to 1'],
    ['a negative failureRate', { failureRate: -0.1 }, 'input.failureRate must be a number from 0 to 1'],
    ['a NaN failureRate', { failureRate: Number.NaN }, 'input.failureRate must be a number from 0 to 1'],
  ])('refuses %s without retries', async (_, input, message) => {
    // Prepare
    const { context } = contextWith();

    // Act
    const error = await rejectionOf(flaky(input, context));

    // Assess
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toMatchObject({ message });
  });

  it.each<[string, unknown, number]>([
    ['attempt 1 of a job that fails twice', { failAttempts: 2 }, 1],
    ['attempt 2 of a job that fails twice', { failAttempts: 2 }, 2],
    ['any attempt of a job that always fails', { failureRate: 1 }, 9],
  ])('fails %s retryably', async (_, input, attempt) => {
    // Prepare
    const { context } = contextWith(undefined, attempt);

    // Act
    const error = await rejectionOf(flaky(input, context));

    // Assess
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ message: `a transient failure on attempt ${attempt}` });
  });

  it.each<[string, unknown, number]>([
    ['attempt 3 of a job that fails twice', { failAttempts: 2 }, 3],
    ['a job without input', null, 1],
    ['a job that never fails', { failureRate: 0 }, 1],
  ])('succeeds on %s, returning the attempt', async (_, input, attempt) => {
    // Prepare
    const { context } = contextWith(undefined, attempt);

    // Act
    const result = await flaky(input, context);

    // Assess
    expect(result).toEqual({ attempt });
  });
});

describe('sleep', () => {
  it.each<[string, unknown]>([
    ['no input', null],
    ['no seconds', {}],
    ['seconds as text', { seconds: '1' }],
    ['negative seconds', { seconds: -1 }],
    ['more than 60 seconds', { seconds: 60.5 }],
    ['NaN seconds', { seconds: Number.NaN }],
    ['infinite seconds', { seconds: Number.POSITIVE_INFINITY }],
    ['a bare number', 5],
  ])('refuses %s without retries', async (_, input) => {
    // Prepare
    const { context, progress } = contextWith();

    // Act
    const error = await rejectionOf(sleep(input, context));

    // Assess
    expect(error).toBeInstanceOf(NonRetryableError);
    expect(error).toMatchObject({ message: 'input.seconds must be a number from 0 to 60' });
    expect(progress).not.toHaveBeenCalled();
  });

  it('returns at once for 0 seconds, reporting nothing', async () => {
    // Prepare
    const { context, progress } = contextWith();

    // Act
    const result = await sleep({ seconds: 0 }, context);

    // Assess
    expect(result).toEqual({ sleptSeconds: 0 });
    expect(progress).not.toHaveBeenCalled();
  });

  it('sleeps a fraction of a second in real time and reports it as one step', async () => {
    // Prepare
    const { context, progress } = contextWith();
    const startedAt = performance.now();

    // Act
    const result = await sleep({ seconds: 0.3 }, context);

    // Assess
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(290);
    expect(result).toEqual({ sleptSeconds: 0.3 });
    expect(progress.mock.calls).toEqual([[1, 1, 'slept 1 of 1 s']]);
  });

  describe('on a fake clock', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('reports progress after each second and finishes at the exact time', async () => {
      // Prepare
      const { context, progress } = contextWith();
      let result: unknown;
      const sleeping = sleep({ seconds: 2.5 }, context).then((value) => {
        result = value;
      });

      // Act / Assess
      await vi.advanceTimersByTimeAsync(999);
      expect(progress).not.toHaveBeenCalled();

      await vi.advanceTimersByTimeAsync(1);
      expect(progress.mock.calls).toEqual([[1, 3, 'slept 1 of 3 s']]);

      await vi.advanceTimersByTimeAsync(1_000);
      expect(progress.mock.calls).toHaveLength(2);
      expect(progress.mock.calls[1]).toEqual([2, 3, 'slept 2 of 3 s']);
      expect(result).toBeUndefined();

      await vi.advanceTimersByTimeAsync(500);
      await sleeping;
      expect(progress.mock.calls[2]).toEqual([3, 3, 'slept 3 of 3 s']);
      expect(result).toEqual({ sleptSeconds: 2.5 });
    });

    it('accepts the 60-second maximum', async () => {
      // Prepare
      const { context, progress } = contextWith();
      const sleeping = sleep({ seconds: 60 }, context);

      // Act
      await vi.advanceTimersByTimeAsync(60_000);

      // Assess
      expect(await sleeping).toEqual({ sleptSeconds: 60 });
      expect(progress).toHaveBeenCalledTimes(60);
    });

    it('stops when its signal aborts, with the signal reason, and reports nothing more', async () => {
      // Prepare
      const controller = new AbortController();
      const { context, progress } = contextWith(controller.signal);
      const outcome = rejectionOf(sleep({ seconds: 10 }, context));
      await vi.advanceTimersByTimeAsync(1_500);
      const reason = new Error('the job ran out of time');

      // Act
      controller.abort(reason);

      // Assess
      expect(await outcome).toBe(reason);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(progress.mock.calls).toEqual([[1, 10, 'slept 1 of 10 s']]);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('does not start when its signal has already aborted', async () => {
      // Prepare
      const controller = new AbortController();
      const reason = new Error('cancelled');
      controller.abort(reason);
      const { context, progress } = contextWith(controller.signal);

      // Act
      const error = await rejectionOf(sleep({ seconds: 5 }, context));

      // Assess
      expect(error).toBe(reason);
      expect(progress).not.toHaveBeenCalled();
      expect(vi.getTimerCount()).toBe(0);
    });
  });
});

describe('input rules, which POST /jobs checks', () => {
  // Only what JSON can carry: a submit body cannot hold NaN or Infinity.
  it.each<[string, unknown, boolean]>([
    ['sleep', { seconds: 0 }, true],
    ['sleep', { seconds: 60 }, true],
    ['sleep', { seconds: 2.5 }, true],
    ['sleep', null, false],
    ['sleep', {}, false],
    ['sleep', { seconds: '1' }, false],
    ['sleep', { seconds: -1 }, false],
    ['sleep', { seconds: 60.5 }, false],
    ['sleep', 5, false],
    ['flaky', null, true],
    ['flaky', {}, true],
    ['flaky', { failAttempts: 2, failureRate: 0.5 }, true],
    ['flaky', { failAttempts: 1.5 }, false],
    ['flaky', { failAttempts: -1 }, false],
    ['flaky', { failAttempts: '2' }, false],
    ['flaky', { failureRate: 1.5 }, false],
    ['flaky', { failureRate: -0.1 }, false],
    ['flaky', 5, false],
    ['flaky', 'often', false],
    ['flaky', [], false],
  ])('%s with %j: the rule and the processor agree (takes it: %s)', async (type, input, takes) => {
    // Prepare
    const rule = inputSchemas[type as 'sleep' | 'flaky'];
    // Stopped before it starts: a sleep it takes ends at once, with the signal's reason rather than a refusal.
    const { context } = contextWith(AbortSignal.abort(new Error('stopped')));
    const processor = processors[type as 'sleep' | 'flaky'];

    // Act
    const ruleTakes = rule !== undefined && validate(rule, input, '/input').length === 0;
    const refused = await processor(input, context).then(
      () => false,
      (error: unknown) => error instanceof NonRetryableError,
    );

    // Assess
    expect(ruleTakes).toBe(takes);
    expect(refused).toBe(!takes);
  });
});
