/**
 * The functions' logs: every instance's stdout and stderr reach this process's streams. While the
 * bench runs they are counted (CloudWatch Logs bills ingestion per GB) and kept out of the report;
 * the bench itself writes through {@link say}.
 */

type Write = typeof process.stdout.write;

const originalStdout = process.stdout.write.bind(process.stdout) as Write;
const originalStderr = process.stderr.write.bind(process.stderr) as Write;

/** Bytes and lines the functions (and anything else) wrote while captured. */
export class CapturedOutput {
  bytes = 0;
  lines = 0;
  /** The last lines, shown when something fails. */
  private readonly tail: string[] = [];

  private count(chunk: unknown): void {
    const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : '';
    this.bytes += Buffer.byteLength(text);
    for (const line of text.split('\n')) {
      if (!line) continue;
      this.lines++;
      this.tail.push(line);
      if (this.tail.length > 50) this.tail.shift();
    }
  }

  /** Starts capturing both streams. */
  install(): void {
    const capture = ((chunk: unknown, ...rest: unknown[]) => {
      this.count(chunk);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }) as Write;
    process.stdout.write = capture;
    process.stderr.write = capture;
  }

  reset(): void {
    this.bytes = 0;
    this.lines = 0;
  }

  lastLines(): readonly string[] {
    return this.tail;
  }

  /** Gives the streams back. */
  restore(): void {
    process.stdout.write = originalStdout;
    process.stderr.write = originalStderr;
  }
}

/** A progress line on stderr, past any capture. */
export function say(line: string): void {
  originalStderr(`${line}\n`);
}

/** Text on stdout, past any capture (the report). */
export function print(text: string): void {
  originalStdout(text);
}

/** A wrong option of `npm run bench`: reported by its message alone. */
export class UsageError extends Error {}
