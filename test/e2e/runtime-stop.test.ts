/**
 * Stopping the local runtime (what Ctrl-C on `npm start` does): quietly, whether it is still starting
 * its instances or has a job running, and without waiting for the job. Failures caused by the stop are not errors.
 */
import { describe, expect, it } from 'vitest';
import { startLocalRuntime } from '#infra/local/runtime';

async function jobStatus(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/jobs/${id}`)).json()) as { status: string }).status;
}

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
    const submitted = await fetch(`${runtime.url}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'sleep', input: { seconds: 30 } }),
    });
    const { id } = (await submitted.json()) as { id: string };
    let status = 'QUEUED';
    for (let polls = 0; polls < 100 && status !== 'RUNNING'; polls++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      status = await jobStatus(runtime.url, id);
    }

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
