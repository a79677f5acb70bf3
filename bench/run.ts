/**
 * `npm run bench`: how fast and how cheap a job is, next to the floor measured in the same run.
 *   --quick          a CI-sized run (well under a minute): request counts checked exactly, submit at
 *                    concurrency 1 only, no cold start, no npm start; exits non-zero when a count or
 *                    a job is wrong
 *   --only <list>    comma-separated sections: submit,e2e,cold,start (default: all; quick: submit,e2e)
 *   --jobs <n>       jobs per end to end run (default 2000; quick 100)
 *   --node <path>    the Node binary cold starts are measured with (default: this one's). Lambda runs
 *                    Node 22: `--node "$(npx -y -p node@22 -c 'command -v node')"`
 * Writes bench/results.md and bench/results.json (bench/results-quick.* with --quick).
 * Never asserts a timing: goals are reported as met or not met.
 */
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { names } from '../infra/config.ts';
import { describeIndexes } from './aws-helpers.ts';
import { type Check, budgetChecks, submitChecks } from './checks.ts';
import { type ColdStartResult, measureColdStart, nodeVersion } from './cold-start.ts';
import { startBench } from './context.ts';
import { type Bill, bill } from './cost.ts';
import { writeUnits } from './dynamodb-units.ts';
import { type CountedRuns, type EndToEndResult, measureEndToEnd } from './end-to-end.ts';
import { type StartResult, measureStart } from './npm-start.ts';
import { CapturedOutput, UsageError, print, say } from './output.ts';
import { type BenchResults, type RequestsSummary, renderMarkdown } from './report.ts';
import { operationKey } from './request-log.ts';
import { median } from './stats.ts';
import { type SubmitPlan, type SubmitResult, measureSubmit } from './submit.ts';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const SECTIONS = ['submit', 'e2e', 'cold', 'start'] as const;
type Section = (typeof SECTIONS)[number];

interface Plan {
  readonly quick: boolean;
  readonly sections: ReadonlySet<Section>;
  readonly submit: readonly SubmitPlan[];
  readonly jobs: number;
  readonly endToEndRepeats: number;
  readonly coldStartSamples: number;
  readonly startRepeats: number;
  /** The binary cold starts load bundles with. */
  readonly node: string;
}

