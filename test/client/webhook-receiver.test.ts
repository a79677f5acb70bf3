/**
 * `npm run webhook-receiver`: it verifies deliveries with the secret `npm start` made, which lives in the
 * data folder when `npm start` ran with `--data-dir`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookHeaders } from '#core/webhooks';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let receiver: ChildProcess | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  receiver?.kill();
  receiver = undefined;
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** Starts the receiver with `args` and resolves with its URL and what it printed so far. */
async function startReceiver(args: readonly string[], env: Record<string, string> = {}): Promise<{ url: string; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'client/webhook-receiver.ts', '--port', '0', ...args], {
    cwd: projectRoot,
    env: { ...process.env, ASYNC_JOBS_WEBHOOK_SECRET: '', ASYNC_JOBS_URL: 'http://127.0.0.1:4321', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  receiver = child;
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the receiver printed no URL:\n${output}`)), 30_000);
    child.stdout?.on('data', () => {
      const found = /webhook receiver on (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
  return { url, output: () => output };
}

function deliver(url: string, secret: string): Promise<Response> {
  const body = JSON.stringify({ id: 'evt_1', type: 'job.succeeded', data: { id: 'job_AAAAAAAAAAAAAAAAAAAAAA', status: 'SUCCEEDED' } });
  const headers = webhookHeaders([secret], 'msg_1', Math.floor(Date.now() / 1000), body);
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

describe('webhook receiver', () => {
  it('with --data-dir, verifies deliveries with the secret npm start keeps in that folder (over ASYNC_JOBS_WEBHOOK_SECRET), and refuses others', async () => {
    // Prepare: a data folder as npm start -- --data-dir leaves it
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'receiver-data-'));
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    await writeFile(path.join(dataDir, 'webhook-secret'), secret);
    const { url, output } = await startReceiver(['--data-dir', dataDir], { ASYNC_JOBS_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}` });

    // Act
    const verified = await deliver(url, secret);
    const forged = await deliver(url, `whsec_${randomBytes(32).toString('base64')}`);

    // Assess
    expect(verified.status).toBe(204);
    expect(forged.status).toBe(400);
    expect(output()).toContain('[verified] msg_1 job.succeeded job_AAAAAAAAAAAAAAAAAAAAAA SUCCEEDED');
    expect(output()).toContain('try: curl -s -X POST http://127.0.0.1:4321/jobs');
  }, 40_000);

  it('takes a secret without the whsec_ prefix, as the deployed stack stores it', async () => {
    // Prepare
    const key = randomBytes(32).toString('base64');
    const { url } = await startReceiver(['--secret', key]);

    // Act
    const response = await deliver(url, `whsec_${key}`);

    // Assess
    expect(response.status).toBe(204);
  }, 40_000);

  it('says which folder has no secret when --data-dir names one npm start never used', async () => {
    // Prepare
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'receiver-empty-'));
    const { url, output } = await startReceiver(['--data-dir', dataDir]);

    // Act
    const response = await deliver(url, `whsec_${randomBytes(32).toString('base64')}`);

    // Assess
    expect(response.status).toBe(400);
    expect(output()).toContain(`[REJECTED] no signing secret: no webhook-secret in ${dataDir}`);
  }, 40_000);

  it.each<[string, (busyPort: number) => string[], RegExp]>([
    ['a port that is not a number', () => ['--port', 'abc'], /^webhook receiver: the port must be a number from 0 to 65535 \(--port or WEBHOOK_PORT\), got 'abc'$/m],
    ['a port in use', (busyPort) => ['--port', String(busyPort)], /^webhook receiver: port \d+ is in use: pass --port <n>/m],
    ['an empty port', () => ['--port', ''], /^webhook receiver: the port must be a number from 0 to 65535 \(--port or WEBHOOK_PORT\), got ''$/m],
    ['a secret that is not base64', () => ['--secret', 'whsec_not base64!'], /^webhook receiver: the webhook secret must be 'whsec_' followed by base64$/m],
    ['a word for a secret', () => ['--secret', 'nonsense'], /^webhook receiver: the signing secret is 6 bytes; a signing secret is at least 16/m],
  ])('refuses to start on %s, in one line and with exit code 2', async (_, args, message) => {
    // Prepare: a port another program holds
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const busyPort = (busy.address() as { port: number }).port;
    try {
      // Act
      const child = spawn(process.execPath, ['--import', 'tsx', 'client/webhook-receiver.ts', ...args(busyPort)], {
        cwd: projectRoot,
        env: { ...process.env, ASYNC_JOBS_WEBHOOK_SECRET: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      receiver = child;
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const [code] = (await once(child, 'exit')) as [number | null];

      // Assess
      expect(code).toBe(2);
      expect(stderr).toMatch(message);
      expect(stderr).not.toContain('    at ');
    } finally {
      busy.close();
    }
  }, 40_000);
});
