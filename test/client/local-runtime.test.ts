/**
 * The client and the CLI against the real local runtime (emulators, functions, HTTP API), started
 * in-process: what a user of either sees for jobs that succeed, report progress, fail, are
 * unknown, or outlast the wait.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliStream, ExitCode, runCli } from '../../client/cli.ts';
import { ApiError, JobFailedError, type Progress, WaitTimeoutError } from '../../client/index.ts';
import { runBin } from './cli-process.ts';
import { useLocalRuntime } from './runtime-fixture.ts';

const UNKNOWN_ID = 'job_AAAAAAAAAAAAAAAAAAAAAA';

const fixture = useLocalRuntime();

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === 'object' && address ? address.port : 1;
}

describe('AsyncJobsClient on the local runtime', () => {
  it('submitAndWait returns an echo job SUCCEEDED with its input as the result', async () => {
    // Act
    const job = await fixture.client.submitAndWait({ type: 'echo', input: { order: 4711, items: ['a', 'b'] } }, { timeoutMs: 20_000 });
    // Assess
    expect(job).toMatchObject({ type: 'echo', status: 'SUCCEEDED', done: true, result: { order: 4711, items: ['a', 'b'] } });
  });

  it('wait on a sleep job calls onProgress as it advances and returns it SUCCEEDED', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'sleep', input: { seconds: 3 } });
    const seen: Progress[] = [];
    // Act
    const job = await fixture.client.wait(accepted.id, { timeoutMs: 20_000, onProgress: (progress) => seen.push(progress) });
    // Assess
    expect(accepted).toMatchObject({ status: 'QUEUED', done: false });
    expect(job).toMatchObject({ id: accepted.id, status: 'SUCCEEDED', result: { sleptSeconds: 3 } });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((progress) => progress.total === 3 && /^slept \d of 3 s$/.test(progress.message ?? ''))).toBe(true);
    const completed = seen.map((progress) => progress.completed);
    expect(completed).toEqual([...completed].sort((a, b) => a - b));
    expect(new Set(completed).size).toBe(completed.length);
  });

  it('a fail job throws JobFailedError carrying the job and its problem', async () => {
    // Act
    const error = await fixture.client.submitAndWait({ type: 'fail', input: { message: 'no such customer' } }, { timeoutMs: 20_000 }).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(JobFailedError);
    expect(error).toMatchObject({
      problem: { type: '/problems/job-failed', title: 'Job failed', status: 500, detail: 'no such customer' },
      job: { status: 'FAILED', done: true },
    });
  });

  it('get of an unknown id throws ApiError 404 with the problem', async () => {
    // Act
    const error = await fixture.client.get(UNKNOWN_ID).catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 404, problem: { type: '/problems/not-found', title: 'Job not found', status: 404 } });
  });

  it('wait with a deadline shorter than the job throws WaitTimeoutError with the job as last seen', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'sleep', input: { seconds: 10 } });
    const started = Date.now();
    // Act
    const error = await fixture.client.wait(accepted.id, { timeoutMs: 1500 }).catch((caught: unknown) => caught);
    // Assess
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({ jobId: accepted.id, lastJob: { id: accepted.id, done: false } });
  });
});

describe('the async-jobs CLI on the local runtime', () => {
  it('submit --wait of an echo job exits 0 and prints only the final job as one JSON line', async () => {
    // Act
    const run = await runBin(['submit', '--type', 'echo', '--input', '{"hello":"world"}', '--wait', '--timeout', '20'], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stderr).toBe('');
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCEEDED', result: { hello: 'world' } });
  });

  it('submit --wait of a fail job, input from a file, exits 1 and prints the FAILED job', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'async-jobs-cli-'));
    const file = path.join(dir, 'input.json');
    await writeFile(file, JSON.stringify({ message: 'card declined' }));
    try {
      // Act
      const run = await runBin(['submit', '--type', 'fail', '--input', `@${file}`, '--wait'], { ASYNC_JOBS_URL: fixture.runtime.url });
      // Assess
      expect(run.code).toBe(ExitCode.jobFailed);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'FAILED', error: { detail: 'card declined' } });
      expect(JSON.parse(run.stderr)).toMatchObject({ problem: { type: '/problems/job-failed', detail: 'card declined' } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a usage error exits 2 without calling the API', async () => {
    // Act
    const run = await runBin(['submit', '--input', '{}'], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toContain('submit needs --type');
    expect(run.stdout).toBe('');
  });

  it('wait --timeout exits 3 and prints the job as last seen', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'sleep', input: { seconds: 10 } });
    // Act
    const run = await runBin(['wait', accepted.id, '--timeout', '1'], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(run.code).toBe(ExitCode.timedOut);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: accepted.id, done: false });
    expect(JSON.parse(run.stderr)).toMatchObject({ jobId: accepted.id, timeoutMs: 1000 });
  });

  it('get of an unknown id exits 4 with the problem on stderr', async () => {
    // Act
    const run = await runBin(['get', UNKNOWN_ID], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toMatchObject({ problem: { status: 404, title: 'Job not found' } });
  });

  it('exits 4 when the API cannot be reached, after its retries', async () => {
    // Prepare
    const port = await closedPort();
    // Act
    const run = await runBin(['get', UNKNOWN_ID, '--endpoint', `http://127.0.0.1:${port}`], { ASYNC_JOBS_URL: fixture.runtime.url });
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    expect(JSON.parse(run.stderr).error).toContain('ECONNREFUSED');
  });

  it('wait on a terminal draws the live progress line and ends with the indented job', async () => {
    // Prepare
    const accepted = await fixture.client.submit({ type: 'sleep', input: { seconds: 3 } });
    const out: string[] = [];
    const err: string[] = [];
    const terminal = (chunks: string[]): CliStream => ({ isTTY: true, columns: 120, write: (chunk: string) => chunks.push(chunk) });
    // Act
    const code = await runCli(['wait', accepted.id, '--timeout', '20'], { stdout: terminal(out), stderr: terminal(err), env: { ASYNC_JOBS_URL: fixture.runtime.url }, fetch: fixture.checked.fetch });
    // Assess
    expect(code).toBe(ExitCode.ok);
    const lines = err.join('').split('\r\x1b[2K').filter(Boolean);
    expect(lines.some((line) => /^\[[#-]{24}\] +\d+% RUNNING slept \d of 3 s {2}0:0\d$/.test(line))).toBe(true);
    expect(lines.at(-1)).toMatch(/^\[#{24}\] 100% SUCCEEDED slept 3 of 3 s {2}0:0\d\n$/);
    expect(JSON.parse(out.join(''))).toMatchObject({ id: accepted.id, status: 'SUCCEEDED' });
    expect(out.join('')).toContain('\n  "status": "SUCCEEDED",\n');
  });
});
