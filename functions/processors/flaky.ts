import { NonRetryableError, type Processor, RetryableError } from '#core/processor';

/**
 * `flaky`: shows retries. Fails retryably on its first `failAttempts` attempts, and otherwise with
 * probability `failureRate` (0 to 1); when it does not fail it returns `{ attempt }`.
 */
export const flaky: Processor = async (input, { attempt }) => {
  if (input !== null && input !== undefined && (typeof input !== 'object' || Array.isArray(input))) {
    throw new NonRetryableError('input must be an object ({ failAttempts, failureRate }) or absent');
  }
  const { failAttempts = 0, failureRate = 0 } = (input ?? {}) as { failAttempts?: unknown; failureRate?: unknown };
  if (typeof failAttempts !== 'number' || !Number.isInteger(failAttempts) || failAttempts < 0) {
    throw new NonRetryableError('input.failAttempts must be a non-negative integer');
  }
  if (typeof failureRate !== 'number' || !(failureRate >= 0 && failureRate <= 1)) {
    throw new NonRetryableError('input.failureRate must be a number from 0 to 1');
  }
  if (attempt <= failAttempts || Math.random() < failureRate) {
    throw new RetryableError(`a transient failure on attempt ${attempt}`);
  }
  return { attempt };
};
