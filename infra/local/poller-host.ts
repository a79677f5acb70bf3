/**
 * Runs inside a worker thread: the local SQS event source mappings, which on AWS are a service of
 * their own. Receiving and decoding batches here keeps that work off the thread that serves the
 * HTTP API and the emulators; each batch is handed to the runtime, which invokes the function.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { parentPort, workerData } from 'node:worker_threads';
import { resolveLocalhostSubdomains } from './localhost-dns.ts';
import { type PollerOptions, startPoller } from './sqs-poller.ts';

/** One event source mapping: a queue and how it is polled. */
export interface MappingSpec {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  readonly pollers: number;
}

/** What the runtime passes to the thread. */
export interface PollerHostData {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly mappings: readonly MappingSpec[];
}

/** Runtime to thread. */
export type ToPollerHost =
  | { readonly kind: 'result'; readonly seq: number; readonly result: unknown }
  | { readonly kind: 'failed'; readonly seq: number }
  | { readonly kind: 'stop' };

/** Thread to runtime. */
export type FromPollerHost =
  | { readonly kind: 'invoke'; readonly seq: number; readonly mapping: number; readonly event: SQSEvent }
  | { readonly kind: 'error'; readonly name: string; readonly message: string; readonly stack?: string }
  | { readonly kind: 'stopped' };

/** An invocation the runtime already reported (it holds the function's error); the batch is simply retried. */
class InvocationFailed extends Error {}

function main(): void {
  const port = parentPort;
  if (!port) throw new Error('poller-host must run in a worker thread');
  const data = workerData as PollerHostData;
  resolveLocalhostSubdomains();
  const sqs = new SQSClient({ region: data.region, credentials: data.credentials, endpoint: data.endpoint });
  const pending = new Map<number, { resolve(result: unknown): void; reject(error: Error): void }>();
  let seq = 0;
  const post = (message: FromPollerHost) => port.postMessage(message);
  const onError = (error: unknown) => {
    if (error instanceof InvocationFailed) return;
    const { name, message, stack } = error instanceof Error ? error : { name: 'Error', message: String(error), stack: undefined };
    post({ kind: 'error', name, message, ...(stack !== undefined && { stack }) });
  };
  const stops = data.mappings.map((mapping, index) => {
    const options: PollerOptions = {
      ...mapping,
      region: data.region,
      onError,
      invoke: (event) =>
        new Promise((resolve, reject) => {
          const id = ++seq;
          pending.set(id, { resolve, reject });
          post({ kind: 'invoke', seq: id, mapping: index, event });
        }),
    };
    return startPoller(sqs, options);
  });
  port.on('message', async (message: ToPollerHost) => {
    if (message.kind === 'stop') {
      // Batches in flight end as their invocations end (the runtime answers them all).
      await Promise.all(stops.map((stop) => stop()));
      sqs.destroy();
      post({ kind: 'stopped' });
      return;
    }
    const call = pending.get(message.seq);
    pending.delete(message.seq);
    if (message.kind === 'result') call?.resolve(message.result);
    else call?.reject(new InvocationFailed());
  });
}

main();
