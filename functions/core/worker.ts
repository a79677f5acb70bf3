/**
 * Running one job from its queue message: start it, run its processor, record how it ended, and
 * announce the end. Each step is a conditional write, so a redelivered message never runs a job
 * twice nor finishes it twice, and an ended job whose event may not have been published gets it
 * published (with the same event id) by whichever delivery comes next.
 */
import { newRunId } from './ids.ts';
import { attemptOverAt, boundedText, CLOCK_MARGIN_MS, isFinal, type JobRecord, makeProgress, type Progress, runnableAt, secondsUntil } from './job.ts';
import { announce, backoffSeconds, completionEvent, finalChanges, type LifecycleSettings } from './lifecycle.ts';
import type { EventPublisher, JobMessage, JobStore, Redelivery, TransitionChanges } from './ports.ts';
import { NonRetryableError, type Processor, RetryableError } from './processor.ts';
import { type ProblemDetails, ProblemType } from './problem.ts';
import { endMetric, MetricName, noTelemetry, type Telemetry } from './telemetry.ts';

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
  readonly lifecycle: LifecycleSettings;
  readonly progressIntervalMs: number;
  readonly cancelPollIntervalMs: number;
  readonly maxResultBytes: number;
  readonly random?: () => number;
  /** @default noTelemetry */
  readonly telemetry?: Telemetry;
}

/** The invocation handling a message. */
export interface Invocation {
  /** Epoch ms when the invocation itself ends (Lambda stops it). */
  readonly endsAt: number;
  /** Epoch ms by which processors must have stopped, leaving time to record the outcome. */
  readonly stopBy: number;
  readonly redelivery: Redelivery;
}

/**
 * The longest wait before a retry: 11.5 hours. SQS hides a message at most 12 hours from its receive,
 * and the invocation has held it for up to its timeout by then: a longer wait would bring the message
 * back early, to be hidden again, each time a receive nearer the dead-letter queue.
 */
export const MAX_RETRY_DELAY_SECONDS = 41_400;

/** True while the invocation that started the job's current attempt may still be running (its deadline, give or take the clocks, has not passed). */
export function attemptMayBeRunning(job: Pick<JobRecord, 'runDeadline'>, nowMs: number): boolean {
  const over = attemptOverAt(job);
  return over !== undefined && over > nowMs;
}

/** The largest completion event: SNS takes messages of up to 256 KiB, message attributes included; they get 1 KiB of it. */
export const MAX_EVENT_BYTES = 262_144 - 1_024;

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

/** Handles one job message. */
export async function handleJobMessage(deps: WorkerDeps, message: JobMessage, invocation: Invocation): Promise<MessageOutcome> {
  const started = await start(deps, message.jobId, invocation);
  if (started === 'done' || started === 'retry') return started;
  const telemetry = deps.telemetry ?? noTelemetry;
  // From when it could start: a job's delay is asked for, not a wait in the queue.
  if (started.attempts === 1 && started.startedAt) telemetry.milliseconds(MetricName.timeInQueue, Math.max(0, Date.parse(started.startedAt) - runnableAt(started).getTime()));

  const ran = await runProcessor(deps, started, invocation);
  let ending: FinalEnding;
  if (ran.kind === 'retry') {
    const retried = await retryLater(deps, started, ran, invocation);
    if (retried !== 'cancelled') return retried;
    ending = cancelled(undefined, 'its last attempt had failed, and it was not retried');
  } else {
    ending = ran;
  }
  const now = deps.now();
  const finished = await deps.store.transition(started.id, 'RUNNING', ending.status, {
    ...ending.changes,
    ...finalChanges(deps.lifecycle, now),
  });
  if (!finished) return settle(deps, started.id, invocation);
  deps.logger.info('job ended', { jobId: finished.id, type: finished.type, status: finished.status, attempts: finished.attempts });
  recordEnd(telemetry, finished);
  return publish(deps, finished);
}

/**
 * Puts a job whose attempt failed retryably back on the queue for a later attempt, unless its owner
 * asked it to stop meanwhile (the processor may have failed before it noticed): then it is to end CANCELLED.
 */
