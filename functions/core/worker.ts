/**
 * Running one job from its queue message: start it, run its processor, record how it ended, and
 * announce the end. Each step is a conditional write, so a redelivered message never runs a job
 * twice nor finishes it twice, and a finished job whose event was not yet published gets it
 * published (with the same event id) by whichever delivery comes next.
 */
import type { JobRecord, Progress } from './job.ts';
import { isFinal, makeProgress, toResource } from './job.ts';
import { newEventId } from './ids.ts';
import type { EventPublisher, JobEvent, JobMessage, JobStore } from './ports.ts';
import { NonRetryableError, type Processor } from './processor.ts';
import { type ProblemDetails, ProblemType } from './problem.ts';
import { eventTypeFor } from './state-machine.ts';

/** Structured logging the worker needs. */
export interface WorkerLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** What the worker needs. */
export interface WorkerDeps {
  readonly store: JobStore;
  readonly publisher: EventPublisher;
  readonly processors: Readonly<Record<string, Processor>>;
  readonly logger: WorkerLogger;
  readonly now: () => Date;
  readonly progressIntervalMs: number;
  readonly retentionDays: number;
  readonly maxResultBytes: number;
}

/** `done`: the message can be deleted. `retry`: leave it on the queue to be delivered again. */
export type MessageOutcome = 'done' | 'retry';

/** Parses a queue message body; undefined for a message that is not a job message. */
export function parseJobMessage(body: string): JobMessage | undefined {
  try {
    const value: unknown = JSON.parse(body);
    if (typeof value !== 'object' || value === null) return undefined;
    const { jobId, type } = value as Record<string, unknown>;
    return typeof jobId === 'string' && typeof type === 'string' ? { jobId, type } : undefined;
  } catch {
    return undefined;
  }
}

/** Handles one job message until `deadline` (epoch ms), when the processor's signal fires. */
export async function handleJobMessage(deps: WorkerDeps, message: JobMessage, deadline: number): Promise<MessageOutcome> {
  const { store, logger } = deps;
  const started = await store.transition(message.jobId, 'QUEUED', 'RUNNING', {
    startedAt: deps.now().toISOString(),
    countAttempt: true,
  });
  if (!started) return settleElsewhere(deps, message.jobId);

  const ending = await runProcessor(deps, started, deadline);
  const finishedAt = deps.now();
  const finished = await store.transition(started.id, 'RUNNING', ending.status, {
    ...ending.changes,
    finishedAt: finishedAt.toISOString(),
    expiresAt: Math.floor(finishedAt.getTime() / 1000) + deps.retentionDays * 86_400,
    eventId: newEventId(),
  });
  if (!finished) return settleElsewhere(deps, message.jobId);
  logger.info('job finished', { jobId: finished.id, type: finished.type, status: finished.status });
  return publishCompletion(deps, finished);
}

/** The start or finish write lost a race: look at where the job is now and finish what is left. */
async function settleElsewhere(deps: WorkerDeps, jobId: string): Promise<MessageOutcome> {
  const job = await deps.store.get(jobId);
  if (!job) {
    deps.logger.warn('message for a job that does not exist; dropping it', { jobId });
    return 'done';
  }
  if (isFinal(job.status)) return job.publishedAt ? 'done' : publishCompletion(deps, job);
  // RUNNING elsewhere (a duplicate delivery) or not yet visible: let the message come back later.
  deps.logger.warn('job is not startable now; the message will be delivered again', { jobId, status: job.status });
  return 'retry';
}

/** The completion event of a finished job. */
export function completionEvent(job: JobRecord): JobEvent {
  const type = eventTypeFor(job.status);
  if (!type || !job.eventId || !job.finishedAt) throw new Error(`job ${job.id} has not ended`);
  return { id: job.eventId, type: type as JobEvent['type'], timestamp: job.finishedAt, data: toResource(job) };
}

