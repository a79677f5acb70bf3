/**
 * Submit overhead: `POST /jobs` through the local runtime against its floor, the same PutItem and
 * SendMessage issued directly, on the same emulators, in the same run. Repeats alternate which side
 * goes first, and the queue is drained between bursts, so neither side pays for the other's jobs.
 */
import { routed, triggered } from '../infra/functions.ts';
import { runConcurrently } from './clients.ts';
import { type BenchContext, submitEcho } from './context.ts';
import { floorJobId, floorSubmit, submitRequests } from './floor.ts';
import { countOperations } from './request-log.ts';
import { type Latency, latency, median, now } from './stats.ts';
import { startThreadFloor } from './thread-floor.ts';

export interface SubmitPlan {
  readonly concurrency: number;
  /** Requests per burst. */
  readonly requests: number;
  readonly repeats: number;
  /** Requests per side before measuring, to start the instances this concurrency needs. */
  readonly warmup: number;
  /**
   * Wait, after each request, until its job has run and its event arrived, so the request does not
   * share the machine with the previous job's processing (which on AWS runs elsewhere).
   */
  readonly isolated: boolean;
}

export interface SubmitRepeat {
  readonly runtime: Latency;
  readonly floor: Latency;
  /** The floor's requests from a worker thread, timed there (isolated runs only). */
  readonly threadFloor: Latency;
  /** A request through the HTTP API and an instance that makes no AWS call (isolated runs only). */
  readonly hop: Latency;
  /** Median handler time of the runtime side's submits, measured in the instance (what Lambda bills). */
  readonly handlerP50: number;
}

export interface SubmitResult {
  readonly concurrency: number;
  readonly requests: number;
  readonly repeats: readonly SubmitRepeat[];
  /** Medians over the repeats. */
  readonly runtimeP50: number;
  readonly runtimeP99: number;
  readonly floorP50: number;
  readonly floorP99: number;
  readonly threadFloorP50: number;
  readonly threadFloorP99: number;
  readonly hopP50: number;
  /** Median over repeats of the submit handler's median time in the instance: the rest of `runtimeP50` is the HTTP API and the hop. */
  readonly handlerP50: number;
  /** Median over repeats of runtime / floor, each repeat's ratio taken in the same run. */
  readonly ratioP50: number;
  readonly ratioP99: number;
  /** Requests the runtime's submits made, by operation, and how many submits there were. */
  readonly counts: Readonly<Record<string, number>>;
  readonly submits: number;
  /**
   * Billed handler time of the runtime side's invocations, ms (each rounded up to 1 ms): the submits,
   * and the worker invocations that ran their jobs (one job each when isolated).
   */
  readonly billed: { readonly submitMs: number; readonly submitInvocations: number; readonly workerMs: number; readonly workerInvocations: number; readonly jobs: number };
}

type Side = 'runtime' | 'floor' | 'threadFloor' | 'hop';

/** One request of a side: the job it created, and the time when the side measures it itself. */
type Once = () => Promise<{ id?: string; ms?: number }>;

async function burst(count: number, concurrency: number, once: Once, quiet?: (id: string | undefined) => Promise<void>): Promise<number[]> {
  const samples: number[] = [];
  await runConcurrently(count, concurrency, async () => {
    const start = now();
    const { id, ms } = await once();
    samples.push(ms ?? now() - start);
    await quiet?.(id);
  });
  return samples;
}

export async function measureSubmit(ctx: BenchContext, plan: SubmitPlan): Promise<SubmitResult> {
  const queueUrl = ctx.runtime.resources.queueUrl;
  const thread = await startThreadFloor(ctx.runtime.endpoints);
  try {
    return await measure(ctx, plan, {
      runtime: async () => ({ id: await submitEcho(ctx.api) }),
      floor: async () => {
        const id = floorJobId();
        await floorSubmit(ctx.clients, ctx.template, id, queueUrl);
        return { id };
      },
      threadFloor: async () => {
        const id = floorJobId();
        const { put, send } = submitRequests(ctx.template, id, queueUrl);
        return { id, ms: await thread.submit(put, send) };
      },
      // Not a job id: get-job answers 404 without a lookup, so this is the HTTP API and the instance alone.
      hop: async () => {
        const answer = await ctx.api.request('GET', '/jobs/not-a-job');
        if (answer.status !== 404) throw new Error(`GET /jobs/not-a-job answered ${answer.status}`);
        return {};
      },
    });
  } finally {
    await thread.stop();
  }
}

