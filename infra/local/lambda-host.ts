/**
 * Runs inside a worker thread: one instance of one Lambda function, like one execution environment.
 * It loads the function's bundle once (the cold start) and then serves one invocation at a time.
 */
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import { resolveLocalhostSubdomains } from './localhost-dns.ts';

/** What the runtime passes to each instance. */
export interface HostData {
  readonly bundle: string;
  readonly functionName: string;
  readonly memoryMb: number;
}

/** Parent to instance. */
export interface InvokeMessage {
  readonly id: number;
  readonly requestId: string;
  readonly event: unknown;
  /** Epoch ms at which the invocation times out. */
  readonly deadline: number;
}

/** Instance to parent. */
export type HostReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'init-error'; readonly error: InvokeError }
  | { readonly kind: 'result'; readonly id: number; readonly result: unknown; readonly durationMs: number }
  | { readonly kind: 'error'; readonly id: number; readonly error: InvokeError; readonly durationMs: number };

/** A function error as Lambda reports it. */
export interface InvokeError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly stack?: string[];
}

function toInvokeError(error: unknown): InvokeError {
  if (error instanceof Error) return { errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') };
  return { errorType: 'Error', errorMessage: String(error) };
}

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

/** Lambda's limit on a synchronous invocation's response. */
const MAX_RESPONSE_BYTES = 6 * 1024 * 1024;

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('lambda-host must run in a worker thread');
  const data = workerData as HostData;
  resolveLocalhostSubdomains();
  let handler: Handler;
  try {
    const module = (await import(pathToFileURL(data.bundle).href)) as { handler?: Handler };
    if (typeof module.handler !== 'function') throw new Error(`${data.bundle} exports no handler`);
    handler = module.handler;
  } catch (error) {
    port.postMessage({ kind: 'init-error', error: toInvokeError(error) } satisfies HostReply);
    return;
  }
  // One log stream per execution environment, named as Lambda names them: the day it started, the version, a random id.
  const logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomBytes(16).toString('hex')}`;
  port.on('message', async (message: InvokeMessage) => {
    const context = {
      awsRequestId: message.requestId,
      functionName: data.functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${data.functionName}`,
      memoryLimitInMB: String(data.memoryMb),
      logGroupName: `/aws/lambda/${data.functionName}`,
      logStreamName,
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => Math.max(0, message.deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
    // What Lambda bills: the handler's run, from its call until its promise settles.
    const start = performance.now();
    try {
      const result = await handler(message.event, context);
      const durationMs = performance.now() - start;
      // As Lambda: a response over 6 MB is an error, whatever the function meant to return.
      const size = Buffer.byteLength(JSON.stringify(result) ?? '');
      if (size > MAX_RESPONSE_BYTES) {
        const errorMessage = `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`;
        port.postMessage({ kind: 'error', id: message.id, error: { errorType: 'Function.ResponseSizeTooLarge', errorMessage }, durationMs } satisfies HostReply);
        return;
      }
      port.postMessage({ kind: 'result', id: message.id, result, durationMs } satisfies HostReply);
    } catch (error) {
      port.postMessage({ kind: 'error', id: message.id, error: toInvokeError(error), durationMs: performance.now() - start } satisfies HostReply);
    }
  });
  port.postMessage({ kind: 'ready' } satisfies HostReply);
}

void main();