/** Publish, then record the publish; a failure leaves the message for a redelivery to publish again. */
async function publishCompletion(deps: WorkerDeps, job: JobRecord): Promise<MessageOutcome> {
  const event = completionEvent(job);
  try {
    await deps.publisher.publish(event);
  } catch (error) {
    deps.logger.error('publishing the completion event failed; it will be retried', { jobId: job.id, eventId: event.id, error: String(error) });
    return 'retry';
  }
  await deps.store.markPublished(job.id, event.id, deps.now().toISOString());
  return 'done';
}

interface Ending {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly changes: { result?: unknown; error?: ProblemDetails; progress?: Progress };
}

class TimeoutSignalReason extends Error {
  constructor() {
    super('the job ran out of time');
    this.name = 'TimeoutError';
  }
}

/** Runs the processor under the deadline, reporting progress, and describes how it ended. */
async function runProcessor(deps: WorkerDeps, job: JobRecord, deadline: number): Promise<Ending> {
  const processor = deps.processors[job.type];
  if (!processor) {
    return failed(ProblemType.jobFailed, 'Job failed', `No processor handles job type '${job.type}' in this worker.`);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new TimeoutSignalReason()), Math.max(0, deadline - Date.now()));
  const progress = new ProgressWriter(deps, job.id);
  try {
    const result = await processor(job.input, {
      jobId: job.id,
      attempt: job.attempts,
      signal: controller.signal,
      progress: (completed, total, message) => progress.report(makeProgress(completed, total, message)),
    });
    if (controller.signal.aborted) return timedOut(progress.latest);
    const size = Buffer.byteLength(JSON.stringify(result ?? null) ?? 'null');
    if (size > deps.maxResultBytes) {
      return failed(ProblemType.resultTooLarge, 'Result too large', `The result is ${size} bytes; the limit is ${deps.maxResultBytes} bytes.`, progress.latest);
    }
    return { status: 'SUCCEEDED', changes: { result: result ?? null, ...(progress.latest && { progress: progress.latest }) } };
  } catch (error) {
    if (controller.signal.aborted) return timedOut(progress.latest);
    if (!(error instanceof NonRetryableError)) {
      deps.logger.error('processor threw', { jobId: job.id, type: job.type, error: error instanceof Error ? error.stack : String(error) });
    }
    const detail = error instanceof Error ? error.message : String(error);
    return failed(ProblemType.jobFailed, 'Job failed', detail, progress.latest);
  } finally {
    clearTimeout(timer);
    await progress.close();
  }
}

function timedOut(progress: Progress | undefined): Ending {
  return failed(ProblemType.jobTimedOut, 'Job timed out', 'The job did not finish within the time it was allowed.', progress);
}

function failed(type: string, title: string, detail: string, progress?: Progress): Ending {
  return { status: 'FAILED', changes: { error: { type, title, status: 500, detail }, ...(progress && { progress }) } };
}

/**
 * Rate-limits progress writes to one per interval per job. The most recent report is written
 * when the interval allows, and whatever is pending at the end goes into the final write instead.
 */
class ProgressWriter {
  latest: Progress | undefined;
  private lastWriteAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly deps: WorkerDeps,
    private readonly jobId: string,
  ) {}

  report(progress: Progress): void {
    if (this.closed) return;
    this.latest = progress;
    if (this.timer) return;
    const wait = this.lastWriteAt + this.deps.progressIntervalMs - Date.now();
    this.timer = setTimeout(() => this.flush(), Math.max(0, wait));
  }

  private flush(): void {
    this.timer = undefined;
    const progress = this.latest;
    if (this.closed || !progress) return;
    this.lastWriteAt = Date.now();
    this.writing = this.writing
      .then(() => this.deps.store.reportProgress(this.jobId, progress, this.deps.now().toISOString()))
      .then(
        () => undefined,
        (error: unknown) => this.deps.logger.warn('progress write failed', { jobId: this.jobId, error: String(error) }),
      );
  }

  /** Stops writing and waits for a write in flight, so it cannot land after the final transition. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
  }
}
