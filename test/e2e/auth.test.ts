/**
 * Authentication and per-caller isolation on the local runtime, in both auth modes: SigV4 signed
 * for real (with the AWS SDK's signer) against local access keys, and JWTs from a local issuer.
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobsClient } from '../../client/client.ts';
import { ApiError } from '../../client/errors.ts';
import { iamSignedFetch } from '../../client/iam-signer.ts';
import { type LocalIamUser, localUserArn, newLocalIamUser } from '#infra/local/auth';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';
import { ResponseChecker, checkingFetch, localDocument } from '../support/openapi-check.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every answer, refusals included, is checked against the OpenAPI document. */
const checked = checkingFetch(new ResponseChecker(localDocument()));
afterEach(() => {
  expect(checked.takeViolations().violations).toEqual([]);
});

interface Caller {
  readonly client: AsyncJobsClient;
  readonly fetch: (url: string, init: RequestInit) => Promise<Response>;
}

/** What both modes must show: each caller sees only their own jobs, everywhere. */
function isolationSuite(mode: 'iam' | 'jwt', callers: () => { alice: Caller; bob: Caller; runtime: LocalRuntime }) {
  it(`keeps one caller's jobs from another: get, cancel and list answer as if they did not exist (${mode})`, async () => {
    // Prepare
    const { alice, bob } = callers();
    const job = await alice.client.submit({ type: 'sleep', input: { seconds: 5 } });
    // Act
    const asBob = await bob.client.get(job.id).then(
      () => 'found',
      (error: unknown) => (error instanceof ApiError ? error.status : 'other'),
    );
    const cancelAsBob = await bob.client.cancel(job.id).then(
      () => 'cancelled',
      (error: unknown) => (error instanceof ApiError ? error.status : 'other'),
    );
    const bobsList: string[] = [];
    for await (const page of bob.client.list({ limit: 100 })) bobsList.push(...page.jobs.map((listed) => listed.id));
    const alicesList: string[] = [];
    for await (const page of alice.client.list({ limit: 100 })) alicesList.push(...page.jobs.map((listed) => listed.id));
    const asAlice = await alice.client.get(job.id);
    // Assess
    expect(asBob).toBe(404);
    expect(cancelAsBob).toBe(404);
    expect(bobsList).not.toContain(job.id);
    expect(alicesList).toContain(job.id);
    expect(asAlice.id).toBe(job.id);
    await alice.client.cancel(job.id);
  });

  it(`scopes idempotency keys to the caller (${mode})`, async () => {
    // Prepare
    const { alice, bob } = callers();
    // Act
    const first = await alice.client.submit({ type: 'echo', input: 1 }, { idempotencyKey: `shared-${mode}` });
    const again = await alice.client.submit({ type: 'echo', input: 1 }, { idempotencyKey: `shared-${mode}` });
    const other = await bob.client.submit({ type: 'echo', input: 1 }, { idempotencyKey: `shared-${mode}` });
    // Assess
    expect(again.id).toBe(first.id);
    expect(other.id).not.toBe(first.id);
  });
}

