import { NonRetryableError, type Processor } from '#core/processor';

/** `fail`: always fails, without retries, with `input.message` as the error detail. */
export const fail: Processor = async (input) => {
  const message = (input as { message?: unknown } | null)?.message;
  throw new NonRetryableError(typeof message === 'string' && message ? message : 'the job failed as asked');
};
