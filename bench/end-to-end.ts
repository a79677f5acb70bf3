/**
 * End to end: echo jobs submitted at a fixed concurrency until every one is SUCCEEDED and its event
 * has reached a subscriber of the topic; then the floor, the same AWS calls made directly.
 */
import { names, worker } from '../infra/config.ts';
import { routed, triggered } from '../infra/functions.ts';
import { type Item, createQueue, readItems, waitForEmptyQueue } from './aws-helpers.ts';
import { runConcurrently } from './clients.ts';
import { type BenchContext, submitEcho } from './context.ts';
import { floorJobId, floorSubmit, startFloorConsumer } from './floor.ts';
import type { CapturedOutput } from './output.ts';
import { type OperationCounts, type RecordedRequest, countOperations, observedBatches } from './request-log.ts';
import { type Latency, latency, median, now } from './stats.ts';

export interface EndToEndPlan {
  readonly jobs: number;
  readonly concurrency: number;
  readonly timeoutMs: number;
}

/** One run, of the runtime or of the floor. */
export interface FlowResult {
  readonly jobs: number;
  /** Jobs whose record is SUCCEEDED and whose event, the one the record names, a subscriber received. */
  readonly completed: number;
  readonly distinctEvents: number;
  readonly elapsedMs: number;
  readonly jobsPerSecond: number;
  /** `finishedAt - createdAt` of the records, ms. */
  readonly submitToFinal: Latency;
  /** From the start of the POST to the event's arrival at the subscriber, ms (bench clock). */
  readonly submitToEvent: Latency;
}

/** What the runtime run adds: the AWS requests it made, and what the bill needs. */
export interface RuntimeFlowResult extends FlowResult {
  readonly counts: OperationCounts;
  readonly requests: readonly RecordedRequest[];
  /** Invocations of the queue consumer, as receive/delete pairs on the jobs queue. */
  readonly invocations: number;
  readonly meanBatchSize: number;
  /** Median handler duration of one consumer invocation, ms. */
  readonly invocationMsMedian: number;
  /** Billed consumer time (each invocation's handler duration rounded up to the millisecond), ms. */
  readonly invocationMsTotal: number;
  /** Billed time of the submit invocations, ms, and how many there were. */
  readonly submitMsTotal: number;
  readonly submitInvocations: number;
  readonly emptyReceives: number;
  /** Bytes the functions logged, per job. */
  readonly logBytesPerJob: number;
}

function millis(item: Item | undefined, name: string): number {
  const text = item?.[name]?.S;
  return text ? Date.parse(text) : Number.NaN;
}

async function collect(
  ctx: BenchContext,
  ids: readonly string[],
  submittedAt: ReadonlyMap<string, number>,
  start: number,
): Promise<{ flow: FlowResult; items: Map<string, Item> }> {
  const items = await readItems(ctx.clients, ctx.runtime.resources.tableName, ids);
  let end = start;
  let completed = 0;
  const toFinal: number[] = [];
  const toEvent: number[] = [];
  for (const id of ids) {
    const event = ctx.events.eventOf(id);
    const item = items.get(id);
    if (event) {
      end = Math.max(end, event.receivedAt);
      toEvent.push(event.receivedAt - (submittedAt.get(id) ?? Number.NaN));
    }
    if (event?.type === 'job.succeeded' && item?.status?.S === 'SUCCEEDED' && event.eventId === item.eventId?.S) completed++;
    toFinal.push(millis(item, 'finishedAt') - millis(item, 'createdAt'));
  }
  const elapsedMs = end - start;
  return {
    items,
    flow: {
      jobs: ids.length,
      completed,
      distinctEvents: ctx.events.distinctEvents(ids),
      elapsedMs,
      jobsPerSecond: ids.length / (elapsedMs / 1000),
      submitToFinal: latency(toFinal.filter(Number.isFinite)),
      submitToEvent: latency(toEvent.filter(Number.isFinite)),
    },
  };
}