async function retryLater(
  deps: WorkerDeps,
  job: JobRecord,
  ending: RetryEnding,
  invocation: Invocation,
): Promise<MessageOutcome | 'cancelled'> {
  // A processor's own wait (a dependency's Retry-After) counts when it is a number of seconds (an infinite
  // one is the longest wait there is); never less than the backoff.
  const asked = typeof ending.afterSeconds === 'number' && !Number.isNaN(ending.afterSeconds) ? ending.afterSeconds : 0;
  const delay = Math.min(MAX_RETRY_DELAY_SECONDS, Math.max(asked, backoffSeconds(deps.lifecycle, job.attempts, deps.random)));
  // The message stays on the queue (hidden for the backoff), so the job needs no sweep entry; `retryAt`
  // keeps any other message for the job (a duplicate) from starting it before then.
  // The next attempt starts over: the failed one's progress would only mislead.
  const retryAt = new Date(deps.now().getTime() + delay * 1000).toISOString();
  const requeued = await deps.store.transition(job.id, 'RUNNING', 'QUEUED', { lastError: ending.error, retryAt, clear: ['runDeadline', 'progress'] }, { cancelRequested: false });
  if (!requeued) {
    const current = await deps.store.get(job.id);
    if (current?.status === 'RUNNING' && current.cancelRequestedAt !== undefined) return 'cancelled';
    return settle(deps, job.id, invocation, current);
  }
  deps.logger.info('job will be retried', { jobId: job.id, attempt: job.attempts, delaySeconds: delay, error: ending.error.detail });
  await invocation.redelivery.delay(delay);
  return 'retry';
}

/**
 * Moves the job to RUNNING for this invocation, or says what to do with the message instead.
 * A job left RUNNING by an invocation that has certainly ended (it crashed or timed out) is taken
 * over: that counts as a failed attempt.
 */
async function start(deps: WorkerDeps, jobId: string, invocation: Invocation): Promise<JobRecord | MessageOutcome> {
  const now = deps.now();
  const startChanges: TransitionChanges = {
    startedAt: now.toISOString(),
    runDeadline: invocation.endsAt,
    runId: newRunId(),
    countAttempt: true,
    clear: ['retryAt', 'sweepAt', 'sweepShard'],
  };
  // Not before its retry is due.
  const started = await deps.store.transition(jobId, 'QUEUED', 'RUNNING', startChanges, { retryDueBy: new Date(now.getTime() + CLOCK_MARGIN_MS).toISOString() });
  if (started) return started;
  const job = await deps.store.get(jobId);
  const own = ownStart(deps, job, startChanges);
  if (own) return own;
  if (job?.status === 'QUEUED' && job.retryAt !== undefined) {
    // A message that came before the retry is due (a duplicate, or a repeat's re-send): hidden until then.
    const early = secondsUntil(job.retryAt, deps.now());
    if (early > 0) {
      deps.logger.info("message came before the job's retry is due; it will be delivered again then", { jobId, inSeconds: early });
      await invocation.redelivery.delay(early);
      return 'retry';
    }
  }
  // Lambda stops an invocation at its deadline.
  if (job?.status !== 'RUNNING' || job.runDeadline === undefined || attemptMayBeRunning(job, Date.now())) {
    return settle(deps, jobId, invocation, job);
  }
  const abandoned: ProblemDetails = {
    type: ProblemType.jobAbandoned,
    title: 'Job abandoned',
    status: 500,
    detail: `The worker stopped (crashed or timed out) during attempt ${job.attempts}.`,
  };
  // Its owner asked it to stop meanwhile: end it as asked rather than run it again.
  if (job.cancelRequestedAt !== undefined) return cancelTakenOver(deps, job, invocation);
  // Both writes below require that no cancel came since the read; one that did is honoured instead.
  const guard = { runDeadline: job.runDeadline, cancelRequested: false } as const;
  if (job.attempts >= deps.lifecycle.maxAttempts) {
    const failed = await deps.store.transition(
      jobId,
      'RUNNING',
      'FAILED',
      { error: attemptsExhausted(job.attempts, abandoned), ...finalChanges(deps.lifecycle, deps.now()) },
      guard,
    );
    if (failed) recordEnd(deps.telemetry ?? noTelemetry, failed);
    return failed ? publish(deps, failed) : settleTakeover(deps, job, invocation);
  }
  const requeued = await deps.store.transition(jobId, 'RUNNING', 'QUEUED', { lastError: abandoned, clear: ['runDeadline', 'progress'] }, guard);
  if (!requeued) return settleTakeover(deps, job, invocation);
  deps.logger.warn('took over a job whose worker stopped', { jobId, attempt: job.attempts });
  const restarted = await deps.store.transition(jobId, 'QUEUED', 'RUNNING', startChanges);
  if (restarted) return restarted;
  const current = await deps.store.get(jobId);
  return ownStart(deps, current, startChanges) ?? settle(deps, jobId, invocation, current);
}

