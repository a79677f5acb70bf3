/**
 * The runtime's side of the event source mappings: starts the poller thread (poller-host.ts), invokes
 * the function of each batch it hands over, and answers with the function's result.
 */
import type { SQSEvent } from 'aws-lambda';
import { Worker } from 'node:worker_threads';
import type { FromPollerHost, MappingSpec, PollerHostData, ToPollerHost } from './poller-host.ts';

/** One event source mapping and the function it invokes. */
export interface Mapping extends MappingSpec {
  readonly invoke: (event: SQSEvent) => Promise<unknown>;
}

/** How long stopping waits for the thread to finish its batches before it is terminated. */
const STOP_GRACE_MS = 5_000;

/** A running poller thread. */
export interface PollerThread {
  /** From now on, failures are the stop's doing: they are no longer reported. */
  quiesce(): void;
  /** Stops polling: batches in flight end as their invocations end (within a grace period). */
  stop(): Promise<void>;
}

/** Starts polling every mapping in one thread. */
export function startPollerThread(
  host: string,
  connection: Omit<PollerHostData, 'mappings'>,
  mappings: readonly Mapping[],
  onError: (error: unknown) => void,
): PollerThread {
  const data: PollerHostData = { ...connection, mappings: mappings.map(({ invoke: _invoke, ...spec }) => spec) };
  const worker = new Worker(host, { workerData: data, execArgv: ['--enable-source-maps'] });
  let quiet = false;
  let stopping = false;
  let markStopped: () => void = () => undefined;
  let markExited: () => void = () => undefined;
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });
  // Answers go out while stopping too: the thread finishes its batches before it says it stopped.
  const send = (message: ToPollerHost) => worker.postMessage(message);
  worker.on('message', (message: FromPollerHost) => {
    if (message.kind === 'stopped') markStopped();
    else if (message.kind === 'invoke') {
      const mapping = mappings[message.mapping];
      if (!mapping) return send({ kind: 'failed', seq: message.seq });
      mapping.invoke(message.event).then(
        (result) => send({ kind: 'result', seq: message.seq, result }),
        (error: unknown) => {
          // A function error returns the batch to the queue; the runtime reports it, as the mapping would log it.
          if (!quiet) onError(error);
          send({ kind: 'failed', seq: message.seq });
        },
      );
    } else if (message.kind === 'error' && !quiet) {
      onError(Object.assign(new Error(message.message), { name: message.name, ...(message.stack !== undefined && { stack: message.stack }) }));
    }
  });
  worker.on('error', (error) => {
    if (!quiet) onError(error);
  });
  worker.on('exit', (code) => {
    markExited();
    if (!quiet) onError(new Error(`the poller thread exited with code ${code}: queues are no longer polled`));
  });
  return {
    quiesce: () => {
      quiet = true;
    },
    stop: async () => {
      if (stopping) return;
      stopping = true;
      quiet = true;
      send({ kind: 'stop' });
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise((resolve) => {
        timer = setTimeout(resolve, STOP_GRACE_MS);
      });
      await Promise.race([stopped, grace, exited]);
      clearTimeout(timer);
      await worker.terminate();
    },
  };
}
