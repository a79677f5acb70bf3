/**
 * The SQS adapter: a send resolves to the id SQS gave the message (the local runtime's message journal
 * keys on it), and it gives up when the caller's signal fires: a queue endpoint that accepts the
 * connection and never answers must not hold the submit until the function times out.
 */
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqsJobQueue } from '#aws/job-queue';
import { useFauxqs } from '../support/fauxqs.ts';

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

describe('SqsJobQueue.enqueue on fauxqs', () => {
  const sqs = useFauxqs();

  it('resolves to the id of the message a receive gets, which carries the job id and type only', async () => {
    // Prepare
    const client = sqs();
    const { QueueUrl = '' } = await client.send(new CreateQueueCommand({ QueueName: 'enqueue-id' }));
    const queue = new SqsJobQueue(client, QueueUrl);

    // Act
    const messageId = await queue.enqueue({ jobId: 'job_a', type: 'echo' });
    const { Messages = [] } = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));

    // Assess
    expect(Messages).toHaveLength(1);
    expect(messageId).toEqual(expect.any(String));
    expect(messageId).toBe(Messages[0]?.MessageId);
    expect(JSON.parse(Messages[0]?.Body ?? '')).toEqual({ jobId: 'job_a', type: 'echo' });
  });
});

describe('SqsJobQueue.redeliveryOf', () => {
  /** The visibility timeouts asked of SQS. */
  function recordingQueue() {
    const timeouts: unknown[] = [];
    const client = { send: async (command: { input: { VisibilityTimeout?: number } }) => void timeouts.push(command.input.VisibilityTimeout) } as unknown as SQSClient;
    return { queue: new SqsJobQueue(client, 'https://sqs.us-east-1.amazonaws.com/000000000000/jobs'), timeouts };
  }

  it('passes a wait SQS accepts as it is, in whole seconds', async () => {
    // Prepare
    const { queue, timeouts } = recordingQueue();

    // Act
    await queue.redeliveryOf('handle', Date.now()).delay(89.6);

    // Assess
    expect(timeouts).toEqual([90]);
  });

  it('cuts a wait to what is left of the 12 hours SQS allows from the receive, which it would refuse instead', async () => {
    // Prepare: received ten minutes ago.
    const { queue, timeouts } = recordingQueue();
    const receivedAt = Date.now() - 600_000;

    // Act
    await queue.redeliveryOf('handle', receivedAt).delay(86_400);

    // Assess: under 12 hours less the ten minutes held (and a minute's margin for the poll before the invocation).
    const [timeout] = timeouts as number[];
    expect(timeout).toBeLessThanOrEqual(12 * 3600 - 600 - 60);
    expect(timeout).toBeGreaterThan(12 * 3600 - 600 - 60 - 5);
  });

  it('makes a wait that is not a number an immediate redelivery, not a refused request', async () => {
    // Prepare
    const { queue, timeouts } = recordingQueue();

    // Act
    await queue.redeliveryOf('handle').delay(Number.NaN);

    // Assess
    expect(timeouts).toEqual([0]);
  });
});
