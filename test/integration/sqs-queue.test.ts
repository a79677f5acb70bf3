/**
 * The SQS adapter gives up on a send when the caller's signal fires: a queue endpoint that accepts
 * the connection and never answers must not hold the submit until the function times out.
 */
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsJobQueue } from '#aws/job-queue';

describe('SqsJobQueue.enqueue', () => {
  let silent: net.Server;
  const sockets: Socket[] = [];
  let client: SQSClient;

  beforeAll(async () => {
    // Reads every request, answers none.
    silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.resume();
    });
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const { port } = silent.address() as AddressInfo;
    client = new SQSClient({ endpoint: `http://127.0.0.1:${port}`, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  });
  afterAll(async () => {
    client?.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
  });

  it('rejects when its signal fires, while the endpoint still has not answered', async () => {
    // Prepare
    const queue = new SqsJobQueue(client, `http://127.0.0.1:${(silent.address() as AddressInfo).port}/000000000000/jobs`);
    const deadline = AbortSignal.timeout(200);

    // Act
    const outcome = await Promise.race([
      queue.enqueue({ jobId: 'job_x', type: 'echo' }, undefined, deadline).then(
        () => 'sent',
        () => 'gave up',
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000)),
    ]);

    // Assess
    expect(deadline.aborted).toBe(true);
    expect(outcome).toBe('gave up');
    expect(sockets.length).toBeGreaterThan(0);
  });
});
