/** The results as JSON and as the markdown tables `npm run bench` prints. */
import { names } from '../infra/config.ts';
import type { Check } from './checks.ts';
import type { ColdStartResult } from './cold-start.ts';
import type { Bill } from './cost.ts';
import type { WriteUnits } from './dynamodb-units.ts';
import { AFTER_INSTALL, type StartResult } from './npm-start.ts';
import { fixed } from './stats.ts';
import type { SubmitResult } from './submit.ts';
import type { EndToEndResult } from './end-to-end.ts';

/** One operation in the requests table. */
export interface OperationRow {
  readonly operation: string;
  readonly count: number;
  readonly perJob: number;
  /** Median time the emulator took to answer it, ms. */
  readonly emulatorMsP50: number;
}

export interface RequestsSummary {
  readonly jobs: number;
  readonly operations: readonly OperationRow[];
  readonly writeUnits: WriteUnits;
  readonly invocationsPerJob: number;
  readonly meanBatchSize: number;
  readonly invocationMsMedian: number;
  readonly emptyReceives: number;
  readonly logBytesPerJob: number;
}

/** The end to end result as reported: without the requests the runs counted. */
export type EndToEndSummary = Omit<EndToEndResult, 'counted'>;

export interface BenchResults {
  readonly mode: 'quick' | 'full';
  readonly date: string;
  readonly machine: { readonly node: string; readonly cpus: number; readonly loadAverage: readonly number[] };
  readonly durationMs: number;
  /** Wall time of each section, s. */
  readonly sectionSeconds: Readonly<Record<string, number>>;
  readonly submit: readonly SubmitResult[];
  readonly endToEnd?: EndToEndSummary;
  readonly requests?: RequestsSummary;
  readonly cost?: Bill;
  /** The same bill with the handler times of the end to end runs (when `cost` uses the isolated ones). */
  readonly costUnderLoad?: Bill;
  readonly coldStart?: ColdStartResult;
  readonly start?: readonly StartResult[];
  readonly checks: readonly Check[];
  readonly ok: boolean;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

const ms = (value: number) => `${fixed(value, value < 10 ? 2 : 1)} ms`;
const kb = (bytes: number) => `${fixed(bytes / 1024, 1)} KB`;
const dollars = (value: number) => `$${fixed(value, value < 1 ? 3 : 2)}`;
const goal = (met: boolean, text: string) => `${text} ${met ? '(met)' : '(not met)'}`;

function summaryRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  for (const submit of results.submit) {
    const c = submit.concurrency;
    const p50Goal = c === 1 ? goal(submit.ratioP50 <= 1.3, 'ratio ≤ 1.3') : '';
    rows.push([`Submit p50, concurrency ${c}`, ms(submit.runtimeP50), ms(submit.floorP50), fixed(submit.ratioP50), p50Goal]);
    rows.push([`Submit p99, concurrency ${c}`, ms(submit.runtimeP99), ms(submit.floorP99), fixed(submit.ratioP99), '']);
  }
  const e2e = results.endToEnd;
  if (e2e) {
    const label = `${e2e.plan.jobs} echo jobs, concurrency ${e2e.plan.concurrency}`;
    rows.push([`End to end, jobs/s (${label})`, fixed(e2e.runtime.jobsPerSecond, 1), fixed(e2e.floor.jobsPerSecond, 1), fixed(e2e.ratio.jobsPerSecond), '']);
    rows.push(['End to end, submit → final p50', ms(e2e.runtime.p50), ms(e2e.floor.p50), fixed(e2e.ratio.p50), '']);
    rows.push(['End to end, submit → final p99', ms(e2e.runtime.p99), ms(e2e.floor.p99), fixed(e2e.ratio.p99), '']);
  }
  if (results.cost) {
    const { cost } = results;
    rows.push(['$ per million jobs, before polling', dollars(cost.total), `Step Functions: ${dollars(cost.stepFunctions)}`, fixed(cost.total / cost.stepFunctions, 3), goal(cost.total < 5, '< $5')]);
    if (results.costUnderLoad) {
      const loaded = results.costUnderLoad;
      rows.push([
        '$ per million jobs, handler times under the end to end load',
        dollars(loaded.total),
        `Step Functions: ${dollars(loaded.stepFunctions)}`,
        fixed(loaded.total / loaded.stepFunctions, 3),
        goal(loaded.total < 5, '< $5'),
      ]);
    }
  }
  if (results.coldStart) {
    const coldRow = (label: string, loadMs: number, size: number, floorLoadMs: number, floorSize: number, ratio: number) => {
      const extra = size - floorSize;
      rows.push([
        label,
        `${ms(loadMs)}, ${kb(size)}`,
        `${ms(floorLoadMs)}, ${kb(floorSize)}`,
        fixed(ratio),
        `${goal(ratio <= 1.15, 'ratio ≤ 1.15')}; ${goal(extra <= 50 * 1024, `+${kb(extra)} ≤ 50 KB`)}`,
      ]);
    };
    for (const row of results.coldStart.rows) {
      coldRow(`Cold start ${row.function}: load, size`, row.loadMs, row.size.codeBytes, row.floorLoadMs, row.floorSize.codeBytes, row.ratio);
    }
    for (const row of results.coldStart.rows) {
      coldRow(
        `Cold start ${row.function}, tracing off: load, size`,
        row.untracedLoadMs,
        row.untracedSize.codeBytes,
        row.untracedFloorLoadMs,
        row.floorSize.codeBytes,
        row.untracedRatio,
      );
    }
  }
  for (const start of results.start ?? []) {
    const isNpm = start.command === 'npm start' || start.command === AFTER_INSTALL;
    rows.push([`${start.command} → first 202`, ms(start.firstJobMsMedian), '', '', isNpm ? goal(start.firstJobMsMedian < 1500, '< 1.5 s') : '']);
  }
  return rows;
}

