/**
 * The push path on the local runtime, with real HTTP receivers: SNS events with filterable
 * attributes, and Standard Webhooks deliveries with retries, 410, redirects and SSRF refusal.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localRegion } from '#infra/config';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';
import { queueArnOf } from '#infra/local/resources';
import { RefusedTargetError, postWebhook } from '#net/webhook-transport';

interface Delivery {
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A receiver answering each delivery with the next status of `script` (the last one repeats). */
async function receiver(script: readonly (number | { status: number; location: string })[]) {
  const deliveries: Delivery[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const step = script[Math.min(deliveries.length, script.length) - 1] ?? 200;
      if (typeof step === 'number') res.writeHead(step);
      else res.writeHead(step.status, { location: step.location });
      res.end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, deliveries, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function submit(runtime: LocalRuntime, body: unknown) {
  const response = await fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function webhookOf(runtime: LocalRuntime, id: string, until: (webhook: Record<string, unknown>) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = (await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as { webhook?: Record<string, unknown> };
    if (job.webhook && until(job.webhook)) return job.webhook;
    if (Date.now() > deadline) throw new Error(`webhook of ${id} stayed ${JSON.stringify(job.webhook)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('the push path in local mode', () => {
  let runtime: LocalRuntime;
  const receivers: { close(): Promise<void> }[] = [];
  /** Every event the topic published, as its subscribers received it. */
  const published: string[] = [];

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined, onEvent: (_event, raw) => published.push(raw) });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
    await Promise.all(receivers.map((r) => r.close()));
  });

  it('delivers a job’s event signed so that the reference Standard Webhooks library verifies it', async () => {
    // Prepare
    const target = await receiver([204]);
    receivers.push(target);
    // Act
    const input = { n: 1, text: 'café \u0007 ✓', large: 1e21, small: 5e-324, list: [1.5, -0, null], metadataLike: { b: 1, a: 2, 10: 3 } };
    const { status, body } = await submit(runtime, { type: 'echo', input, metadata: { order: 'A-1' }, callbackUrl: target.url });
    const webhook = await webhookOf(runtime, body.id as string, (state) => state.status === 'delivered');
    // Assess
    expect(status).toBe(202);
    expect(body.webhook).toEqual({ status: 'pending', attempts: 0 });
    expect(target.deliveries).toHaveLength(1);
    const [delivery] = target.deliveries as [Delivery];
    const event = new Webhook(runtime.webhookSecret).verify(delivery.body, delivery.headers as Record<string, string>) as Record<string, unknown>;
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id: body.id, status: 'SUCCEEDED', result: JSON.parse(JSON.stringify(input)) } });
    // The body, built again from the job's record, is byte for byte the event the topic published.
    expect(published.filter((raw) => raw.includes(body.id as string))).toEqual([delivery.body]);
    expect(delivery.headers['webhook-id']).toBe(event.id);
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(webhook).toMatchObject({ status: 'delivered', attempts: 1, lastStatusCode: 204 });
  });

  it('retries 500s with the same webhook-id and a fresh signature each time, and shows delivered after 3 attempts', async () => {
    // Prepare
    const target = await receiver([500, 500, 200]);
    receivers.push(target);
    // Act
    const { body } = await submit(runtime, { type: 'echo', callbackUrl: target.url });
    const webhook = await webhookOf(runtime, body.id as string, (state) => state.status === 'delivered');
    // Assess
    expect(webhook).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    expect(target.deliveries).toHaveLength(3);
    const ids = new Set(target.deliveries.map((delivery) => delivery.headers['webhook-id']));
    expect(ids.size).toBe(1);
    for (const delivery of target.deliveries) {
      expect(() => new Webhook(runtime.webhookSecret).verify(delivery.body, delivery.headers as Record<string, string>)).not.toThrow();
    }
    expect(new Set(target.deliveries.map((delivery) => delivery.body)).size).toBe(1);
  });

  it('shows the retrying state with the last status code while it retries', async () => {
    // Prepare
    const target = await receiver([503]);
    receivers.push(target);
    // Act
    const { body } = await submit(runtime, { type: 'echo', callbackUrl: target.url });
    const webhook = await webhookOf(runtime, body.id as string, (state) => state.status === 'retrying');
    // Assess
    expect(webhook).toMatchObject({ status: 'retrying', lastStatusCode: 503, lastError: 'HTTP 503' });
    expect(webhook.lastAttemptAt).toBeTypeOf('string');
  });

  it('stops at a 410 after one attempt and shows gone', async () => {
    // Prepare
    const target = await receiver([410]);
    receivers.push(target);
    // Act
    const { body } = await submit(runtime, { type: 'fail', callbackUrl: target.url });
    const webhook = await webhookOf(runtime, body.id as string, (state) => state.status === 'gone');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    // Assess
    expect(webhook).toMatchObject({ status: 'gone', attempts: 1, lastStatusCode: 410 });
    expect(target.deliveries).toHaveLength(1);
    expect(JSON.parse(target.deliveries[0]?.body ?? '{}')).toMatchObject({ type: 'job.failed' });
  });

  it('never follows a redirect: the redirect target receives nothing and the attempt counts as failed', async () => {
    // Prepare
    const elsewhere = await receiver([200]);
    const redirecting = await receiver([{ status: 302, location: elsewhere.url }]);
    receivers.push(elsewhere, redirecting);
    // Act
    const { body } = await submit(runtime, { type: 'echo', callbackUrl: redirecting.url });
    const webhook = await webhookOf(runtime, body.id as string, (state) => Number(state.attempts) >= 2);
    // Assess
    expect(webhook).toMatchObject({ status: 'retrying', lastStatusCode: 302, lastError: 'redirect 302 not followed' });
    expect(redirecting.deliveries.length).toBeGreaterThanOrEqual(2);
    expect(elsewhere.deliveries).toHaveLength(0);
  });

  it('gives each SNS subscriber exactly the events its filter policy asks for', async () => {
    // Prepare: three queues subscribed with filters on the message attributes.
    const common = { region: localRegion, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const sqs = new SQSClient({ ...common, endpoint: runtime.endpoints.sqs });
    const sns = new SNSClient({ ...common, endpoint: runtime.endpoints.sns });
    const filters = { failures: { type: ['job.failed'] }, sleeps: { jobType: ['sleep'] }, ended: { status: ['SUCCEEDED', 'CANCELLED'] } };
    const queues: Record<string, string> = {};
    for (const [name, policy] of Object.entries(filters)) {
      const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: `filter-${name}` }));
      queues[name] = QueueUrl;
      await sns.send(
        new SubscribeCommand({
          TopicArn: runtime.resources.topicArn,
          Protocol: 'sqs',
          Endpoint: await queueArnOf(sqs, QueueUrl),
          Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify(policy) },
        }),
      );
    }
    // Act
    const ids: Record<string, string> = {};
    for (const [key, job] of Object.entries({ echo: { type: 'echo' }, fail: { type: 'fail' }, sleep: { type: 'sleep', input: { seconds: 0 } } })) {
      ids[key] = (await submit(runtime, job)).body.id as string;
    }
    const received: Record<string, string[]> = { failures: [], sleeps: [], ended: [] };
    const count = () => Object.values(received).reduce((sum, list) => sum + list.length, 0);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && count() < 4) {
      for (const [name, url] of Object.entries(queues)) {
        const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
        for (const message of Messages) received[name]?.push((JSON.parse(message.Body ?? '{}') as { data: { id: string } }).data.id);
        if (Messages.length > 0) {
          await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })) }));
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    sqs.destroy();
    sns.destroy();
    // Assess
    expect(received.failures).toEqual([ids.fail]);
    expect(received.sleeps).toEqual([ids.sleep]);
    expect([...(received.ended ?? [])].sort()).toEqual([ids.echo, ids.sleep].sort());
  });
});

describe('SSRF protection in cloud mode', () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, webhookMode: 'cloud', onFunctionOutput: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it.each([
    'http://127.0.0.1:3001/hook',
    'http://hooks.example.com/',
    'https://127.0.0.1/',
    'https://localhost/',
    'https://[::1]/',
    'https://[::ffff:127.0.0.1]/',
    'https://10.0.0.1/',
    'https://172.20.0.1/',
    'https://192.168.0.10/',
    'https://[fd00::1]/',
    'https://169.254.169.254/latest/meta-data/',
    'https://[::ffff:169.254.169.254]/',
    'https://[fe80::1]/',
    'https://100.64.0.1/',
    'https://0.0.0.0/',
    'https://224.0.0.1/',
  ])('refuses %s at submit with a 400 naming callbackUrl, and creates nothing', async (callbackUrl) => {
    // Act
    const { status, body } = await submit(runtime, { type: 'echo', callbackUrl });
    // Assess
    expect(status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ field: '/callbackUrl' })]);
  });

  it('refuses again at delivery, after resolving the host: a name that resolves to loopback is never called', async () => {
    // Act and assess
    await expect(postWebhook('https://localhost:9/hook', {}, '{}', { mode: 'cloud', timeoutMs: 2_000 })).rejects.toThrow(RefusedTargetError);
    await expect(postWebhook('https://localhost:9/hook', {}, '{}', { mode: 'cloud', timeoutMs: 2_000 })).rejects.toThrow(/loopback/);
  });
});