function planFrom(argv: readonly string[]): Plan {
  let values: { quick?: boolean; only?: string; jobs?: string; node?: string };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { quick: { type: 'boolean' }, only: { type: 'string' }, jobs: { type: 'string' }, node: { type: 'string' } },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const quick = values.quick ?? false;
  const requested = values.only?.split(',').map((name) => name.trim()) ?? (quick ? ['submit', 'e2e'] : [...SECTIONS]);
  const unknown = requested.filter((name) => !(SECTIONS as readonly string[]).includes(name));
  if (unknown.length > 0) throw new UsageError(`unknown section(s) ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}`);
  const jobs = values.jobs === undefined ? (quick ? 100 : 2000) : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, got ${values.jobs}`);
  return {
    quick,
    sections: new Set(requested as Section[]),
    submit: quick
      ? // Concurrency 32 starts 31 more instances of submit-job; the end to end run does that anyway.
        [{ concurrency: 1, requests: 15, repeats: 2, warmup: 5, isolated: true }]
      : [
          { concurrency: 1, requests: 60, repeats: 7, warmup: 150, isolated: true },
          { concurrency: 32, requests: 640, repeats: 5, warmup: 128, isolated: false },
        ],
    jobs,
    endToEndRepeats: quick ? 1 : 3,
    coldStartSamples: quick ? 5 : 21,
    startRepeats: quick ? 1 : 5,
    // A path, made absolute: the loads run in each bundle's folder. A bare name is looked up on PATH.
    node: values.node === undefined ? process.execPath : values.node.includes(path.sep) ? path.resolve(values.node) : values.node,
  };
}

function requestsSummary(counted: CountedRuns, units: RequestsSummary['writeUnits']): RequestsSummary {
  const times = new Map<string, number[]>();
  for (const request of counted.requests) {
    if (request.end === undefined) continue;
    const key = operationKey(request);
    times.set(key, [...(times.get(key) ?? []), request.end - request.start]);
  }
  const operations = Object.entries(counted.counts)
    .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
    .map(([operation, count]) => ({ operation, count, perJob: count / counted.jobs, emulatorMsP50: median(times.get(operation) ?? []) }));
  return {
    jobs: counted.jobs,
    operations,
    writeUnits: units,
    invocationsPerJob: counted.invocations / counted.jobs,
    meanBatchSize: counted.meanBatchSize,
    invocationMsMedian: counted.invocationMsMedian,
    emptyReceives: counted.emptyReceives,
    logBytesPerJob: counted.logBytesPerJob,
  };
}

async function main(): Promise<number> {
  const plan = planFrom(process.argv.slice(2));
  // Before the minutes of the other sections, so a wrong --node fails at once.
  const coldNodeVersion = plan.sections.has('cold') ? await nodeVersion(plan.node) : undefined;
  if (coldNodeVersion) say(`cold start: loads with Node ${coldNodeVersion} (${plan.node})`);
  const started = performance.now();
  const date = new Date().toISOString();
  const loadAverage = os.loadavg();
  const checks: Check[] = [];
  const sectionSeconds: Record<string, number> = {};
  const timed = async <T>(section: string, work: () => Promise<T>): Promise<T> => {
    const begin = performance.now();
    try {
      return await work();
    } finally {
      sectionSeconds[section] = Math.round((performance.now() - begin) / 100) / 10;
      say(`${section}: ${sectionSeconds[section]} s`);
    }
  };
  let submit: SubmitResult[] = [];
  let endToEnd: EndToEndResult | undefined;
  let requests: RequestsSummary | undefined;
  let cost: Bill | undefined;
  let costUnderLoad: Bill | undefined;
  let coldStart: ColdStartResult | undefined;
  let start: StartResult[] | undefined;

  if (plan.sections.has('submit') || plan.sections.has('e2e')) {
    const output = new CapturedOutput();
    output.install();
    try {
      say('starting the local runtime');
      const ctx = await timed('runtime start', startBench);
      try {
        for (const submitPlan of plan.sections.has('submit') ? plan.submit : []) {
          say(`submit: concurrency ${submitPlan.concurrency}, ${submitPlan.repeats} × ${submitPlan.requests} requests per side`);
          const result = await timed(`submit c${submitPlan.concurrency}`, () => measureSubmit(ctx, submitPlan));
          submit = [...submit, result];
          checks.push(...submitChecks(result.counts, result.submits, names.queue, submitPlan.concurrency));
        }
        if (plan.sections.has('e2e')) {
          endToEnd = await timed('end to end', () =>
            measureEndToEnd(ctx, { jobs: plan.jobs, concurrency: 32, timeoutMs: 300_000 }, plan.endToEndRepeats, output, say),
          );
          const { counted } = endToEnd;
          checks.push(...budgetChecks(counted, names.queue));
          const indexes = await describeIndexes(ctx.clients, ctx.runtime.resources.tableName);
          requests = requestsSummary(counted, writeUnits(counted.requests, 'id', indexes));
          const requestsBill = {
            jobs: counted.jobs,
            counts: counted.counts,
            units: requests.writeUnits,
            invocationsPerJob: requests.invocationsPerJob,
            logBytesPerJob: counted.logBytesPerJob,
          };
          // Handler times of the end to end runs: 32 requests at once, every instance and both emulators on this machine's cores.
          const loaded = bill({
            ...requestsBill,
            durations: 'the end to end runs (32 at once on this machine)',
            workerMsPerJob: counted.invocationMsTotal / counted.jobs,
            submitMs: counted.submitMsTotal / Math.max(1, counted.submitInvocations),
          });
          // Handler times of the isolated submits: one invocation at a time, as a deployed instance runs on a CPU of its own.
          const alone = submit.find((result) => result.concurrency === 1)?.billed;
          cost = alone
            ? bill({
                ...requestsBill,
                durations: 'the isolated submits at concurrency 1 (one invocation at a time; the worker ran one job per invocation)',
                workerMsPerJob: alone.workerMs / Math.max(1, alone.jobs),
                submitMs: alone.submitMs / Math.max(1, alone.submitInvocations),
              })
            : loaded;
          if (alone) {
            costUnderLoad = loaded;
            // The bill of the isolated runs stands only if every invocation told its handler time.
            checks.push({
              name: 'isolated submits: a handler time for each submit and each job',
              expected: `${alone.jobs} and ${alone.jobs}`,
              actual: `${alone.submitInvocations} and ${alone.workerInvocations}`,
              ok: alone.submitInvocations === alone.jobs && alone.workerInvocations === alone.jobs,
            });
          }
        }
        const errors = [...ctx.runtimeErrors, ...ctx.events.errors];
        checks.push({ name: 'no runtime or subscriber errors', expected: '0', actual: String(errors.length), ok: errors.length === 0 });
        for (const error of errors.slice(0, 5)) say(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      } finally {
        await ctx.stop();
      }
    } catch (error) {
      say(output.lastLines().join('\n'));
      throw error;
    } finally {
      output.restore();
    }
  }
  if (plan.sections.has('cold')) coldStart = await timed('cold start', () => measureColdStart(plan.coldStartSamples, say, plan.node, coldNodeVersion));
  if (plan.sections.has('start')) start = await timed('npm start', () => measureStart(plan.startRepeats, say));

  const ok = checks.every((check) => check.ok);
  const results: BenchResults = {
    mode: plan.quick ? 'quick' : 'full',
    date,
    machine: { node: process.version, cpus: os.cpus().length, loadAverage },
    durationMs: performance.now() - started,
    sectionSeconds,
    submit,
    ...(endToEnd && {
      endToEnd: { plan: endToEnd.plan, repeats: endToEnd.repeats, runtime: endToEnd.runtime, floor: endToEnd.floor, ratio: endToEnd.ratio },
    }),
    ...(requests && { requests }),
    ...(cost && { cost }),
    ...(costUnderLoad && { costUnderLoad }),
    ...(coldStart && { coldStart }),
    ...(start && { start }),
    checks,
    ok,
  };
  const markdown = renderMarkdown(results);
  print(markdown);
  const base = path.join(benchDir, plan.quick ? 'results-quick' : 'results');
  await writeFile(`${base}.md`, markdown);
  await writeFile(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  say(`wrote ${path.relative(process.cwd(), base)}.md and .json${ok ? '' : '; some request checks FAILED'}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A wrong option says what to change; anything else keeps its stack for whoever debugs the bench.
    say(`bench failed: ${error instanceof UsageError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(2);
  },
);
