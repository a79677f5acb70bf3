/**
 * What the local runtime tells about each invocation (`onInvocation`): the handler time Lambda would
 * bill, which `npm run bench` prices. A `sleep` job shows it is the handler's own time, and the
 * API's functions report one invocation per request.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionName } from '#infra/functions';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';

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

  it('with the handler time of a job that sleeps 1.5 s, and one invocation per API request', async () => {
    // Act
    const submitted = await fetch(`${runtime.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'sleep', input: { seconds: 1.5 } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    let status = 'QUEUED';
    let polls = 0;
    while (polls < 100 && status !== 'SUCCEEDED') {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = ((await (await fetch(`${runtime.url}/jobs/${id}`)).json()) as { status: string }).status;
      polls += 1;
    }
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
});
