/**
 * `iamSignedFetch`: the region a request is signed for (the one the API is in, or API Gateway answers
 * 403), and what a caller sees when it cannot sign at all: a request never sent, not one that may
 * have made a job.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { iamSignedFetch } from '../../client/iam-signer.ts';
import { AsyncJobsClient, RequestNotSentError } from '../../client/index.ts';
import { fakeApi, jobResource, settle } from './fake-api.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
const EXECUTE_API = 'https://abc123.execute-api.eu-west-1.amazonaws.com/prod';
const CUSTOM_DOMAIN = 'https://jobs.example.com';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'async-jobs-iam-'));
  // No region and no profile from the machine running the tests: each case sets its own.
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE']) vi.stubEnv(name, undefined);
  vi.stubEnv('AWS_CONFIG_FILE', path.join(dir, 'no-config'));
  vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', path.join(dir, 'no-credentials'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

/** The region of the SigV4 credential scope in an `authorization` header. */
function signedRegion(authorization: string | null): string | undefined {
  return /Credential=[^/]+\/\d{8}\/([^/]+)\/execute-api\/aws4_request/.exec(authorization ?? '')?.[1];
}

describe('the region a request is signed for', () => {
  it.each([
    ['the region option, over all else', EXECUTE_API, { region: 'ap-northeast-1' }, { AWS_REGION: 'us-west-2' }, undefined, 'ap-northeast-1'],
    ["the region in an execute-api endpoint's host name, over $AWS_REGION", EXECUTE_API, {}, { AWS_REGION: 'us-west-2' }, undefined, 'eu-west-1'],
    ['$AWS_REGION, for a custom domain', CUSTOM_DOMAIN, {}, { AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'eu-central-1' }, undefined, 'us-west-2'],
    ['$AWS_DEFAULT_REGION, without $AWS_REGION', CUSTOM_DOMAIN, {}, { AWS_DEFAULT_REGION: 'eu-central-1' }, undefined, 'eu-central-1'],
    [
      "the active profile's region in the shared config file, without either variable",
      CUSTOM_DOMAIN,
      {},
      { AWS_PROFILE: 'work' },
      '[default]\nregion = eu-north-1\n\n[profile work]\nregion = ap-south-1\n',
      'ap-south-1',
    ],
    ['us-east-1, with nothing else to go by', CUSTOM_DOMAIN, {}, {}, undefined, 'us-east-1'],
  ])('is %s', async (_what, baseUrl, options, env, configFile, expected) => {
    // Prepare
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    if (configFile !== undefined) {
      const file = path.join(dir, 'config');
      await writeFile(file, configFile);
      vi.stubEnv('AWS_CONFIG_FILE', file);
    }
    const api = fakeApi([{ status: 200, body: jobResource('SUCCEEDED') }]);
    const client = new AsyncJobsClient({ baseUrl, fetch: iamSignedFetch({ ...options, credentials, fetch: api.fetch }) });
    // Act
    await client.get('job_AAAAAAAAAAAAAAAAAAAAAA');
    // Assess
    expect(signedRegion(api.calls[0]?.headers.get('authorization') ?? null)).toBe(expected);
  });
});

describe('a request that cannot be signed', () => {
  it('rejects with RequestNotSentError at once: no retry, nothing sent', async () => {
    // Prepare: no credentials anywhere
    let lookups = 0;
    const noCredentials = async () => {
      lookups += 1;
      throw new Error('Could not load credentials from any providers');
    };
    const api = fakeApi([]);
    const client = new AsyncJobsClient({ baseUrl: EXECUTE_API, fetch: iamSignedFetch({ credentials: noCredentials, fetch: api.fetch }) });
    // Act
    const result = await settle(client.submit({ type: 'echo' }));
    // Assess
    const error = 'error' in result ? result.error : undefined;
    expect(error).toBeInstanceOf(RequestNotSentError);
    expect((error as Error).message).toBe(`POST ${EXECUTE_API}/jobs was not sent: it could not be signed for IAM: Could not load credentials from any providers`);
    expect(lookups).toBe(1);
    expect(api.calls).toHaveLength(0);
  });
});
