import { NonRetryableError, type Processor } from '#core/processor';

/** Longest sleep accepted: well inside the worker's timeout. */
const MAX_SECONDS = 60;

/** `sleep`: waits `input.seconds` (0 to 60), reporting progress each second; stops early when signalled. */
export const sleep: Processor = async (input, { progress, signal }) => {
  const seconds = (input as { seconds?: unknown } | null)?.seconds;
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
    throw new NonRetryableError(`input.seconds must be a number from 0 to ${MAX_SECONDS}`);
  }
  const total = Math.ceil(seconds);
  const startedAt = Date.now();
  for (let second = 1; second <= total; second += 1) {
    const until = startedAt + Math.min(second, seconds) * 1000;
    await delay(until - Date.now(), signal);
    progress(second, total, `slept ${second} of ${total} s`);
  }
  return { sleptSeconds: seconds };
};

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