async function measure(ctx: BenchContext, plan: SubmitPlan, sides: Record<Side, Once>): Promise<SubmitResult> {
  // Isolated: wait for the job's event and an empty queue; a request that made no job idles as long.
  const quiet = plan.isolated
    ? async (id: string | undefined) => {
        if (id) {
          await ctx.events.waitForJobs([id], 30_000);
          await ctx.settle(30_000, 2);
        } else await new Promise((resolve) => setTimeout(resolve, 20));
      }
    : undefined;
  // The thread floor and the bare hop explain the gap of a lone request; under concurrency one
  // thread serving 32 requests would not stand for 32 instances.
  const measured: Side[] = plan.isolated ? ['runtime', 'floor', 'threadFloor', 'hop'] : ['runtime', 'floor'];
  for (const side of measured) await burst(plan.warmup, plan.concurrency, sides[side], quiet);
  await ctx.settle();

  const repeats: SubmitRepeat[] = [];
  const counts: Record<string, number> = {};
  let submits = 0;
  const billed = { submitMs: 0, submitInvocations: 0, workerMs: 0, workerInvocations: 0, jobs: 0 };
  for (let repeat = 0; repeat < plan.repeats; repeat++) {
    const order = repeat % 2 === 0 ? measured : [...measured].reverse();
    const samples: Record<Side, number[]> = { runtime: [], floor: [], threadFloor: [], hop: [] };
    let handlerP50 = Number.NaN;
    for (const side of order) {
      ctx.log.reset();
      ctx.invocations.reset();
      samples[side] = await burst(plan.requests, plan.concurrency, sides[side], quiet);
      await ctx.settle();
      if (side === 'runtime') {
        const submitted = ctx.invocations.of(routed('POST', '/jobs'));
        const worked = ctx.invocations.of(triggered('jobs-queue'));
        handlerP50 = submitted.medianMs;
        billed.submitMs += submitted.billedMs;
        billed.submitInvocations += submitted.count;
        billed.workerMs += worked.billedMs;
        billed.workerInvocations += worked.count;
        billed.jobs += plan.requests;
        submits += plan.requests;
        for (const [key, value] of Object.entries(countOperations(ctx.log.requests()))) counts[key] = (counts[key] ?? 0) + value;
      }
    }
    repeats.push({
      runtime: latency(samples.runtime),
      floor: latency(samples.floor),
      threadFloor: latency(samples.threadFloor),
      hop: latency(samples.hop),
      handlerP50,
    });
  }
  return {
    concurrency: plan.concurrency,
    requests: plan.requests,
    repeats,
    runtimeP50: median(repeats.map((r) => r.runtime.p50)),
    runtimeP99: median(repeats.map((r) => r.runtime.p99)),
    floorP50: median(repeats.map((r) => r.floor.p50)),
    floorP99: median(repeats.map((r) => r.floor.p99)),
    threadFloorP50: median(repeats.map((r) => r.threadFloor.p50)),
    threadFloorP99: median(repeats.map((r) => r.threadFloor.p99)),
    hopP50: median(repeats.map((r) => r.hop.p50)),
    handlerP50: median(repeats.map((r) => r.handlerP50)),
    ratioP50: median(repeats.map((r) => r.runtime.p50 / r.floor.p50)),
    ratioP99: median(repeats.map((r) => r.runtime.p99 / r.floor.p99)),
    counts,
    submits,
    billed,
  };
}
