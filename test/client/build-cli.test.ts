/**
 * `npm run build:cli`: the compiled CLI that client/bin/async-jobs.mjs prefers runs with plain Node, and
 * loads the AWS SDK's credential chain only for `--auth iam`.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliStream, runCli as RunCli } from '../../client/cli.ts';
import { buildCli } from '../../scripts/build-cli.ts';
import { fakeApi, jobResource } from './fake-api.ts';

let outdir: string;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cli-'));
  await buildCli(outdir);
}, 60_000);
afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

function capture(): CliStream & { text(): string } {
  const chunks: string[] = [];
  return { isTTY: false, write: (chunk: string) => chunks.push(chunk), text: () => chunks.join('') };
}

describe('the compiled CLI', () => {
  it('runs a command with plain Node', async () => {
    // Prepare
    const { runCli } = (await import(pathToFileURL(path.join(outdir, 'cli.js')).href)) as { runCli: typeof RunCli };
    const api = fakeApi([{ status: 200, body: jobResource('SUCCEEDED', { result: 7 }) }]);
    const [stdout, stderr] = [capture(), capture()];

    // Act
    const code = await runCli(['get', 'job_AAAAAAAAAAAAAAAAAAAAAA'], { stdout, stderr, env: {}, fetch: api.fetch });

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout.text())).toMatchObject({ status: 'SUCCEEDED', result: 7 });
  });

  it('keeps the IAM signer and the SDK it imports out of the module every command loads', async () => {
    // Act
    const files = await readdir(outdir);
    const main = await readFile(path.join(outdir, 'cli.js'), 'utf8');
    const chunks = await Promise.all(files.filter((file) => file !== 'cli.js').map((file) => readFile(path.join(outdir, file), 'utf8')));

    // Assess
    expect(main).not.toContain('@aws-sdk/credential-provider-node');
    expect(chunks.some((chunk) => chunk.includes('@aws-sdk/credential-provider-node'))).toBe(true);
  });
});