/** Submits `plan.jobs` echo jobs through the API and follows them to their events. */
export async function runThroughRuntime(ctx: BenchContext, plan: EndToEndPlan, output?: CapturedOutput): Promise<RuntimeFlowResult> {
  await ctx.settle();
  ctx.log.reset();
  ctx.invocations.reset();
  output?.reset();
  const ids: string[] = [];
  const submittedAt = new Map<string, number>();
  const start = now();
  await runConcurrently(plan.jobs, plan.concurrency, async () => {
    const at = now();
    const id = await submitEcho(ctx.api);
    ids.push(id);
    submittedAt.set(id, at);
  });
  await ctx.events.waitForJobs(ids, plan.timeoutMs);
  // The consumer deletes a batch once its invocation returns: an empty queue means every write is in.
  await ctx.settle(plan.timeoutMs);
  const requests = [...ctx.log.requests()];
  const logBytes = output?.bytes ?? 0;
  const { flow } = await collect(ctx, ids, submittedAt, start);
  const { batches, emptyReceives } = observedBatches(requests, names.queue);
  const consumer = ctx.invocations.of(triggered('jobs-queue'));
  const submits = ctx.invocations.of(routed('POST', '/jobs'));
  return {
    ...flow,
    counts: countOperations(requests),
    requests,
    invocations: batches.length,
    meanBatchSize: batches.reduce((sum, batch) => sum + batch.size, 0) / Math.max(1, batches.length),
    invocationMsMedian: consumer.medianMs,
    invocationMsTotal: consumer.billedMs,
    submitMsTotal: submits.billedMs,
    submitInvocations: submits.count,
    emptyReceives,
    logBytesPerJob: logBytes / plan.jobs,
  };
}

/** Floor runs so far: each gets a queue of its own. */
let floorRuns = 0;

/** The same jobs with no handlers: direct PutItem + SendMessage, a consumer doing the budget's calls. */
export async function runThroughFloor(ctx: BenchContext, plan: EndToEndPlan): Promise<FlowResult> {
  // A queue of its own: fauxqs keeps serving a long poll whose client has gone, so the previous run's two
  // stopped polls would take this run's first messages and hide them for the visibility timeout (30 s).
  floorRuns += 1;
  const queue = await createQueue(ctx.clients.sqs, `${names.queue}-bench-floor-${floorRuns}`);
  const errors: unknown[] = [];
  const stopConsumer = startFloorConsumer(ctx.clients, {
    queueUrl: queue.url,
    tableName: ctx.runtime.resources.tableName,
    topicArn: ctx.runtime.resources.topicArn,
    batchSize: worker.batchSize,
    loops: 2,
    onError: (error) => errors.push(error),
  });
  try {
    const ids: string[] = [];
    const submittedAt = new Map<string, number>();
    const start = now();
    await runConcurrently(plan.jobs, plan.concurrency, async () => {
      const at = now();
      const id = floorJobId();
      await floorSubmit(ctx.clients, ctx.template, id, queue.url);
      ids.push(id);
      submittedAt.set(id, at);
    });
    await ctx.events.waitForJobs(ids, plan.timeoutMs);
    await waitForEmptyQueue(ctx.clients.sqs, queue.url, plan.timeoutMs);
    if (errors.length > 0) throw new Error(`the floor consumer failed: ${String(errors[0])}`);
    return (await collect(ctx, ids, submittedAt, start)).flow;
  } finally {
    await stopConsumer();
  }
}

/** The runtime's runs together: what the checks and the bill read. */
export interface CountedRuns {
  readonly jobs: number;
  readonly completed: number;
  readonly distinctEvents: number;
  readonly counts: OperationCounts;
  readonly requests: readonly RecordedRequest[];
  readonly invocations: number;
  readonly invocationMsTotal: number;
  readonly invocationMsMedian: number;
  readonly submitMsTotal: number;
  readonly submitInvocations: number;
  readonly meanBatchSize: number;
  readonly emptyReceives: number;
  readonly logBytesPerJob: number;
}

export interface EndToEndResult {
  readonly plan: EndToEndPlan;
  readonly repeats: readonly { readonly runtime: FlowResult; readonly floor: FlowResult }[];
  /** Medians over the repeats. */
  readonly runtime: { readonly jobsPerSecond: number; readonly p50: number; readonly p99: number };
  readonly floor: { readonly jobsPerSecond: number; readonly p50: number; readonly p99: number };
  /** Medians over repeats of runtime ÷ floor, each from one repeat. */
  readonly ratio: { readonly jobsPerSecond: number; readonly p50: number; readonly p99: number };
  readonly counted: CountedRuns;
}

