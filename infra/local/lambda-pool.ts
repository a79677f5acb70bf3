/**
 * Local Lambda: each function runs in worker-thread instances that hold exactly the function's
 * environment, handle one invocation at a time, and are thrown away when an invocation times out
 * or crashes, as Lambda does with an execution environment.
 */
import { randomUUID } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { HostData, HostReply, InvokeError, InvokeMessage } from './lambda-host.ts';

/** How one function is run. */
export interface FunctionConfig {
  readonly name: string;
  readonly bundle: string;
  readonly host: string;
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly memoryMb: number;
  /** Most instances at once; invocations beyond it wait, as under reserved concurrency. */
  readonly maxInstances: number;
  /** Receives what the function writes to stdout and stderr (its logs). @default the process's own streams */
  readonly onOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Told how long each invocation that returned or threw ran in its handler, ms (what Lambda bills). */
  readonly onInvocation?: (durationMs: number) => void;
}

/** Raised when an invocation ends in a function error, a timeout or a crash. */
export class InvocationError extends Error {
  constructor(
    readonly functionName: string,
    readonly error: InvokeError,
  ) {
    super(`${functionName}: ${error.errorType}: ${error.errorMessage}`);
    this.name = 'InvocationError';
  }
}

/** The share of a function's memory its instance's JS heap may take. */
const HEAP_SHARE_OF_MEMORY = 0.9;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

class Instance {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  private pending: { id: number; call: Pending } | undefined;
  private nextId = 0;
  dead = false;

  constructor(private readonly config: FunctionConfig) {
    const workerData: HostData = { bundle: config.bundle, functionName: config.name, memoryMb: config.memoryMb };
    const capture = config.onOutput !== undefined;
    // A Lambda instance starts plain Node with the function's NODE_OPTIONS (`--enable-source-maps` unless the
    // project deploys without source maps): not this process's options or loaders (tsx), which would double
    // an instance's start-up.
    // The function's memory bounds the instance's heap, as Lambda's bounds its process: a function that
    // would run out of memory deployed runs out here too, rather than only once it is in AWS. The heap is
    // most of a Lambda's memory; this is an approximation, as the rest of the process is not counted.
    const resourceLimits = { maxOldGenerationSizeMb: Math.floor(config.memoryMb * HEAP_SHARE_OF_MEMORY) };
    this.worker = new Worker(config.host, { env: { ...config.env }, workerData, stdout: capture, stderr: capture, execArgv: [], resourceLimits });
    if (config.onOutput) {
      const onOutput = config.onOutput;
      this.worker.stdout.on('data', (chunk: Buffer) => onOutput('stdout', chunk));
      this.worker.stderr.on('data', (chunk: Buffer) => onOutput('stderr', chunk));
    }
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (reply: HostReply) => {
        if (reply.kind === 'ready') return resolve();
        if (reply.kind === 'init-error') {
          this.kill();
          return reject(new InvocationError(config.name, reply.error));
        }
        const current = this.pending;
        if (!current || current.id !== reply.id) return;
        this.pending = undefined;
        clearTimeout(current.call.timer);
        try {
          config.onInvocation?.(reply.durationMs);
        } catch {
          // An observer's failure is not the invocation's.
        }
        if (reply.kind === 'result') current.call.resolve(reply.result);
        else current.call.reject(new InvocationError(config.name, reply.error));
      });
      this.worker.on('error', (error) => this.crash(error, reject));
      this.worker.on('exit', (code) => this.crash(new Error(`instance exited with code ${code}`), reject));
    });
  }

  invoke(event: unknown): Promise<unknown> {
    const id = ++this.nextId;
    const deadline = Date.now() + this.config.timeoutMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.kill();
        reject(
          new InvocationError(this.config.name, {
            errorType: 'Sandbox.Timedout',
            errorMessage: `Task timed out after ${(this.config.timeoutMs / 1000).toFixed(2)} seconds`,
          }),
        );
      }, this.config.timeoutMs);
      this.pending = { id, call: { resolve, reject, timer } };
      const message: InvokeMessage = { id, requestId: randomUUID(), event, deadline };
      this.worker.postMessage(message);
    });
  }

  private crash(error: Error, rejectInit: (error: Error) => void): void {
    if (this.dead) return;
    this.dead = true;
    rejectInit(error);
    const current = this.pending;
    this.pending = undefined;
    if (current) {
      clearTimeout(current.call.timer);
      const outOfMemory = (error as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      current.call.reject(
        new InvocationError(
          this.config.name,
          outOfMemory
            ? { errorType: 'Runtime.OutOfMemory', errorMessage: `Runtime exited: out of memory (${this.config.memoryMb} MB): ${error.message}` }
            : { errorType: 'Runtime.ExitError', errorMessage: error.message },
        ),
      );
    }
  }

  kill(): void {
    this.dead = true;
    void this.worker.terminate();
  }
}

/** The instances of one function. */
export class LambdaPool {
  private readonly idle: Instance[] = [];
  /** Started by `warm` and not yet taken: the next invocation takes one rather than start another. */
  private readonly warming: Instance[] = [];
  private readonly all = new Set<Instance>();
  private readonly waiting: { resolve(instance: Instance): void; reject(error: Error): void }[] = [];
  private closed = false;

  constructor(readonly config: FunctionConfig) {}

  /** Starts one instance ahead of the first invocation, so it pays no cold start (unless an invocation already started one). */
  async warm(): Promise<void> {
    if (this.closed || this.all.size > 0) return;
    const instance = this.spawn();
    this.warming.push(instance);
    try {
      await instance.ready;
    } finally {
      // Unless an invocation took it meanwhile (and releases it when done), it is ready for the next one.
      const index = this.warming.indexOf(instance);
      if (index >= 0) {
        this.warming.splice(index, 1);
        this.release(instance);
      }
    }
  }

  /** Invokes the function with `event`; resolves with its result or rejects with an InvocationError. */
  async invoke(event: unknown): Promise<unknown> {
    const instance = await this.acquire();
    try {
      await instance.ready;
      return await instance.invoke(event);
    } finally {
      this.release(instance);
    }
  }

  private spawn(): Instance {
    const instance = new Instance(this.config);
    this.all.add(instance);
    return instance;
  }

  private acquire(): Promise<Instance> {
    if (this.closed) return Promise.reject(new Error(`${this.config.name} is stopped`));
    const instance = this.idle.pop() ?? this.warming.shift();
    if (instance) return Promise.resolve(instance);
    if (this.all.size < this.config.maxInstances) return Promise.resolve(this.spawn());
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(instance: Instance): void {
    if (instance.dead || this.closed) {
      this.all.delete(instance);
      if (!instance.dead) instance.kill();
      const next = this.waiting.shift();
      if (next && !this.closed) next.resolve(this.spawn());
      return;
    }
    const next = this.waiting.shift();
    if (next) next.resolve(instance);
    else this.idle.push(instance);
  }

  /** Stops every instance. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter.reject(new Error(`${this.config.name} is stopped`));
    await Promise.all([...this.all].map((instance) => instance.worker.terminate()));
    this.all.clear();
    this.idle.length = 0;
    this.warming.length = 0;
  }
}
