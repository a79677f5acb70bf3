/**
 * The examples of docs/clients.md, run as a user runs them against the local runtime: the client in
 * a Node script, the CLI in a shell script, and curl. And `GET /openapi.json` over HTTP.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime.ts';
import { localDocument, ResponseChecker } from '../support/openapi-check.ts';
import { type CommandRun, runCommand } from '../support/run-command.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const checker = new ResponseChecker(localDocument());

let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined });
}, 90_000);
afterAll(async () => {
  await runtime?.stop();
});

type Run = CommandRun;

/** Runs a command from the project root with ASYNC_JOBS_URL set to the local runtime. */
function run(command: string, args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return runCommand(command, args, { ASYNC_JOBS_URL: runtime.url }, timeoutMs);
}

const lines = (text: string) => text.trim().split('\n');

describe('examples/submit-and-wait.ts (the client)', () => {
  it('submits a sleep job, prints its progress and its result, and exits 0', async () => {
    // Act
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/submit-and-wait.ts']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const printed = lines(result.stdout);
    expect(printed[0]).toMatch(/^accepted job_[\w-]{22} \(QUEUED\)$/);
    // Polls a second apart may miss the halfway report, never the last one: the ended job carries it.
    expect(printed.slice(1, -1).every((line) => /^progress (50% slept 1|100% slept 2) of 2 s$/.test(line))).toBe(true);
    expect(printed.at(-2)).toBe('progress 100% slept 2 of 2 s');
    expect(printed.at(-1)).toBe('succeeded {"sleptSeconds":2}');
  });

  it('reports a job that failed as a final answer and exits 1', async () => {
    // Act
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/submit-and-wait.ts', 'fail', '{"message":"card declined"}']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^accepted job_[\w-]{22} \(QUEUED\)\n$/);
    expect(result.stderr.trim()).toBe('failed: /problems/job-failed card declined');
  });

  it.each<[string, string[], number, string]>([
    ['an input its type refuses: the 400, field by field', ['sleep', '{"seconds":999}'], 4, '400 Invalid request: /input/seconds: must be at most 60'],
    ['an unknown type: the 422', ['nope', '{}'], 4, "422 Unknown job type: No processor handles job type 'nope'."],
    ['an input that is not JSON', ['echo', '{bad'], 2, 'the input must be JSON, got {bad'],
  ])('reports %s in a line, without a stack trace', async (_, args, code, message) => {
    // Act
    const result = await run(process.execPath, ['--import', 'tsx', 'examples/submit-and-wait.ts', ...args]);

    // Assess
    expect(result.code).toBe(code);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim()).toMatch(new RegExp(`^${message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(result.stderr).not.toContain('    at ');
  });
});

describe('examples/cli.sh (the CLI)', () => {
  it('tells success, failure, a wait that timed out and a cancel apart by exit code', async () => {
    // Act
    const result = await run('bash', ['examples/cli.sh'], 120_000);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'echo: exit 0, status SUCCEEDED, result {"greeting":"hello"}',
      'fail: exit 1, status FAILED, detail card declined',
      'sleep: submitted, status QUEUED',
      expect.stringMatching(/^sleep: wait exit 3, still (QUEUED|RUNNING)$/),
      'sleep: cancel exit 0',
      'sleep: wait exit 1, status CANCELLED',
    ]);
  }, 120_000);
});

describe('examples/curl.sh (curl)', () => {
  it('polls the Location honouring Retry-After until 200 and prints the SUCCEEDED job', async () => {
    // Act
    const result = await run('bash', ['examples/curl.sh']);

    // Assess
    expect(result.code, result.stderr).toBe(0);
    const printed = lines(result.stdout);
    const location = /^accepted: (\/jobs\/job_[\w-]{22})$/.exec(printed[0] ?? '')?.[1];
    expect(location).toBeDefined();
    expect(printed.slice(1, -1).every((line) => /^not done: "status":"(QUEUED|RUNNING)"$/.test(line))).toBe(true);
    const final = /^succeeded: (.*)$/.exec(printed.at(-1) ?? '')?.[1] ?? '';
    expect(JSON.parse(final)).toMatchObject({ status: 'SUCCEEDED', done: true, result: { sleptSeconds: 2 }, links: { self: location } });
    // What it printed is the 200 answer of GET /jobs/{id} as the document describes it.
    expect(checker.violations({ method: 'GET', url: location ?? '' }, { status: 200, headers: new Headers({ 'content-type': 'application/json' }), body: final })).toEqual([]);
  });
});

describe('docs/clients.md', () => {
  it.each(['examples/submit-and-wait.ts', 'examples/cli.sh', 'examples/curl.sh'])('shows %s as it is', async (file) => {
    // Prepare
    const [docs, example] = await Promise.all([readFile(path.join(projectRoot, 'docs/clients.md'), 'utf8'), readFile(path.join(projectRoot, file), 'utf8')]);

    // Assess
    expect(docs).toContain(example);
  });
});

// Needs the route { method: 'GET', path: '/openapi.json', function: 'get-openapi' } in infra/functions.ts.
describe('GET /openapi.json over HTTP', () => {
  it('serves the document built from the code, valid OpenAPI 3.1, cacheable', async () => {
    // Act
    const response = await fetch(`${runtime.url}/openapi.json`);
    const body = await response.text();

    // Assess
    checker.assert({ method: 'GET', url: '/openapi.json' }, { status: response.status, headers: response.headers, body });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    expect(JSON.parse(body)).toEqual(JSON.parse(JSON.stringify(localDocument())));
    expect((await new Validator().validate(JSON.parse(body))).valid).toBe(true);
  });

  it('answers 304 to a request that names its ETag', async () => {
    // Prepare
    const etag = (await fetch(`${runtime.url}/openapi.json`)).headers.get('etag') ?? '';

    // Act
    const response = await fetch(`${runtime.url}/openapi.json`, { headers: { 'if-none-match': etag } });

    // Assess
    expect(etag).not.toBe('');
    expect(response.status).toBe(304);
    checker.assert({ method: 'GET', url: '/openapi.json' }, { status: 304, headers: response.headers, body: await response.text() });
  });
});
