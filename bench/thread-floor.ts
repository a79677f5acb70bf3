/**
 * The submit floor issued from a worker thread, as a function instance issues it: the same two
 * requests, timed inside the thread. Beside the in-process floor, it separates what the local HTTP
 * API and instance protocol cost from what running the SDK in another thread costs.
 */
import { Worker } from 'node:worker_threads';
import type { PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import type { SendMessageCommandInput } from '@aws-sdk/client-sqs';
import { localRegion } from '../infra/config.ts';
import type { LocalRuntime } from '../infra/local/runtime.ts';
import { BENCH_USER_AGENT } from './request-log.ts';

/** Plain CommonJS, so the thread needs no loader; \`require\` resolves from the working directory. */
const THREAD_SOURCE = `
const dns = require('node:dns');
const { parentPort, workerData } = require('node:worker_threads');
const { DynamoDBClient, PutItemCommand } = require('@aws-sdk/client-dynamodb');
const { SQSClient, SendMessageCommand } = require('@aws-sdk/client-sqs');
// As infra/local/localhost-dns.ts does in every instance: queue URLs name *.localhost hosts.
const lookup = dns.lookup;
dns.lookup = (hostname, options, callback) => {
  const cb = typeof options === 'function' ? options : callback;
  if (!hostname.endsWith('.localhost')) return lookup(hostname, options, callback);
  if (typeof options === 'object' && options?.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};
const common = { region: workerData.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, customUserAgent: workerData.userAgent };
const dynamodb = new DynamoDBClient({ ...common, endpoint: workerData.dynamodb });
const sqs = new SQSClient({ ...common, endpoint: workerData.sqs });
parentPort.on('message', async ({ seq, put, send }) => {
  try {
    const start = performance.now();
    await dynamodb.send(new PutItemCommand(put));
    await sqs.send(new SendMessageCommand(send));
    parentPort.postMessage({ seq, ms: performance.now() - start });
  } catch (error) {
    parentPort.postMessage({ seq, error: String(error) });
  }
});
parentPort.postMessage({ ready: true });
`;

type Reply = { readonly ready: true } | { readonly seq: number; readonly ms?: number; readonly error?: string };

export interface ThreadFloor {
  /** Issues one submit's requests in the thread; resolves with the time measured there, ms. */
  submit(put: PutItemCommandInput, send: SendMessageCommandInput): Promise<number>;
  stop(): Promise<void>;
}

export async function startThreadFloor(endpoints: LocalRuntime['endpoints']): Promise<ThreadFloor> {
  // The thread resolves the SDK from the project's node_modules (the working directory).
  const worker = new Worker(THREAD_SOURCE, {
    eval: true,
    execArgv: [],
    workerData: { region: localRegion, userAgent: BENCH_USER_AGENT, dynamodb: endpoints.dynamodb, sqs: endpoints.sqs },
  });
  const pending = new Map<number, { resolve(ms: number): void; reject(error: Error): void }>();
  let seq = 0;
  await new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: Reply) => {
      if ('ready' in reply) return resolve();
      const call = pending.get(reply.seq);
      pending.delete(reply.seq);
      if (reply.ms !== undefined) call?.resolve(reply.ms);
      else call?.reject(new Error(reply.error));
    });
    worker.once('error', reject);
  });
  return {
    submit: (put, send) =>
      new Promise((resolve, reject) => {
        const id = ++seq;
        pending.set(id, { resolve, reject });
        worker.postMessage({ seq: id, put, send });
      }),
    stop: async () => {
      await worker.terminate();
    },
  };
}