/**
 * The job, when it is RUNNING by this start's own write: the write landed but its answer was lost, and
 * the SDK's retry of it found the job no longer QUEUED. Without this the worker would wait for itself,
 * and the job be taken over as abandoned once its own deadline passed.
 */
function ownStart(deps: WorkerDeps, job: JobRecord | undefined, startChanges: TransitionChanges): JobRecord | undefined {
  if (job?.status !== 'RUNNING' || job.runId === undefined || job.runId !== startChanges.runId) return undefined;
  deps.logger.warn('the start landed though its answer was lost; running the job', { jobId: job.id, attempt: job.attempts });
  return job;
}

/** Ends CANCELLED a job its owner asked to stop while the worker that held it had stopped; it does not run again. */
async function cancelTakenOver(deps: WorkerDeps, job: JobRecord, invocation: Invocation): Promise<MessageOutcome> {
  const ending = cancelled(job.progress, NOT_RUN_AGAIN);
  const ended = await deps.store.transition(job.id, 'RUNNING', 'CANCELLED', { ...ending.changes, ...finalChanges(deps.lifecycle, deps.now()) }, { runDeadline: job.runDeadline });
  if (ended) recordEnd(deps.telemetry ?? noTelemetry, ended);
  return ended ? publish(deps, ended) : settle(deps, job.id, invocation);
}

/** A takeover write lost a race: a cancel that came meanwhile is honoured; anything else is settled. */
async function settleTakeover(deps: WorkerDeps, job: JobRecord, invocation: Invocation): Promise<MessageOutcome> {
  const current = await deps.store.get(job.id);
  if (current?.status === 'RUNNING' && current.runDeadline === job.runDeadline && current.cancelRequestedAt !== undefined) {
    return cancelTakenOver(deps, current, invocation);
  }
  return settle(deps, job.id, invocation, current);
}

/** A write lost a race: look at where the job is now and finish what is left. */
async function settle(deps: WorkerDeps, jobId: string, invocation: Invocation, known?: JobRecord): Promise<MessageOutcome> {
  const job = known ?? (await deps.store.get(jobId));
  if (!job) {
    deps.logger.warn('message for a job that does not exist; dropping it', { jobId });
    return 'done';
  }
  if (isFinal(job.status)) return job.publishedAt ? 'done' : publish(deps, job);
  // RUNNING in another invocation (a duplicate delivery): come back once that one must have ended.
  const wait = Math.ceil(((job.runDeadline ?? invocation.endsAt) - Date.now()) / 1000) + 1;
  deps.logger.warn('job is running elsewhere; the message will be delivered again', { jobId, status: job.status, inSeconds: wait });
  await invocation.redelivery.delay(Math.max(1, wait));
  return 'retry';
}

/** Counts an end, and times the attempt that ended the job. */
export function recordEnd(telemetry: Telemetry, job: JobRecord): void {
  const metric = endMetric(job.status);
  if (metric) telemetry.count(metric);
  if (job.startedAt && job.finishedAt) telemetry.milliseconds(MetricName.jobDuration, Date.parse(job.finishedAt) - Date.parse(job.startedAt));
}

async function publish(deps: WorkerDeps, job: JobRecord): Promise<MessageOutcome> {
  try {
    await announce(deps.store, deps.publisher, job, deps.now);
    return 'done';
  } catch (error) {
    deps.logger.error('publishing the completion event failed; it will be retried', { jobId: job.id, eventId: job.eventId, error: String(error) });
    return 'retry';
  }
}

