/** One local runtime with what the measurements share: counting, clients, the event subscriber. */
import { names } from '../infra/config.ts';
import type { FunctionName } from '../infra/functions.ts';
import { type LocalRuntime, startLocalRuntime } from '../infra/local/runtime.ts';
import { EventSubscriber, waitForEmptyQueue } from './aws-helpers.ts';
import { ApiClient, type BenchClients, benchClients } from './clients.ts';
import { type SubmitTemplate, submitTemplate } from './floor.ts';
import { EmulatorRequestLog } from './request-log.ts';
import { median } from './stats.ts';

export interface BenchContext {
  readonly runtime: LocalRuntime;
  readonly clients: BenchClients;
  readonly api: ApiClient;
  readonly log: EmulatorRequestLog;
  readonly events: EventSubscriber;
  readonly template: SubmitTemplate;
  /** Handler durations of the invocations since the last reset, by function. */
  readonly invocations: InvocationLog;
  /** Errors the runtime reported (not the functions' logs). */
  readonly runtimeErrors: unknown[];
  /** Waits until the jobs queue is empty, so no work of one phase runs in the next. */
  settle(timeoutMs?: number, pollMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The handler duration of every invocation, as the runtime reports it: what Lambda bills. */
export class InvocationLog {
  private durations = new Map<FunctionName, number[]>();

  record(name: FunctionName, durationMs: number): void {
    const list = this.durations.get(name) ?? [];
    list.push(durationMs);
    this.durations.set(name, list);
  }

  reset(): void {
    this.durations = new Map();
  }

  /** How many invocations, their billed milliseconds (each rounded up to 1 ms, as Lambda bills), and the median. */
  of(name: FunctionName): { readonly count: number; readonly billedMs: number; readonly medianMs: number } {
    const list = this.durations.get(name) ?? [];
    return { count: list.length, billedMs: list.reduce((sum, ms) => sum + Math.ceil(ms), 0), medianMs: median(list) };
  }
}

/** A job body every measurement submits. */
export const ECHO_BODY = JSON.stringify({ type: 'echo', input: { bench: true } });

/** Submits through the API and returns the job id; throws unless the answer is 202. */
export async function submitEcho(api: ApiClient): Promise<string> {
  const answer = await api.request('POST', '/jobs', ECHO_BODY);
  if (answer.status !== 202) throw new Error(`POST /jobs answered ${answer.status}: ${answer.body}`);
  return (JSON.parse(answer.body) as { id: string }).id;
}

/** Starts the runtime (port 0) and everything around it; stops what it started on failure. */
export async function startBench(): Promise<BenchContext> {
  const runtimeErrors: unknown[] = [];
  const invocations = new InvocationLog();
  const runtime = await startLocalRuntime({
    port: 0,
    onError: (error) => runtimeErrors.push(error),
    onInvocation: (name, durationMs) => invocations.record(name, durationMs),
  });
  const log = new EmulatorRequestLog(runtime.endpoints);
  const clients = benchClients(runtime.endpoints);
  const api = new ApiClient(runtime.url);
  let events: EventSubscriber | undefined;
  const stop = async () => {
    await events?.stop();
    api.close();
    log.close();
    await runtime.stop();
    clients.destroy();
  };
  try {
    events = await EventSubscriber.start(clients, runtime.resources.topicArn, `${names.topic}-bench`);
    const settle = (timeoutMs = 120_000, pollMs = 25) => waitForEmptyQueue(clients.sqs, runtime.resources.queueUrl, timeoutMs, pollMs);
    // One job through the whole system: it warms the path and gives the floor the handler's requests.
    log.reset();
    const id = await submitEcho(api);
    await events.waitForJobs([id], 30_000);
    await settle();
    const template = submitTemplate(log.requests());
    return { runtime, clients, api, log, events, template, invocations, runtimeErrors, settle, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