/** The report, as printed and written to results.md. */
export function renderMarkdown(results: BenchResults): string {
  const out: string[] = [];
  const { machine } = results;
  out.push(`# npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}`);
  out.push('');
  out.push(
    `${results.date}; Node ${machine.node}, ${machine.cpus} CPUs, load average ${machine.loadAverage.map((load) => load.toFixed(1)).join(' ')} at the start; ` +
      `${(results.durationMs / 1000).toFixed(0)} s (${Object.entries(results.sectionSeconds)
        .map(([section, seconds]) => `${section} ${seconds} s`)
        .join(', ')}). Floors are measured in the same run on the same emulators; ratios are runtime ÷ floor ` +
      '(for jobs/s, below 1 is slower); every figure is a median over repeats. Absolute times depend on the machine: compare ratios.',
  );
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push(table(['measure', 'async-jobs', 'floor', 'ratio', 'goal'], summaryRows(results)));
  if (results.submit.length > 0) {
    out.push('');
    out.push('## Submit (`POST /jobs`)');
    out.push('');
    out.push(
      'Floor: the handler\'s own PutItem and SendMessage (copied from the requests it sent) issued by the bench with the SDK; ' +
        '*from a thread*: the same from a worker thread, timed there, as an instance issues them; *HTTP API + instance*: ' +
        '`GET /jobs/not-a-job`, answered 404 by get-job without an AWS call; *handler*: the submit-job invocations\' own time, ' +
        'measured in the instance (what Lambda bills), the rest of async-jobs\' time being the HTTP API and the way to and from ' +
        'the instance. At concurrency 1 each request waits until the ' +
        'previous job has run, as on AWS, where the worker does not share the machine with the API.',
    );
    out.push('');
    out.push(
      table(
        ['concurrency', 'async-jobs p50 / p99', 'handler p50', 'floor p50 / p99', 'floor from a thread p50 / p99', 'HTTP API + instance p50', 'p50 ratio per repeat'],
        results.submit.map((submit) => [
          `${submit.concurrency} (${submit.repeats.length} × ${submit.requests})`,
          `${ms(submit.runtimeP50)} / ${ms(submit.runtimeP99)}`,
          Number.isFinite(submit.handlerP50) ? ms(submit.handlerP50) : 'n/a',
          `${ms(submit.floorP50)} / ${ms(submit.floorP99)}`,
          Number.isFinite(submit.threadFloorP50) ? `${ms(submit.threadFloorP50)} / ${ms(submit.threadFloorP99)}` : 'n/a',
          Number.isFinite(submit.hopP50) ? ms(submit.hopP50) : 'n/a',
          submit.repeats.map((repeat) => fixed(repeat.runtime.p50 / repeat.floor.p50)).join(', '),
        ]),
      ),
    );
  }
  if (results.endToEnd) {
    const e2e = results.endToEnd;
    out.push('');
    out.push(`## End to end (${e2e.plan.jobs} echo jobs at concurrency ${e2e.plan.concurrency}, until every event reached a subscriber)`);
    out.push('');
    out.push(
      'Floor: the handler\'s PutItem + SendMessage, and a consumer with as many receive loops as the local event source mapping ' +
        'that runs each batch\'s jobs concurrently with the worker\'s calls (start UpdateItem, finish UpdateItem, Publish) ' +
        'and deletes the batch. Submit → final is `finishedAt - createdAt` of the records.',
    );
    out.push('');
    out.push(
      table(
        ['repeat', 'async-jobs jobs/s', 'floor jobs/s', 'async-jobs submit → final p50 / p99', 'floor p50 / p99', 'async-jobs submit → event p50'],
        e2e.repeats.map((repeat, index) => [
          String(index + 1),
          fixed(repeat.runtime.jobsPerSecond, 1),
          fixed(repeat.floor.jobsPerSecond, 1),
          `${ms(repeat.runtime.submitToFinal.p50)} / ${ms(repeat.runtime.submitToFinal.p99)}`,
          `${ms(repeat.floor.submitToFinal.p50)} / ${ms(repeat.floor.submitToFinal.p99)}`,
          ms(repeat.runtime.submitToEvent.p50),
        ]),
      ),
    );
  }
  const { requests } = results;
  if (requests) {
    out.push('');
    out.push(`## AWS requests per job (end to end run, ${requests.jobs} jobs)`);
    out.push('');
    out.push(
      table(
        ['operation', 'requests', 'per job', 'emulator p50'],
        requests.operations.map((row) => [row.operation, String(row.count), fixed(row.perJob, 3), ms(row.emulatorMsP50)]),
      ),
    );
    out.push('');
    const units = requests.writeUnits;
    out.push(
      `Write units per job: table ${fixed(units.table / requests.jobs)}, ` +
        Object.entries(units.indexes)
          .map(([name, count]) => `GSI ${name} ${fixed(count / requests.jobs)}`)
          .join(', ') +
        ` (largest item ${units.maxItemBytes} B). Consumer invocations per job ${fixed(requests.invocationsPerJob, 3)} ` +
        `(mean batch ${fixed(requests.meanBatchSize, 1)}, handler p50 per invocation ${ms(requests.invocationMsMedian)}, ` +
        `${requests.emptyReceives} empty receives); function logs ${fixed(requests.logBytesPerJob, 0)} B per job.`,
    );
  }
  if (results.cost) {
    out.push('');
    out.push('## Cost per million jobs (list prices, us-east-1)');
    out.push('');
    out.push(
      'Requests are those of the end to end runs. Lambda compute is what Lambda bills: each invocation\'s handler time, measured in ' +
        `the instance and rounded up to 1 ms, at the memory the stack configures; here the times of ${results.cost.durations}.`,
    );
    out.push('');
    out.push(
      table(
        ['item', 'per job', 'unit', '$ per million jobs'],
        [
          ...results.cost.lines.map((line) => [line.item, fixed(line.perJob, line.perJob < 1 ? 4 : 2), line.unit, dollars(line.dollarsPerMillionJobs)]),
          ['**total (issue list, before polling)**', '', '', `**${dollars(results.cost.total)}**`],
          ['total with logs', '', '', dollars(results.cost.totalWithLogs)],
          ['API Gateway + Step Functions Standard (5 transitions)', '', '', dollars(results.cost.stepFunctions)],
          ...(results.costUnderLoad
            ? [
                [
                  `Lambda compute with the handler times of ${results.costUnderLoad.durations}`,
                  fixed(results.costUnderLoad.lines.find((line) => line.item === 'Lambda compute')?.perJob ?? Number.NaN, 4),
                  'GB-s',
                  dollars(results.costUnderLoad.lines.find((line) => line.item === 'Lambda compute')?.dollarsPerMillionJobs ?? Number.NaN),
                ],
                ['total (issue list) with those times', '', '', dollars(results.costUnderLoad.total)],
              ]
            : []),
        ],
      ),
    );
    out.push('');
    const batching = results.cost.batching;
    out.push(
      `Batching: each worker invocation costs its Lambda request, its receive and its delete (${dollars(batching.perBatch)} per million batches) ` +
        `whatever its batch holds; the rest is ${dollars(batching.perJob)} per million jobs. At the ${fixed(batching.batchSize, 1)} jobs per batch of these runs ` +
        `that is ${dollars(results.cost.total)}; a job alone in its batch, as on a quiet queue, costs ${dollars(batching.alone)}; ` +
        (Number.isFinite(batching.underFiveFrom) ? `the total is under $5 from ${fixed(batching.underFiveFrom, 1)} jobs per batch.` : 'no batch size brings the total under $5.'),
    );
    out.push('');
    out.push('Polling `GET /jobs/{id}` adds per poll one HTTP API request ($1.00/M), one Lambda request and one strongly consistent read.');
  }
  if (results.coldStart) {
    const cold = results.coldStart;
    out.push('');
    out.push(`## Cold start (module load in a fresh Node ${cold.node} process, median of ${cold.samples})`);
    out.push('');
    out.push(
      'Bundles are the ones `cdk synth` writes into the cloud assembly. The floor imports only the SDK clients and commands the ' +
        "function is granted and builds the clients, bundled with the stack's settings. *As deployed* runs with the function's " +
        "variables, `NODE_OPTIONS` included, and the ones Lambda sets; *SDK external* loads the SDK from node_modules, as a bundle relying on the runtime's copy would; " +
        '*no source maps* loads the same bundle without `--enable-source-maps`, as `sourceMaps: false` (`-c sourceMaps=false`) deploys it; ' +
        '*tracing off* is the bundle of `cdk synth -c tracing=false` (no Powertools Tracer, no X-Ray SDK), as deployed.',
    );
    out.push('');
    out.push(
      table(
        [
          'function',
          'bundle (map, zipped)',
          'floor',
          'load as deployed',
          'floor',
          'ratio',
          'no source maps (floor)',
          'SDK external (floor)',
          'external ÷ bundled',
          'external bundle',
          'tracing off: bundle, load (floor), ratio',
        ],
        cold.rows.map((row) => [
          `${row.function} (${row.memoryMb} MB)`,
          `${kb(row.size.codeBytes)} (${kb(row.size.mapBytes)}, ${kb(row.size.zippedBytes)})`,
          kb(row.floorSize.codeBytes),
          ms(row.loadMs),
          ms(row.floorLoadMs),
          fixed(row.ratio),
          `${ms(row.loadMsNoSourceMaps)} (${ms(row.floorLoadMsNoSourceMaps)})`,
          `${ms(row.externalLoadMs)} (${ms(row.externalFloorLoadMs)})`,
          fixed(row.externalVsBundled),
          kb(row.externalSize.codeBytes),
          `${kb(row.untracedSize.codeBytes)}, ${ms(row.untracedLoadMs)} (${ms(row.untracedFloorLoadMs)}), ${fixed(row.untracedRatio)}`,
        ]),
      ),
    );
    out.push('');
    out.push(`Ratios are medians over rounds of two loads taken back to back. \`cdk synth\` took ${(cold.synthMs / 1000).toFixed(1)} s.`);
  }
  if (results.start) {
    out.push('');
    out.push('## Time to first request');
    out.push('');
    out.push(
      table(
        ['command (PORT=0)', 'to start-up line', 'to first 202', 'samples'],
        results.start.map((start) => [
          start.command,
          ms(start.readyMsMedian),
          ms(start.firstJobMsMedian),
          start.samples.map((sample) => (sample.firstJobMs / 1000).toFixed(2)).join(', '),
        ]),
      ),
    );
  }
  out.push('');
  out.push(`## Request budget checks (${results.ok ? 'all pass' : 'FAILED'})`);
  out.push('');
  out.push(table(['check', 'expected', 'measured', ''], results.checks.map((check) => [check.name, check.expected, check.actual, check.ok ? 'ok' : '**FAIL**'])));
  out.push('');
  out.push(`Jobs queue: \`${names.queue}\`. Reproduce with \`npm run bench\` (or \`npm run bench -- --quick\`).`);
  return `${out.join('\n')}\n`;
}
