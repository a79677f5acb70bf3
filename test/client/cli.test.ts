/**
 * The CLI in-process against a scripted API: its command line, its exit codes, what it prints on
 * stdout and stderr with and without a terminal, and the progress line it draws.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { type CliStream, ExitCode, runCli } from '../../client/cli.ts';
import { formatElapsed, renderProgressLine } from '../../client/progress-bar.ts';
import { type Scripted, fakeApi, jobResource } from './fake-api.ts';

/** A stream that keeps what is written. */
function capture(isTTY: boolean): CliStream & { text(): string } {
  const chunks: string[] = [];
  return { isTTY, columns: 100, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

async function cli(args: string[], script: readonly Scripted[] = [], options: { tty?: boolean; env?: Record<string, string> } = {}) {
  const api = fakeApi(script);
  const stdout = capture(options.tty ?? false);
  const stderr = capture(options.tty ?? false);
  const code = await runCli(args, { stdout, stderr, env: options.env ?? {}, fetch: api.fetch });
  return { code, stdout: stdout.text(), stderr: stderr.text(), calls: api.calls };
}

const succeeded = jobResource('SUCCEEDED', { result: { ok: true }, progress: { completed: 2, total: 2, percent: 100, message: 'done' } });

describe('async-jobs usage errors exit 2 and say what is wrong, sending nothing', () => {
  it.each([
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['submit'], /submit needs --type/],
    [['submit', '--type', 'echo', '--input', '{nope'], /--input is not JSON/],
    [['submit', '--type', 'echo', '--input', '@/no/such/file.json'], /cannot read --input file/],
    [['get'], /get takes one job id/],
    [['get', 'a', 'b'], /get takes one job id/],
    [['get', 'job_1', '--status', 'QUEUED'], /get takes no --status/],
    [['wait', 'job_1', '--timeout', '0'], /--timeout must be a number of seconds above 0/],
    [['list', '--status', 'DONE'], /--status must be one of QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED/],
    [['list', '--limit', '1.5'], /--limit must be a whole number above 0/],
    [['list', '--bogus'], /Unknown option '--bogus'/],
    [['get', 'job_1', '--endpoint', 'ftp://x'], /not an http\(s\) URL/],
    [['submit', '--type', 'echo', '--delay-seconds', '1.5'], /--delay-seconds must be a whole number, got '1.5'/],
    [['submit', '--type', 'echo', '--timeout-seconds', '0'], /--timeout-seconds must be a whole number above 0, got '0'/],
    [['submit', '--type', 'echo', '--metadata', 'team'], /--metadata takes NAME=VALUE, got 'team'/],
    [['submit', '--type', 'echo', '--metadata', '=x'], /--metadata takes NAME=VALUE, got '=x'/],
    [['submit', '--type', 'echo', '--metadata', 'a=1', '--metadata', 'a=2'], /--metadata names 'a' twice/],
    [['get', 'job_1', '--metadata', 'a=1'], /get takes no --metadata/],
    [['submit', '--type', 'echo', '--idempotency-key', 'ordre-é€'], /--idempotency-key must be 1 to 255 printable ASCII characters without spaces, got 'ordre-é€'/],
    [['submit', '--type', 'echo', '--idempotency-key', 'x'.repeat(256)], /--idempotency-key must be 1 to 255 printable ASCII characters/],
    [['get', 'job_1', '--token', 'eyJ\nX-Injected: 1'], /--token must be printable ASCII, without spaces or line breaks/],
    [['get', 'job_1', '--auth', 'iam', '--token', 't'], /--token goes with --auth jwt, not --auth iam/],
    [['get', 'job_1', '--auth', 'none', '--token', 't'], /--token goes with --auth jwt, not --auth none/],
  ])('%j', async (args, message) => {
    // Act
    const run = await cli(args);
    // Assess: stderr is not a terminal, so the message is one JSON line, without the usage.
    expect(run.code).toBe(ExitCode.usage);
    expect(JSON.parse(run.stderr)).toEqual({ error: expect.stringMatching(message) });
    expect(run.stdout).toBe('');
    expect(run.calls).toHaveLength(0);
  });

  it('on a terminal, follows the message with the usage', async () => {
    // Act
    const run = await cli(['frobnicate'], [], { tty: true });
    // Assess
    expect(run.code).toBe(ExitCode.usage);
    expect(run.stderr).toMatch(/^async-jobs: unknown command 'frobnicate'\n\nUsage: async-jobs/);
  });

  it('refuses a token of $ASYNC_JOBS_TOKEN that HTTP cannot carry, without echoing it', async () => {
    // Act
    const run = await cli(['get', 'job_1'], [], { env: { ASYNC_JOBS_TOKEN: 'secret\nX-Injected: 1' } });
    // Assess
    expect(run.code).toBe(ExitCode.usage);
    expect(JSON.parse(run.stderr)).toEqual({ error: '$ASYNC_JOBS_TOKEN must be printable ASCII, without spaces or line breaks' });
    expect(run.calls).toHaveLength(0);
  });

  it('prints the help on stdout with exit 0 for --help', async () => {
    // Act
    const run = await cli(['--help']);
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(run.stdout).toContain('Exit codes: 0 ok (job succeeded), 1 job failed or cancelled, 2 usage error');
  });
});

describe('async-jobs commands', () => {
  it('submit reads --input from a file, sends the key and callback URL, and prints the job as one JSON line', async () => {
    // Prepare
    const dir = await mkdtemp(path.join(tmpdir(), 'async-jobs-cli-'));
    const file = path.join(dir, 'input.json');
    await writeFile(file, '{"from":"file"}');
    try {
      // Act
      const run = await cli(
        ['submit', '--type', 'echo', '--input', `@${file}`, '--idempotency-key', 'k-1', '--callback-url', 'https://example.com/hook'],
        [{ status: 202, body: jobResource('QUEUED'), headers: { 'retry-after': '1' } }],
      );
      // Assess
      expect(run.code).toBe(ExitCode.ok);
      expect(run.stdout.endsWith('\n')).toBe(true);
      expect(run.stdout.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(run.stdout)).toMatchObject({ status: 'QUEUED' });
      expect(JSON.parse(run.calls[0]?.body ?? '')).toEqual({ type: 'echo', input: { from: 'file' }, callbackUrl: 'https://example.com/hook' });
      expect(run.calls[0]?.headers.get('idempotency-key')).toBe('k-1');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("submit sends --delay-seconds, --timeout-seconds and every --metadata label as the job's fields", async () => {
    // Act
    const run = await cli(
      ['submit', '--type', 'sleep', '--delay-seconds', '0', '--timeout-seconds', '30', '--metadata', 'team=billing', '--metadata', 'note=a=b', '--metadata', '__proto__=x'],
      [{ status: 202, body: jobResource('QUEUED'), headers: { 'retry-after': '1' } }],
    );
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(run.calls[0]?.body).toBe('{"type":"sleep","delaySeconds":0,"timeoutSeconds":30,"metadata":{"team":"billing","note":"a=b","__proto__":"x"}}');
  });

  it('takes the endpoint from ASYNC_JOBS_URL, and --endpoint over it', async () => {
    // Act
    const fromEnv = await cli(['get', 'job_1'], [{ status: 200, body: succeeded }], { env: { ASYNC_JOBS_URL: 'http://env.test' } });
    const fromFlag = await cli(['get', 'job_1', '--endpoint', 'http://flag.test'], [{ status: 200, body: succeeded }], {
      env: { ASYNC_JOBS_URL: 'http://env.test' },
    });
    const byDefault = await cli(['get', 'job_1'], [{ status: 200, body: succeeded }]);
    // Assess
    expect([fromEnv, fromFlag, byDefault].map((run) => run.calls[0]?.url)).toEqual([
      'http://env.test/jobs/job_1',
      'http://flag.test/jobs/job_1',
      'http://127.0.0.1:3000/jobs/job_1',
    ]);
  });

  it('sends the token of ASYNC_JOBS_TOKEN as a bearer token, as it does a --token, with no --auth needed', async () => {
    // Act
    const fromEnv = await cli(['get', 'job_1'], [{ status: 200, body: succeeded }], { env: { ASYNC_JOBS_TOKEN: 'env-token' } });
    const fromFlag = await cli(['get', 'job_1', '--token', 'flag-token'], [{ status: 200, body: succeeded }]);
    const none = await cli(['get', 'job_1'], [{ status: 200, body: succeeded }]);
    // Assess
    expect([fromEnv, fromFlag, none].map((run) => run.calls[0]?.headers.get('authorization'))).toEqual(['Bearer env-token', 'Bearer flag-token', null]);
  });

  it.each(['none', 'iam'])('sends a --token as a bearer token even with ASYNC_JOBS_AUTH=%s: the flag wins over the environment', async (mode) => {
    // Act
    const run = await cli(['get', 'job_1', '--token', 'flag-token'], [{ status: 200, body: succeeded }], { env: { ASYNC_JOBS_AUTH: mode } });
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(run.calls[0]?.headers.get('authorization')).toBe('Bearer flag-token');
  });

  it('list prints at most --limit jobs as one JSON array, following cursors', async () => {
    // Act
    const run = await cli(
      ['list', '--status', 'succeeded', '--limit', '3'],
      [
        { status: 200, body: { jobs: [jobResource('SUCCEEDED', { id: 'job_1' }), jobResource('SUCCEEDED', { id: 'job_2' })], nextCursor: 'n' } },
        { status: 200, body: { jobs: [jobResource('SUCCEEDED', { id: 'job_3' }), jobResource('SUCCEEDED', { id: 'job_4' })], nextCursor: 'm' } },
      ],
    );
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect((JSON.parse(run.stdout) as { id: string }[]).map((job) => job.id)).toEqual(['job_1', 'job_2', 'job_3']);
    expect(run.calls.map((call) => call.url)).toEqual(['http://127.0.0.1:3000/jobs?status=SUCCEEDED&limit=3', 'http://127.0.0.1:3000/jobs?status=SUCCEEDED&limit=3&cursor=n']);
  });
});

describe('async-jobs exit codes and output', () => {
  const problem = { type: '/problems/job-failed', title: 'Job failed', status: 500, detail: 'no such customer' };

  it.each([
    ['SUCCEEDED', succeeded, ExitCode.ok],
    ['FAILED', jobResource('FAILED', { error: problem }), ExitCode.jobFailed],
    ['CANCELLED', jobResource('CANCELLED', { error: { ...problem, type: '/problems/job-cancelled', status: 409 } }), ExitCode.jobFailed],
  ])('wait on a job that ends %s prints it as JSON and exits %i', async (status, final, expected) => {
    // Act
    const run = await cli(['wait', 'job_AAAAAAAAAAAAAAAAAAAAAA'], [{ status: 200, body: final }]);
    // Assess
    expect(run.code).toBe(expected);
    expect(JSON.parse(run.stdout)).toMatchObject({ status });
  });

  it('exits 4 with the problem on stderr, as JSON when stderr is not a terminal, when the API answers an error', async () => {
    // Prepare
    const notFound = { type: '/problems/not-found', title: 'Job not found', status: 404, detail: "There is no job 'job_1'." };
    // Act
    const run = await cli(['get', 'job_1'], [{ status: 404, body: notFound }]);
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ error: "404 Job not found: There is no job 'job_1'.", problem: notFound });
  });

  it.each<[string, number, object, string[], boolean]>([
    ['401 to a request without credentials', 401, { message: 'Unauthorized' }, [], true],
    ['403 to a request without credentials', 403, { message: 'Forbidden' }, [], true],
    ['401 to a request with a token', 401, { message: 'Unauthorized' }, ['--auth', 'jwt', '--token', 'expired'], false],
    ['403 with problem details (the function’s own)', 403, { type: '/problems/unidentified-caller', title: 'Unidentified caller', status: 403 }, [], false],
  ])('exits 4 on %s, saying how to send credentials only when the gateway wanted some', async (_, status, body, auth, hinted) => {
    // Act
    const run = await cli(['get', 'job_1', ...auth], [{ status, body }]);
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    const { error } = JSON.parse(run.stderr) as { error: string };
    expect(error.startsWith(`${status} `)).toBe(true);
    expect(error.includes('the request carried no credentials, and the API wants them: --auth iam signs it')).toBe(hinted);
  });

  it('exits 4 naming the Idempotency-Key of a submit that failed, so a rerun with it gets the job the API may have kept', async () => {
    // Prepare
    const internal = { type: '/problems/internal', title: 'Internal error', status: 500 };
    // Act
    const run = await cli(['submit', '--type', 'echo'], [{ status: 500, body: internal }]);
    // Assess
    const sent = run.calls[0]?.headers.get('idempotency-key');
    expect(run.code).toBe(ExitCode.apiError);
    expect(sent).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(run.stderr)).toEqual({
      error: `500 Internal error (the job may exist: submit again with --idempotency-key ${sent} to get it, not a second one)`,
      problem: internal,
      idempotencyKey: sent,
    });
  });

  it.each([
    ['a 400, the request being invalid', { type: '/problems/validation', title: 'Invalid request', status: 400 }],
    ['a 422, the key being in use for another body', { type: '/problems/idempotency-key-reused', title: 'Idempotency key reused', status: 422 }],
  ])('exits 4 on %s without telling the caller to submit again with its key (no job was made; the key gets the same answer)', async (_what, problem) => {
    // Act
    const run = await cli(['submit', '--type', 'echo', '--idempotency-key', 'k-1'], [{ status: problem.status, body: problem }]);
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    expect(JSON.parse(run.stderr)).toEqual({ error: `${problem.status} ${problem.title}`, problem, idempotencyKey: 'k-1' });
  });

  it('exits 4 when a poll of submit --wait fails after the job was accepted, printing the job as last seen and naming its id, not a key to submit again with', async () => {
    // Prepare
    const id = 'job_AAAAAAAAAAAAAAAAAAAAAA';
    const forbidden = { type: '/problems/forbidden', title: 'Forbidden', status: 403 };
    // Act
    const run = await cli(['submit', '--type', 'echo', '--wait', '--idempotency-key', 'k-1'], [
      { status: 202, body: jobResource('QUEUED'), headers: { 'retry-after': '0' } },
      { status: 403, body: forbidden },
    ]);
    // Assess
    expect(run.code).toBe(ExitCode.apiError);
    expect(JSON.parse(run.stdout)).toMatchObject({ id, status: 'QUEUED' });
    expect(JSON.parse(run.stderr)).toEqual({
      error: `403 Forbidden; job ${id} was last seen QUEUED (async-jobs wait ${id} follows it)`,
      problem: forbidden,
      jobId: id,
      idempotencyKey: 'k-1',
    });
  });

  it.each([
    ['while its submit is unanswered: the key that gets the job back', ['hang'] as Scripted[], false],
    ['once it was accepted: the job as last seen, whose id `cancel` takes', [{ status: 202, body: jobResource('QUEUED'), headers: { 'retry-after': '60' } }] as Scripted[], true],
  ])('interrupted (Ctrl-C), submit --wait exits 130 and prints what it knows %s', async (_what, script, acceptedFirst) => {
    // Prepare
    const api = fakeApi(script);
    const [stdout, stderr] = [capture(false), capture(false)];
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    // Act
    const code = await runCli(['submit', '--type', 'echo', '--wait'], { stdout, stderr, env: {}, fetch: api.fetch, signal: controller.signal });
    // Assess
    const sent = api.calls[0]?.headers.get('idempotency-key');
    const id = 'job_AAAAAAAAAAAAAAAAAAAAAA';
    expect(code).toBe(ExitCode.interrupted);
    if (acceptedFirst) {
      expect(JSON.parse(stdout.text())).toMatchObject({ id, status: 'QUEUED' });
      expect(JSON.parse(stderr.text())).toEqual({ error: `interrupted; job ${id} runs on (async-jobs cancel ${id} stops it)`, jobId: id });
    } else {
      expect(stdout.text()).toBe('');
      expect(JSON.parse(stderr.text())).toEqual({
        error: `interrupted (the job may exist: submit again with --idempotency-key ${sent} to get it, not a second one)`,
        idempotencyKey: sent,
      });
    }
  });

  it('on a terminal, draws the progress line on stderr and prints indented JSON on stdout', async () => {
    // Prepare
    const running = jobResource('RUNNING', { progress: { completed: 1, total: 2, percent: 50, message: 'half way' } });
    // Act
    const run = await cli(['wait', 'job_AAAAAAAAAAAAAAAAAAAAAA'], [{ status: 202, body: running, headers: { 'retry-after': '0' } }, { status: 200, body: succeeded }], {
      tty: true,
    });
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    // The elapsed time at the end of each line depends on the machine's load: only its form is checked.
    expect(run.stderr).toContain('\r\x1b[2K[############------------]  50% RUNNING half way  ');
    expect(run.stderr).toMatch(/\[#{12}-{12}\] {2}50% RUNNING half way {2}\d+:\d\d/);
    expect(run.stderr).toMatch(/\[#{24}\] 100% SUCCEEDED done {2}\d+:\d\d/);
    expect(run.stdout).toContain('\n  "status": "SUCCEEDED",\n');
  });

  it('when stdout is not a terminal, writes no progress at all', async () => {
    // Act
    const run = await cli(['wait', 'job_AAAAAAAAAAAAAAAAAAAAAA'], [{ status: 200, body: succeeded }]);
    // Assess
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`${JSON.stringify(succeeded)}\n`);
  });
});

describe('async-jobs --timeout', () => {
  it.each([
    [['get', 'job_1'], { error: 'get got no answer within 0.05 s (--timeout)' }],
    [['cancel', 'job_1'], { error: 'cancel got no answer within 0.05 s (--timeout); the job may be cancelled all the same (async-jobs get job_1 tells)' }],
    [['list'], { error: 'list was not done within 0.05 s (--timeout)' }],
    [
      ['submit', '--type', 'echo', '--idempotency-key', 'k-1'],
      {
        error: 'submit got no answer within 0.05 s (--timeout) (the job may exist: submit again with --idempotency-key k-1 to get it, not a second one)',
        idempotencyKey: 'k-1',
      },
    ],
  ])('bounds %j against an API that never answers: exit 3, saying what may have happened', async (args, expected) => {
    // Act
    const run = await cli([...args, '--timeout', '0.05'], ['hang']);
    // Assess
    expect(run.code).toBe(ExitCode.timedOut);
    expect(run.stdout).toBe('');
    expect(JSON.parse(run.stderr)).toEqual({ ...expected, timeoutMs: 50 });
  });

  it('says how long a wait waited in the seconds it was given', async () => {
    // Act
    const run = await cli(['wait', 'job_AAAAAAAAAAAAAAAAAAAAAA', '--timeout', '0.05'], [{ status: 202, body: jobResource('RUNNING'), headers: { 'retry-after': '1' } }]);
    // Assess
    expect(run.code).toBe(ExitCode.timedOut);
    expect(JSON.parse(run.stderr)).toMatchObject({ error: 'job job_AAAAAAAAAAAAAAAAAAAAAA did not end within 0.05 s (last seen RUNNING)', timeoutMs: 50 });
  });

  it('takes an empty $ASYNC_JOBS_AUTH as unset', async () => {
    // Act
    const run = await cli(['get', 'job_1'], [{ status: 200, body: succeeded }], { env: { ASYNC_JOBS_AUTH: '' } });
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(run.calls[0]?.headers.get('authorization')).toBeNull();
  });

  it('lets a command that is answered in time print its result as without it', async () => {
    // Act
    const run = await cli(['get', 'job_1', '--timeout', '30'], [{ status: 200, body: succeeded }]);
    // Assess
    expect(run.code).toBe(ExitCode.ok);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: 'SUCCEEDED' });
  });
});

describe('async-jobs errors before anything is sent, and bugs', () => {
  it('exits 2 when --auth iam finds no AWS credentials: nothing was sent, so there is no key to submit again with', async () => {
    // Prepare: no credentials anywhere the AWS chain looks
    const dir = await mkdtemp(path.join(tmpdir(), 'async-jobs-cli-'));
    const chain = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN'];
    for (const name of [...chain, 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI']) vi.stubEnv(name, undefined);
    vi.stubEnv('AWS_CONFIG_FILE', path.join(dir, 'no-config'));
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(dir, 'no-credentials'));
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    try {
      // Act
      const run = await cli(['submit', '--type', 'echo', '--auth', 'iam']);
      // Assess
      expect(run.code).toBe(ExitCode.usage);
      expect(run.stdout).toBe('');
      const { error } = JSON.parse(run.stderr) as { error: string };
      expect(error).toMatch(/^POST http:\/\/127\.0\.0\.1:3000\/jobs was not sent: it could not be signed for IAM: /);
      expect(error).not.toContain('may exist');
      expect(run.calls).toHaveLength(0);
    } finally {
      vi.unstubAllEnvs();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a bug (exit 70) as one JSON line too when stderr is not a terminal', async () => {
    // Prepare: a stdout that fails, which the CLI does not expect
    const api = fakeApi([{ status: 200, body: succeeded }]);
    const stdout: CliStream = {
      write: () => {
        throw new Error('stdout is gone');
      },
    };
    const stderr = capture(false);
    // Act
    const code = await runCli(['get', 'job_1'], { stdout, stderr, env: {}, fetch: api.fetch });
    // Assess
    expect(code).toBe(ExitCode.internal);
    expect(stderr.text().trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stderr.text())).toEqual({ error: 'unexpected error (a bug): stdout is gone', stack: expect.stringContaining('Error: stdout is gone') });
  });
});

describe('the progress line', () => {
  it.each([
    [undefined, 1_000, '[------------------------]  --% WAITING  0:01'],
    [jobResource('QUEUED'), 12_000, '[------------------------]  --% QUEUED  0:12'],
    [jobResource('RUNNING', { progress: { completed: 1, total: 4, percent: 25, message: 'slept 1 of 4 s' } }), 75_000, '[######------------------]  25% RUNNING slept 1 of 4 s  1:15'],
    [jobResource('RUNNING', { progress: { completed: 3 } }), 3_723_000, '[------------------------]  --% RUNNING  1:02:03'],
  ])('shows %j after %i ms as %s', (job, elapsed, expected) => {
    // Act
    const line = renderProgressLine(job, elapsed);
    // Assess
    expect(line).toBe(expected);
  });

  it('shortens the message so the line fits the terminal', () => {
    // Prepare
    const job = jobResource('RUNNING', { progress: { completed: 1, total: 2, percent: 50, message: 'x'.repeat(200) } });
    // Act
    const line = renderProgressLine(job, 5_000, 60);
    // Assess
    expect(line.length).toBeLessThan(60);
    expect(line).toMatch(/^\[#{12}-{12}\] {2}50% RUNNING x+… {2}0:05$/);
  });

  it.each([
    [0, '0:00'],
    [59_999, '0:59'],
    [600_000, '10:00'],
    [3_600_000, '1:00:00'],
  ])('formats %i ms as %s', (ms, expected) => {
    // Act
    const formatted = formatElapsed(ms);
    // Assess
    expect(formatted).toBe(expected);
  });
});
