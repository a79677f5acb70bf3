/** The CLI's live progress line: a bar, the percentage, the status or message, and the elapsed time. */
import type { Job } from './types.ts';

/** A stream the bar writes to; `process.stderr` fits. */
export interface BarStream {
  write(chunk: string): unknown;
  readonly columns?: number;
}

/** Elapsed time as `m:ss`, or `h:mm:ss` from an hour on. */
export function formatElapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const seconds = String(total % 60).padStart(2, '0');
  const minutes = Math.floor(total / 60) % 60;
  const hours = Math.floor(total / 3600);
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/**
 * One line of progress, without control characters, e.g.
 * `[######------------------]  25% RUNNING slept 1 of 4 s  0:03`. Before the job reports a
 * percentage the bar is empty and the percentage reads `--`; before any answer, `pendingLabel`
 * stands for the status. Cut to `columns` when given.
 */
export function renderProgressLine(job: Job | undefined, elapsedMs: number, columns?: number, pendingLabel = 'WAITING', width = 24): string {
  const percent = job?.progress?.percent;
  const filled = percent === undefined ? 0 : Math.round((Math.min(100, Math.max(0, percent)) / 100) * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const share = percent === undefined ? ' --' : String(Math.round(percent)).padStart(3);
  const status = job?.status ?? pendingLabel;
  const message = job?.progress?.message ? ` ${job.progress.message}` : '';
  const elapsed = `  ${formatElapsed(elapsedMs)}`;
  const head = `${bar} ${share}% ${status}`;
  // A terminal of unknown width (some report 0) gets the whole line.
  if (columns === undefined || columns <= 0) return `${head}${message}${elapsed}`;
  // Keep the line shorter than the terminal: a wrapped line cannot be redrawn in place.
  const room = columns - 1 - head.length - elapsed.length;
  const cut = room <= 0 ? '' : message.length > room ? `${message.slice(0, Math.max(0, room - 1))}…` : message;
  return `${head}${cut}${elapsed}`.slice(0, Math.max(0, columns - 1));
}

/** Redraws {@link renderProgressLine} in place on a terminal, at least every `tickMs` for the clock. */
export class LiveProgressBar {
  #job: Job | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #startedAt: number;

  constructor(
    private readonly stream: BarStream,
    /** Shown as the status until the first answer, e.g. `SUBMITTING`. */
    private readonly pendingLabel = 'WAITING',
    private readonly now: () => number = Date.now,
    private readonly tickMs = 250,
  ) {
    this.#startedAt = now();
  }

  /** Starts redrawing for the elapsed time. */
  start(): void {
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), this.tickMs);
    // The clock alone must never keep the process alive.
    if (typeof this.#timer === 'object' && 'unref' in this.#timer) this.#timer.unref();
  }

  /** Shows the job as last seen. */
  update(job: Job): void {
    this.#job = job;
    this.#draw();
  }

  /** Stops redrawing and leaves the last line on screen. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#draw();
    this.stream.write('\n');
  }

  #draw(): void {
    this.stream.write(`\r\x1b[2K${renderProgressLine(this.#job, this.now() - this.#startedAt, this.stream.columns, this.pendingLabel)}`);
  }
}
