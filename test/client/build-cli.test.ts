/**
 * `npm run build:cli`: the compiled CLI that client/bin/async-jobs.mjs prefers runs with plain Node, and
 * loads the AWS SDK's credential chain only for `--auth iam`.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../../scripts/build-cli.ts';
import { jobResource } from './fake-api.ts';

let outdir: string;

beforeAll(async () => {
  outdir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cli-'));
  await buildCli(outdir);
}, 60_000);
afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

describe('the compiled CLI', () => {
  it('runs a command with plain Node, no TypeScript loader', async () => {
    // Prepare: an API that answers the one GET.
    const server = createServer((req, res) => {
      const found = req.method === 'GET' && req.url === '/jobs/job_AAAAAAAAAAAAAAAAAAAAAA';
      res.writeHead(found ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(found ? jobResource('SUCCEEDED', { result: 7 }) : {}));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      // Act: a fresh Node process runs the bundle's main() with the command line, as client/bin/async-jobs.mjs does.
      const cli = pathToFileURL(path.join(outdir, 'cli.js')).href;
      const run = promisify(execFile)(
        process.execPath,
        ['--input-type=module', '-e', 'await (await import(process.argv[1])).main();', cli, 'get', 'job_AAAAAAAAAAAAAAAAAAAAAA', '--endpoint', `http://127.0.0.1:${port}`],
        { env: { PATH: process.env.PATH ?? '' } },
      );
      const { stdout, stderr } = await run;

      // Assess
      expect(stderr).toBe('');
      expect(JSON.parse(stdout)).toMatchObject({ status: 'SUCCEEDED', result: 7 });
    } finally {
      server.close();
    }
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