type FinalEnding = { readonly kind: 'final'; readonly status: 'SUCCEEDED' | 'FAILED' | 'CANCELLED'; readonly changes: TransitionChanges };
type RetryEnding = { readonly kind: 'retry'; readonly error: ProblemDetails; readonly afterSeconds?: number };
type Ending = FinalEnding | RetryEnding;

class StopReason extends Error {
  constructor(readonly why: 'timeout' | 'cancelled') {
    super(why === 'timeout' ? 'the job ran out of time' : 'the job was cancelled');
    this.name = why === 'timeout' ? 'TimeoutError' : 'AbortError';
  }
}

function attemptsExhausted(attempts: number, last: ProblemDetails): ProblemDetails {
  return {
    type: ProblemType.attemptsExhausted,
    title: 'Attempts exhausted',
    status: 500,
    detail: `The job failed ${attempts} times; the last attempt: ${last.detail ?? last.title}`,
  };
}

/** How long the end of an attempt waits for a cancel check in flight before abandoning it (well inside `worker.shutdownMarginMs`). */
const CANCEL_CHECK_GRACE_MS = 1_000;

/**
 * What a processor threw, as text: `ofError` of an Error, else the value as a string. Never throws
 * itself: a value without a string form (`Object.create(null)`) or whose getters throw would otherwise
 * fail the worker, and the job would be taken for a crash and run again.
 */
function thrownText(error: unknown, ofError: (error: Error) => unknown): string {
  try {
    return String(error instanceof Error ? ofError(error) : error);
  } catch {
    return `a value without a text form (${Object.prototype.toString.call(error)})`;
  }
}

