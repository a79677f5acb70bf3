/**
 * The local runtime as a host (what `npm start` and the bench build on): it tells the handler time of
 * each invocation (`onInvocation`, what Lambda bills and `npm run bench` prices), and it stops quietly
 * (Ctrl-C), whether it is still starting its instances or has a job running, without waiting for the job.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '#infra/functions';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';

/** Submits a `sleep` job and returns the answer's status and the job id. */
async function submitSleep(runtime: LocalRuntime, seconds: number): Promise<{ status: number; id: string }> {
  const answer = await fetch(`${runtime.url}/jobs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type: 'sleep', input: { seconds } }),
  });
  return { status: answer.status, id: ((await answer.json()) as { id: string }).id };
}

/** Polls the job every 100 ms until it has `status` (at most 10 s); returns the last status and the polls made. */
async function pollUntil(runtime: LocalRuntime, id: string, status: string): Promise<{ status: string; polls: number }> {
  let seen = '';
  let polls = 0;
  while (polls < 100 && seen !== status) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    seen = ((await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as { status: string }).status;
    polls += 1;
  }
  return { status: seen, polls };
}

/** The addresses sockets listen on at `port`, from Linux's /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local = '', , state] = line.trim().split(/\s+/);
      const [address = '', hexPort = ''] = local.split(':');
      if (state === '0A' && Number.parseInt(hexPort, 16) === port) addresses.push(address); // 0A: LISTEN
    }
  }
  return addresses;
}

describe('the local runtime reports each invocation', () => {
  let runtime: LocalRuntime;
  const reported: { name: FunctionName; durationMs: number }[] = [];

  beforeAll(async () => {
    runtime = await startLocalRuntime({
      port: 0,
      onFunctionOutput: () => undefined,
      onInvocation: (name, durationMs) => reported.push({ name, durationMs }),
    });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it('listens on loopback alone: nobody else on the network reaches the API, the table, the queues or the topic', () => {
    // Assess: 127.0.0.1 is 0100007F as /proc writes it; 0.0.0.0 (every interface) would be 00000000
    const ports = [runtime.url, runtime.endpoints.dynamodb, runtime.endpoints.sqs, runtime.endpoints.sns].map((url) => Number(new URL(url).port));
    expect(new Set(ports).size).toBeGreaterThanOrEqual(3);
    for (const port of ports) expect({ port, addresses: listeningAddresses(port) }).toEqual({ port, addresses: ['0100007F'] });
  });

  it('with the handler time of a job that sleeps 1.5 s, and one invocation per API request', async () => {
    // Act
    const submitted = await submitSleep(runtime, 1.5);
    const { status, polls } = await pollUntil(runtime, submitted.id, 'SUCCEEDED');
    // The worker's invocation returns after its final write (it publishes the event first).
    for (let waited = 0; waited < 50 && !reported.some((invocation) => invocation.name === 'process-jobs'); waited++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    // Assess
    expect(submitted.status).toBe(202);
    expect(status).toBe('SUCCEEDED');
    const of = (name: FunctionName) => reported.filter((invocation) => invocation.name === name);
    expect(of('submit-job')).toHaveLength(1);
    expect(of('submit-job')[0]?.durationMs).toBeLessThan(1_500);
    const worker = of('process-jobs');
    expect(worker).toHaveLength(1);
    expect(worker[0]?.durationMs).toBeGreaterThanOrEqual(1_500);
    expect(worker[0]?.durationMs).toBeLessThan(10_000);
    expect(of('get-job')).toHaveLength(polls);
  });

  it('as Lambda does not, for a body too large for an invocation: the gateway answers 413 itself', async () => {
    // Prepare: within HTTP API's 10 MB, beyond the 6 MB an invocation takes; and one the function refuses itself.
    const submitsBefore = reported.filter((invocation) => invocation.name === 'submit-job').length;
    const post = (bytes: number) =>
      fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'echo', input: 'x'.repeat(bytes) }) });

    // Act
    const gateway = await post(7 * 1024 * 1024);
    const gatewayBody = await gateway.text();
    const function413 = await post(200 * 1024);
    const functionBody = (await function413.json()) as { type: string };

    // Assess
    expect(gateway.status).toBe(413);
    expect(JSON.parse(gatewayBody)).toEqual({ message: 'Request Too Long' });
    expect(function413.status).toBe(413);
    expect(function413.headers.get('content-type')).toBe('application/problem+json');
    expect(functionBody.type).toMatch(/payload-too-large$/);
    expect(reported.filter((invocation) => invocation.name === 'submit-job')).toHaveLength(submitsBefore + 1);
  });
});

describe('stopping the local runtime', () => {
  it('right after it started, while instances still warm: with no error reported', async () => {
    // Prepare
    const errors: unknown[] = [];
    const runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined, onError: (error) => errors.push(error) });

    // Act
    await runtime.stop();
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Assess
    expect(errors).toEqual([]);
  }, 30_000);

  it('with a job running: without waiting for it, and with no error reported', async () => {
    // Prepare
    const errors: unknown[] = [];
    const runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined, onError: (error) => errors.push(error) });
    const { id } = await submitSleep(runtime, 30);
    const { status } = await pollUntil(runtime, id, 'RUNNING');

    // Act
    const started = performance.now();
    await runtime.stop();
    const stopMs = performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 500));

    // Assess
    expect(status).toBe('RUNNING');
    expect(errors).toEqual([]);
    // The job had 30 s to go: the stop did not wait for it.
    expect(stopMs).toBeLessThan(20_000);
  }, 60_000);
});
