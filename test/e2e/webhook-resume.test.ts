/**
 * `npm start --data-dir`: a webhook delivery still being retried when the runtime stops goes on after
 * the restart, with the event exactly as published (fauxqs forgets the webhook queue on a stop).
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';

interface Delivery {
  readonly id: string;
  readonly body: string;
}

/** A receiver that answers `status.current` and keeps what it got. */
async function receiver(status: { current: number }) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ id: String(req.headers['webhook-id']), body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(status.current);
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, deliveries, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function webhookOf(runtime: LocalRuntime, id: string, status: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = (await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as { webhook?: Record<string, unknown> };
    if (job.webhook?.status === status) return job.webhook;
    if (Date.now() > deadline) throw new Error(`the webhook of ${id} stayed ${JSON.stringify(job.webhook)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('a webhook delivery across a stop and a start on the same data folder', () => {
  const runtimes: LocalRuntime[] = [];
  let dataDir: string | undefined;
  let target: Awaited<ReturnType<typeof receiver>> | undefined;
  afterAll(async () => {
    for (const runtime of runtimes) await runtime.stop();
    await target?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('goes on after the restart, with the same webhook-id and the body as published, until delivered', async () => {
    // Prepare: a delivery refused (500) and being retried when the runtime stops
    dataDir = await mkdtemp(path.join(tmpdir(), 'async-jobs-webhook-resume-'));
    const answer = { current: 500 };
    target = await receiver(answer);
    const start = () => startLocalRuntime({ port: 0, dataDir, onFunctionOutput: () => undefined });
    const before = await start();
    runtimes.push(before);
    const submitted = await fetch(`${before.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'echo', input: { resumed: true }, callbackUrl: target.url }),
    });
    const { id } = (await submitted.json()) as { id: string };
    await webhookOf(before, id, 'retrying');
    await before.stop();
    const [first] = target.deliveries as [Delivery];
    const beforeRestart = target.deliveries.length;

    // Act
    answer.current = 204;
    const after = await start();
    runtimes.push(after);
    const webhook = await webhookOf(after, id, 'delivered');

    // Assess
    const resumed = target.deliveries.slice(beforeRestart);
    expect(resumed.length).toBeGreaterThan(0);
    expect(resumed.map((delivery) => delivery.id)).toEqual(resumed.map(() => first.id));
    expect(resumed.map((delivery) => delivery.body)).toEqual(resumed.map(() => first.body));
    const event = JSON.parse(first.body);
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id, status: 'SUCCEEDED' } });
    expect(event.data).not.toHaveProperty('webhook');
    expect(webhook).toMatchObject({ status: 'delivered', lastStatusCode: 204 });
  }, 90_000);
});