/** Runs the processor until it settles, its time is up, or its owner cancels it; describes how it ended. */
async function runProcessor(deps: WorkerDeps, job: JobRecord, invocation: Invocation): Promise<Ending> {
  const processor = deps.processors[job.type];
  if (!processor) return failed(ProblemType.jobFailed, 'Job failed', `No processor handles job type '${job.type}' in this worker.`);
  const controller = new AbortController();
  const startedAt = Date.now();
  const stopAt = Math.min(invocation.stopBy, startedAt + job.timeoutSeconds * 1000);
  const timer = setTimeout(() => controller.abort(new StopReason('timeout')), Math.max(0, stopAt - Date.now()));
  // One check at a time, and none outlives the attempt: on Lambda, a read still open when the handler returns
  // loses the invocation's trace, and a frozen one fails at the next thaw. The last is waited for (aborting it
  // would show as a DynamoDB fault in X-Ray), unless it hangs (the SDK sets no timeout).
  const checks = new AbortController();
  let checking: Promise<void> | undefined;
  const cancelWatch = setInterval(() => {
    if (checking) return;
    checking = deps.store
      .isCancelRequested(job.id, checks.signal)
      .then(
        (requested) => {
          if (requested) controller.abort(new StopReason('cancelled'));
        },
        (error: unknown) => {
          if (!checks.signal.aborted) deps.logger.warn('checking for a cancel request failed', { jobId: job.id, error: String(error) });
        },
      )
      .finally(() => {
        checking = undefined;
      });
  }, deps.cancelPollIntervalMs);
  const progress = new ProgressWriter(deps, job.id);
  // A processor that ignores its signal still cannot hold the job past its deadline.
  const stopped = new Promise<never>((_, reject) => controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }));
  try {
    const result = await Promise.race([processor(job.input, {
      jobId: job.id,
      attempt: job.attempts,
      signal: controller.signal,
      progress: (completed, total, message) => {
        // A count that is not a number is no progress: the last good one stands.
        const value = makeProgress(completed, total, message);
        if (value) progress.report(value);
      },
    }), stopped]);
    // A processor that blocked the event loop past its time settles before the timer can fire: it timed out all the same.
    if (!controller.signal.aborted && Date.now() >= stopAt) controller.abort(new StopReason('timeout'));
    if (controller.signal.aborted) throw controller.signal.reason;
    const text = jsonText(result ?? null);
    if (text === undefined) {
      return failed(ProblemType.jobFailed, 'Job failed', 'The processor returned a value JSON cannot represent (such as a function, a symbol, a BigInt or a cycle).', progress.latest);
    }
    const size = Buffer.byteLength(text);
    if (size > deps.maxResultBytes) {
      return failed(ProblemType.resultTooLarge, 'Result too large', `The result is ${size} bytes; the limit is ${deps.maxResultBytes} bytes.`, progress.latest);
    }
    const changes: TransitionChanges = { result: result ?? null, ...(progress.latest && { progress: progress.latest }) };
    // The rest of the event (metadata, progress message) counts too: the topic takes no larger message.
    const eventSize = size - 'null'.length + Buffer.byteLength(JSON.stringify(completionEvent({ ...job, ...finalChanges(deps.lifecycle, deps.now()), ...changes, status: 'SUCCEEDED', result: null })));
    if (eventSize > MAX_EVENT_BYTES) {
      return failed(
        ProblemType.resultTooLarge,
        'Result too large',
        `The result is ${size} bytes; with the rest of the job, its completion event would be ${eventSize} bytes, over the ${MAX_EVENT_BYTES} the topic takes.`,
        progress.latest,
      );
    }
    return { kind: 'final', status: 'SUCCEEDED', changes };
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    if (reason instanceof StopReason && reason.why === 'cancelled') return cancelled(progress.latest);
    if (reason instanceof StopReason) {
      const allowed = Math.round((stopAt - startedAt) / 1000);
      const why = allowed < job.timeoutSeconds ? ` (the worker invocation had ${allowed} s left of the job's ${job.timeoutSeconds} s)` : '';
      return failed(ProblemType.jobTimedOut, 'Job timed out', `The attempt did not finish within ${allowed} s${why}.`, progress.latest);
    }
    // Bounded: an upstream's whole error page must not make the final write too large to land.
    const detail = boundedText(thrownText(error, (thrown) => thrown.message));
    if (error instanceof RetryableError) {
      const problem: ProblemDetails = { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail };
      if (job.attempts < deps.lifecycle.maxAttempts) return { kind: 'retry', error: problem, ...(error.retryAfterSeconds !== undefined && { afterSeconds: error.retryAfterSeconds }) };
      const exhausted = attemptsExhausted(job.attempts, problem);
      return failed(exhausted.type, exhausted.title, exhausted.detail ?? '', progress.latest);
    }
    if (!(error instanceof NonRetryableError)) {
      deps.logger.error('processor threw', { jobId: job.id, type: job.type, error: thrownText(error, (thrown) => thrown.stack ?? thrown.message) });
    }
    return failed(ProblemType.jobFailed, 'Job failed', detail, progress.latest);
  } finally {
    clearTimeout(timer);
    clearInterval(cancelWatch);
    if (checking) {
      const giveUp = setTimeout(() => checks.abort(), CANCEL_CHECK_GRACE_MS);
      await checking;
      clearTimeout(giveUp);
    }
    await progress.close();
  }
}

/** Why a job its owner asked to stop while it ran ended CANCELLED (`why` says more). */
export function cancelledProblem(why?: string): ProblemDetails {
  const detail = `The job was cancelled at its owner’s request while it ran${why ? `; ${why}` : ''}.`;
  return { type: ProblemType.jobCancelled, title: 'Job cancelled', status: 409, detail };
}

/** What is said of a job that was asked to stop while its stopped worker held it. */
export const NOT_RUN_AGAIN = 'its worker had stopped (crashed or timed out), and it was not run again';

/** The end of a job its owner asked to stop while it ran. */
function cancelled(progress?: Progress, why?: string): FinalEnding {
  return { kind: 'final', status: 'CANCELLED', changes: { error: cancelledProblem(why), ...(progress && { progress }) } };
}

/** A value as JSON text; undefined when JSON cannot represent it (a function, a symbol, a BigInt, a cycle). */
function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function failed(type: string, title: string, detail: string, progress?: Progress): FinalEnding {
  return { kind: 'final', status: 'FAILED', changes: { error: { type, title, status: 500, detail }, ...(progress && { progress }) } };
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
