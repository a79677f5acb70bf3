/** One local runtime with what the measurements share: counting, clients, the event subscriber. */
import { names } from '../infra/config.ts';
import { type LocalRuntime, startLocalRuntime } from '../infra/local/runtime.ts';
import { EventSubscriber, waitForEmptyQueue } from './aws-helpers.ts';
import { ApiClient, type BenchClients, benchClients } from './clients.ts';
import { type SubmitTemplate, submitTemplate } from './floor.ts';
import { EmulatorRequestLog } from './request-log.ts';

export interface BenchContext {
  readonly runtime: LocalRuntime;
  readonly clients: BenchClients;
  readonly api: ApiClient;
  readonly log: EmulatorRequestLog;
  readonly events: EventSubscriber;
  readonly template: SubmitTemplate;
  /** Errors the runtime reported (not the functions' logs). */
  readonly runtimeErrors: unknown[];
  /** Waits until the jobs queue is empty, so no work of one phase runs in the next. */
  settle(timeoutMs?: number, pollMs?: number): Promise<void>;
  stop(): Promise<void>;
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
  const runtime = await startLocalRuntime({ port: 0, onError: (error) => runtimeErrors.push(error) });
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
    return { runtime, clients, api, log, events, template, runtimeErrors, settle, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