/** A run as reported, without what only the runtime's runs carry. */
function summary(flow: FlowResult): FlowResult {
  const { jobs, completed, distinctEvents, elapsedMs, jobsPerSecond, submitToFinal, submitToEvent } = flow;
  return { jobs, completed, distinctEvents, elapsedMs, jobsPerSecond, submitToFinal, submitToEvent };
}

/** Joins the runtime's runs: counts add up, times are taken over all of them. */
export function countedRuns(runs: readonly RuntimeFlowResult[]): CountedRuns {
  const counts: Record<string, number> = {};
  for (const run of runs) for (const [key, value] of Object.entries(run.counts)) counts[key] = (counts[key] ?? 0) + value;
  const sum = (pick: (run: RuntimeFlowResult) => number) => runs.reduce((acc, run) => acc + pick(run), 0);
  const jobs = sum((run) => run.jobs);
  const invocations = sum((run) => run.invocations);
  return {
    jobs,
    completed: sum((run) => run.completed),
    distinctEvents: sum((run) => run.distinctEvents),
    counts,
    requests: runs.flatMap((run) => run.requests),
    invocations,
    invocationMsTotal: sum((run) => run.invocationMsTotal),
    invocationMsMedian: median(runs.map((run) => run.invocationMsMedian)),
    submitMsTotal: sum((run) => run.submitMsTotal),
    submitInvocations: sum((run) => run.submitInvocations),
    meanBatchSize: sum((run) => run.meanBatchSize * run.invocations) / Math.max(1, invocations),
    emptyReceives: sum((run) => run.emptyReceives),
    logBytesPerJob: sum((run) => run.logBytesPerJob * run.jobs) / Math.max(1, jobs),
  };
}

/** Runtime and floor, `repeats` times, alternating which goes first. */
export async function measureEndToEnd(
  ctx: BenchContext,
  plan: EndToEndPlan,
  repeats: number,
  output: CapturedOutput | undefined,
  onProgress: (line: string) => void,
): Promise<EndToEndResult> {
  const runtimeRuns: RuntimeFlowResult[] = [];
  const pairs: { runtime: FlowResult; floor: FlowResult }[] = [];
  // Start the instances this concurrency needs first, unmeasured: their first invocations would
  // otherwise bill 30 cold code paths sharing the machine's cores (deployed, each has its own).
  onProgress(`end to end: warming ${plan.concurrency} instances`);
  const warm: string[] = [];
  await runConcurrently(plan.concurrency * 4, plan.concurrency, async () => {
    warm.push(await submitEcho(ctx.api));
  });
  await ctx.events.waitForJobs(warm, plan.timeoutMs);
  await ctx.settle(plan.timeoutMs);
  for (let repeat = 0; repeat < repeats; repeat++) {
    let runtime: RuntimeFlowResult | undefined;
    let floor: FlowResult | undefined;
    for (const side of repeat % 2 === 0 ? ['runtime', 'floor'] : ['floor', 'runtime']) {
      onProgress(`end to end: ${side}, ${plan.jobs} jobs (${repeat + 1} of ${repeats})`);
      if (side === 'runtime') runtime = await runThroughRuntime(ctx, plan, output);
      else floor = await runThroughFloor(ctx, plan);
    }
    if (!runtime || !floor) throw new Error('a side did not run');
    runtimeRuns.push(runtime);
    pairs.push({ runtime: summary(runtime), floor: summary(floor) });
  }
  const med = (pick: (pair: { runtime: FlowResult; floor: FlowResult }) => number) => median(pairs.map(pick));
  return {
    plan,
    repeats: pairs,
    runtime: {
      jobsPerSecond: med((p) => p.runtime.jobsPerSecond),
      p50: med((p) => p.runtime.submitToFinal.p50),
      p99: med((p) => p.runtime.submitToFinal.p99),
    },
    floor: {
      jobsPerSecond: med((p) => p.floor.jobsPerSecond),
      p50: med((p) => p.floor.submitToFinal.p50),
      p99: med((p) => p.floor.submitToFinal.p99),
    },
    ratio: {
      jobsPerSecond: med((p) => p.runtime.jobsPerSecond / p.floor.jobsPerSecond),
      p50: med((p) => p.runtime.submitToFinal.p50 / p.floor.submitToFinal.p50),
      p99: med((p) => p.runtime.submitToFinal.p99 / p.floor.submitToFinal.p99),
    },
    counted: countedRuns(runtimeRuns),
  };
}