describe('IAM (SigV4) mode', () => {
  let runtime: LocalRuntime;
  const users: Record<'alice' | 'bob', LocalIamUser> = { alice: newLocalIamUser('alice'), bob: newLocalIamUser('bob') };
  let alice: Caller;
  let bob: Caller;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, auth: 'iam', iamUsers: [users.alice, users.bob], onFunctionOutput: () => undefined });
    const caller = (user: LocalIamUser): Caller => {
      const fetch = iamSignedFetch({
        region: 'us-east-1',
        credentials: { accessKeyId: user.accessKeyId, secretAccessKey: user.secretAccessKey },
        fetch: checked.fetch,
      });
      return { fetch, client: new AsyncJobsClient({ baseUrl: runtime.url, fetch }) };
    };
    alice = caller(users.alice);
    bob = caller(users.bob);
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it.each([
    ['no signature', undefined],
    ['a signature made with the wrong secret', { accessKeyId: users.alice.accessKeyId, secretAccessKey: 'not-the-secret' }],
    ['an unknown access key', { accessKeyId: 'AKIANOBODY', secretAccessKey: 'x' }],
  ])('refuses a request with %s (403)', async (_case, credentials) => {
    // Act
    const send = credentials ? iamSignedFetch({ region: 'us-east-1', credentials, fetch: checked.fetch }) : checked.fetch;
    const response = await send(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    // Assess
    expect(response.status).toBe(403);
  });

  it('records the signer’s IAM principal ARN as the owner, and a tampered body breaks the signature', async () => {
    // Prepare
    const signed = await alice.fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    // Act
    const tampered = await iamSignedFetch({
      region: 'us-east-1',
      credentials: users.alice,
      fetch: (url, init) => fetch(url, { ...init, body: '{"type":"fail"}' }),
    })(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    // Assess
    expect(signed.status).toBe(202);
    expect(tampered.status).toBe(403);
    expect(localUserArn(users.alice)).toBe('arn:aws:iam::000000000000:user/alice');
  });

  it.each([
    ['POST /jobs', ['--data', '{"type":"echo","input":"signed by curl"}', '-H', 'content-type: application/json'], '/jobs', 202],
    ['GET /jobs with a query', [], '/jobs?limit=1&status=SUCCEEDED', 200],
  ])('takes the signature curl --aws-sigv4 makes, over host and x-amz-date alone, as awscurl and botocore do (%s)', async (_case, args, target, status) => {
    // Act
    const curl = (secret: string) =>
      promisify(execFile)('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', '--aws-sigv4', 'aws:amz:us-east-1:execute-api', '--user', `${users.alice.accessKeyId}:${secret}`, ...args, `${runtime.url}${target}`]);
    const signed = await curl(users.alice.secretAccessKey);
    const wrongSecret = await curl('not-the-secret');

    // Assess
    expect(Number(signed.stdout)).toBe(status);
    expect(Number(wrongSecret.stdout)).toBe(403);
  });

  isolationSuite('iam', () => ({ alice, bob, runtime }));

  it('lets the CLI sign with the standard AWS credential chain', async () => {
    // Prepare
    const job = await alice.client.submit({ type: 'echo', input: 'from the cli test' });
    // Act
    const child = spawn(process.execPath, [path.join(projectRoot, 'client/bin/async-jobs.mjs'), '--auth', 'iam', 'wait', job.id, '--timeout', '20'], {
      env: { ...process.env, ASYNC_JOBS_URL: runtime.url, AWS_ACCESS_KEY_ID: users.alice.accessKeyId, AWS_SECRET_ACCESS_KEY: users.alice.secretAccessKey, AWS_REGION: 'us-east-1', AWS_PROFILE: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ id: job.id, status: 'SUCCEEDED', result: 'from the cli test' });
  }, 30_000);
});

describe('JWT mode', () => {
  let runtime: LocalRuntime;
  let alice: Caller;
  let bob: Caller;

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, auth: 'jwt', onFunctionOutput: () => undefined });
    const caller = (sub: string): Caller => {
      const token = runtime.auth.issueToken(sub);
      const send = (url: string, init: RequestInit = {}) =>
        checked.fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });
      return { fetch: send, client: new AsyncJobsClient({ baseUrl: runtime.url, fetch: checked.fetch, headers: { authorization: `Bearer ${token}` } }) };
    };
    alice = caller('alice');
    bob = caller('bob');
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it.each([
    ['no token', () => undefined],
    ['an expired token', () => runtime.auth.issueToken('alice', -60)],
    ['a token whose signature is not the issuer’s', () => `${runtime.auth.issueToken('alice').split('.').slice(0, 2).join('.')}.c2lnbmF0dXJl`],
    ['garbage', () => 'not.a.jwt'],
  ])('refuses a request with %s (401)', async (_case, token) => {
    // Act
    const value = token();
    const response = await checked.fetch(`${runtime.url}/jobs`, { ...(value && { headers: { authorization: `Bearer ${value}` } }) });
    // Assess
    expect(response.status).toBe(401);
  });

  it('refuses, with problem+json 403, a valid token that names no subject, as API Gateway lets it through', async () => {
    // Prepare
    const token = runtime.auth.issueToken(undefined);
    const job = await alice.client.submit({ type: 'echo', input: 'alice’s' });

    // Act
    const answers = await Promise.all(
      [`${runtime.url}/jobs`, `${runtime.url}/jobs/${job.id}`].map((url) => checked.fetch(url, { headers: { authorization: `Bearer ${token}` } })),
    );
    const submit = await checked.fetch(`${runtime.url}/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"type":"echo"}',
    });

    // Assess
    for (const answer of [...answers, submit]) {
      expect(answer.status).toBe(403);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(await answer.json()).toMatchObject({ type: '/problems/unidentified-caller', status: 403 });
    }
  });

  it('records the token’s sub as the owner', async () => {
    // Act
    const response = await alice.fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo"}' });
    // Assess
    expect(response.status).toBe(202);
  });

  isolationSuite('jwt', () => ({ alice, bob, runtime }));
});
