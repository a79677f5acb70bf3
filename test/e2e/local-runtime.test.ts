/**
 * `npm start` as a user runs it: the API over HTTP from outside, the events it prints, and a clean
 * stop on Ctrl-C or SIGTERM with nothing left running.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRunning, processGroup, type RunningStart, npmStart } from '../support/npm-start.ts';
import { localDocument, ResponseChecker } from '../support/openapi-check.ts';
import { projectRoot, runCommand } from '../support/run-command.ts';

const checker = new ResponseChecker(localDocument());

/** Sends a request and checks the answer against the OpenAPI document before a test looks at it. */
async function request(url: string, init: RequestInit = {}) {
  const response = await fetch(url, init);
  const text = await response.text();
  checker.assert({ method: init.method ?? 'GET', url }, { status: response.status, headers: response.headers, body: text });
  return { status: response.status, headers: response.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

function submit(base: string, body: unknown) {
  return request(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Polls a job as a client should: follow Retry-After until the answer is 200. */
async function pollUntilDone(base: string, location: string, seen: Record<string, unknown>[] = []) {
  for (let i = 0; i < 60; i += 1) {
    const response = await request(`${base}${location}`);
    seen.push({ ...response.body, httpStatus: response.status, retryAfter: response.headers.get('retry-after') });
    if (response.status === 200) return response;
    await sleep(Number(response.headers.get('retry-after') ?? 1) * 250);
  }
  throw new Error(`${location} did not end`);
}

/** The status of a GET of `path` whose Host header is `host` (fetch sets Host itself). */
function statusForHost(base: string, path: string, host: string): Promise<number> {
  const { port } = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port: Number(port), path, headers: { host } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

const PROXY_HOST = 'dev.example.test';

describe.each([
  ['dynalite', ['--allow-host', PROXY_HOST]],
  ['DynamoDB Local', ['--dynamodb-local', '--allow-host', PROXY_HOST]],
])('npm start with %s', (_engine, args) => {
  let app: RunningStart;

  beforeAll(async () => {
    app = await npmStart(args);
  }, 90_000);
  afterAll(async () => {
    if (app?.groupAlive()) await app.stop('SIGKILL');
  });

  it('answers a request for a host named by --allow-host, and refuses one for any other host', async () => {
    // Act
    const statuses = await Promise.all([PROXY_HOST, `${PROXY_HOST}:8443`, 'evil.example'].map((host) => statusForHost(app.url, '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA', host)));

    // Assess
    expect(statuses).toEqual([404, 404, 403]);
  });

  it('prints one line with the URL and a curl command to try', () => {
    const line = app.output().split('\n').find((candidate) => candidate.includes(app.url));
    expect(line).toContain(`curl -i -X POST ${app.url}/jobs`);
  });

  it('runs a sleep job: 202 with Location, progress while it runs, then 200 SUCCEEDED with the result', async () => {
    // Act
    const accepted = await submit(app.url, { type: 'sleep', input: { seconds: 2 } });
    const location = accepted.headers.get('location') ?? '';
    const seen: Record<string, unknown>[] = [];
    const final = await pollUntilDone(app.url, location, seen);
    // Assess
    expect(accepted.status).toBe(202);
    expect(location).toMatch(/^\/jobs\/job_[\w-]{22}$/);
    expect(Number(accepted.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(accepted.body).toMatchObject({ status: 'QUEUED', done: false, links: { self: location } });
    const pending = seen.filter((answer) => answer.httpStatus === 202);
    expect(pending.length).toBeGreaterThan(0);
    expect(pending.every((answer) => answer.retryAfter !== null)).toBe(true);
    expect(pending.some((answer) => (answer.progress as { percent?: number } | undefined)?.percent === 50)).toBe(true);
    expect(final.body).toMatchObject({ status: 'SUCCEEDED', done: true, result: { sleptSeconds: 2 } });
  });

  it('answers the README’s first curl as the README shows it: the same status, headers and members', async () => {
    // Prepare: the quick start's command and the answer printed under it
    const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
    const command = /curl -i -X POST localhost:3000\/jobs -H 'content-type: application\/json' -d '(.+)'/.exec(readme);
    const shown = /```http\n(HTTP\/1\.1 (\d+) .*)\n([\s\S]*?)\n\n(\{.*\})\n```/.exec(readme);
    if (!command?.[1] || !shown?.[2] || !shown[3] || !shown[4]) throw new Error('README has no quick-start curl and answer');
    const shownHeaders = shown[3].split('\n').map((line) => line.split(':')[0]?.toLowerCase());
    // Act
    const answer = await request(`${app.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: command[1] });
    // Assess
    expect(answer.status).toBe(Number(shown[2]));
    for (const name of shownHeaders) expect(answer.headers.has(name ?? ''), name).toBe(true);
    expect(Object.keys(answer.body ?? {})).toEqual(Object.keys(JSON.parse(shown[4]) as object));
  });

  it('prints the job.succeeded event published to the topic', async () => {
    // Act
    const accepted = await submit(app.url, { type: 'echo', input: { ping: true } });
    const id = accepted.body?.id as string;
    const line = await app.waitForLine(new RegExp(`^\\[event\\] .*"job\\.succeeded".*${id}`), 15_000);
    // Assess
    const event = JSON.parse(line.slice('[event] '.length));
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id, status: 'SUCCEEDED', result: { ping: true } } });
    expect(event.id).toMatch(/^evt_/);
    expect(Date.parse(event.timestamp)).not.toBeNaN();
  });

  it('prints the functions’ JSON log lines and their metrics in embedded metric format, as CloudWatch receives them', async () => {
    // Act
    const accepted = await submit(app.url, { type: 'echo', input: { logged: true } });
    const id = String(accepted.body?.id);
    const ended = await app.waitForLine(new RegExp(`"message":"job ended".*"jobId":"${id}"`), 15_000);
    // Assess
    expect(JSON.parse(ended)).toMatchObject({
      level: 'INFO',
      service: 'async-jobs',
      function_name: 'process-jobs',
      function_request_id: expect.stringMatching(/\S/),
      jobId: id,
      status: 'SUCCEEDED',
    });
    const records = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as { _aws: { CloudWatchMetrics: { Namespace: string; Metrics: { Name: string; Unit: string }[] }[] } });
    const metrics = records.flatMap((record) => record._aws.CloudWatchMetrics.filter((set) => set.Namespace === 'AsyncJobs').flatMap((set) => set.Metrics));
    expect(metrics).toEqual(
      expect.arrayContaining([
        { Name: 'JobsSubmitted', Unit: 'Count' },
        { Name: 'JobsSucceeded', Unit: 'Count' },
        { Name: 'JobDuration', Unit: 'Milliseconds' },
        { Name: 'TimeInQueue', Unit: 'Milliseconds' },
      ]),
    );
  });

  it('marks the first invocation of each instance as its cold start in the log lines, as Lambda does', async () => {
    // Act: two jobs, one after the other
    for (const round of [1, 2]) {
      const accepted = await submit(app.url, { type: 'echo', input: { round } });
      await pollUntilDone(app.url, accepted.headers.get('location') ?? '');
    }
    const lines = app
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{') && line.includes('"cold_start"'))
      .map((line) => JSON.parse(line) as { function_name: string; cold_start: boolean });

    // Assess: the worker's first line is its first instance's first invocation; the second job reused an instance
    const worker = lines.filter((line) => line.function_name === 'process-jobs').map((line) => line.cold_start);
    expect(worker[0]).toBe(true);
    expect(worker).toContain(false);
  });

  it('ends a job whose processor throws as FAILED with a problem and prints job.failed', async () => {
    // Act
    const accepted = await submit(app.url, { type: 'fail', input: { message: 'no such customer' } });
    const final = await pollUntilDone(app.url, accepted.headers.get('location') ?? '');
    const line = await app.waitForLine(new RegExp(`^\\[event\\] .*"job\\.failed".*${String(accepted.body?.id)}`), 15_000);
    // Assess
    expect(final.body).toMatchObject({ status: 'FAILED', done: true, error: { status: 500, detail: 'no such customer' } });
    expect(JSON.parse(line.slice('[event] '.length)).type).toBe('job.failed');
  });

  it('answers an unknown id with 404 problem+json', async () => {
    // Act
    const response = await request(`${app.url}/jobs/job_AAAAAAAAAAAAAAAAAAAAAA`);
    // Assess
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body).toMatchObject({ status: 404, title: 'Job not found' });
  });

  it.each([
    ['GET', '/openapi_json', 404, undefined],
    ['GET', '/openapi.jsonx', 404, undefined],
    ['POST', '/openapi.json', 405, 'GET, OPTIONS'],
    ['PUT', '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA', 405, 'GET, DELETE, OPTIONS'],
    ['PATCH', '/jobs', 405, 'POST, GET, OPTIONS'],
    // A path that matches a route of its method only once decoded: no route took it, so no route answers it.
    ['GET', '/job%73', 404, undefined],
    ['GET', '/openapi%2Ejson', 404, undefined],
  ])('answers %s %s with %i problem+json from the fallback route', async (method, path, status, allow) => {
    // Act
    const response = await request(`${app.url}${path}`, { method });
    // Assess
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.headers.get('allow') ?? undefined).toBe(allow);
  });

  it.each(['/jobs', '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA', '/openapi.json'])('names the same methods for %s in the Allow of OPTIONS (204) and of a 405', async (path) => {
    // Act
    const options = await fetch(`${app.url}${path}`, { method: 'OPTIONS' });
    const refused = await request(`${app.url}${path}`, { method: 'PUT' });
    // Assess
    expect(options.status).toBe(204);
    expect(refused.status).toBe(405);
    expect(refused.headers.get('allow')).toBe(options.headers.get('allow'));
  });

  it('hands the function the path percent-decoded, as HTTP API does, and the problem names it as a URI path again', async () => {
    // Act
    const response = await request(`${app.url}/files/caf%C3%A9%20menu`);
    // Assess
    expect(response.status).toBe(404);
    expect(response.body).toMatchObject({ instance: '/files/caf%C3%A9%20menu', detail: expect.stringContaining("There is no resource at '/files/café menu'.") });
  });

  it('stops everything it started on Ctrl-C (SIGINT)', async () => {
    // Act
    await app.stop('SIGINT');
    // Assess
    expect(app.output()).toContain('[local runtime] stopped');
    expect(app.groupAlive()).toBe(false);
    await expect(fetch(`${app.url}/jobs/job_AAAAAAAAAAAAAAAAAAAAAA`)).rejects.toThrow();
  });
});

describe('npm start -- --help', () => {
  it('describes each option on a line of its own, and PORT', async () => {
    // Act
    const run = await runCommand(process.execPath, ['infra/local/start.mjs', '--help'], {});

    // Assess
    expect(run.code).toBe(0);
    for (const option of ['--dynamodb-local', '--data-dir <folder>', '--auth iam|jwt|none', '--cors-origin <o>', '--allow-host <name>', '-h, --help']) {
      expect(run.stdout).toMatch(new RegExp(`^ {2}${option.replace(/[|]/g, '\\|')} {2,}\\S`, 'm'));
    }
    expect(run.stdout).toMatch(/^PORT sets the HTTP port/m);
  });
});

describe('npm start --auth on a port of its choosing', () => {
  it.each([
    ['iam', /^IAM auth: /, /(ASYNC_JOBS_URL=\S+) (AWS_ACCESS_KEY_ID=\S+) (AWS_SECRET_ACCESS_KEY=\S+) npx async-jobs --auth iam get <id>$/, ['--auth', 'iam']],
    ['jwt', /^JWT auth /, /export (ASYNC_JOBS_URL=\S+) (ASYNC_JOBS_TOKEN=\S+)$/, []],
  ] as const)('%s: prints what the CLI needs to reach this API with its credentials', async (mode, linePattern, variables, cliAuth) => {
    // Prepare
    const app = await npmStart(['--auth', mode]);
    try {
      const line = await app.waitForLine(linePattern);
      const printed = variables.exec(line);
      expect(printed, line).not.toBeNull();
      const env = Object.fromEntries((printed?.slice(1) ?? []).map((assignment) => assignment.split('=', 2) as [string, string]));

      // Act: as printed, with an id of no job
      const run = await runCommand(process.execPath, ['client/bin/async-jobs.mjs', ...cliAuth, 'get', 'job_AAAAAAAAAAAAAAAAAAAAAA'], env);

      // Assess: the API answered, through its authorizer: the job is not found
      expect(env.ASYNC_JOBS_URL).toBe(app.url);
      expect(run.stderr).toContain('404');
      expect(run.stderr).toContain('not-found');
    } finally {
      await app.stop('SIGINT');
    }
  }, 90_000);
});

describe('npm start on SIGTERM', () => {
  it.each([
    ['its process group, as a terminal or a container stop sends it', 'group'],
    ['npm alone, as `kill <pid>` or a process manager sends it', 'npm'],
  ] as const)('to %s, stops everything it started', async (_case, to) => {
    // Prepare
    const app = await npmStart();
    try {
      // Act
      await app.stop('SIGTERM', to);
      // Assess
      expect(app.output()).toContain('[local runtime] stopped');
      expect(app.groupAlive()).toBe(false);
    } finally {
      if (app.groupAlive()) await app.stop('SIGKILL');
    }
  }, 90_000);
});

describe('npm start --dynamodb-local ended outright (kill -9, a crash, the OOM killer)', () => {
  it('leaves no DynamoDB Local running: its watchdog stops the Java process', async () => {
    // Prepare
    const app = await npmStart(['--dynamodb-local']);
    try {
      const group = processGroup(app.child.pid ?? 0);
      const runtime = group.find((member) => member.args.startsWith('node infra/local/start.mjs'));
      const java = group.find((member) => member.args.includes('DynamoDBLocal.jar'));
      expect(runtime, group.map((member) => member.args).join('\n')).toBeDefined();
      expect(java, group.map((member) => member.args).join('\n')).toBeDefined();
      // Act: the runtime alone, so that nothing it would run on a signal runs
      process.kill(runtime?.pid ?? 0, 'SIGKILL');
      for (let waited = 0; isRunning(java?.pid ?? 0) && waited < 20_000; waited += 100) await sleep(100);
      // Assess
      expect(isRunning(java?.pid ?? 0)).toBe(false);
    } finally {
      if (app.groupAlive()) await app.stop('SIGKILL');
    }
  }, 90_000);
});
