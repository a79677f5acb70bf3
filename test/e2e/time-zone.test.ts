/**
 * Lambda runs functions in UTC (`TZ=:UTC`). A local instance is a thread of the runtime's process and has
 * its time zone, whatever its own environment says: the runtime puts the whole process in UTC, so that
 * a processor's local time (`getHours()`, `toString()`) is what it will be deployed, on any laptop.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { buildBundles } from '#infra/local/build';
import { LambdaPool } from '#infra/local/lambda-pool';
import { startLocalRuntime } from '#infra/local/runtime';

it('gives every instance UTC, as Lambda does, on a machine set to another time zone', async () => {
  // Prepare: this test's process stands for a laptop in New York
  process.env.TZ = 'America/New_York';
  expect(new Date(0).getTimezoneOffset()).toBe(300);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-tz-'));
  const bundle = path.join(dir, 'clock.mjs');
  await writeFile(bundle, 'export const handler = async () => ({ offset: new Date(0).getTimezoneOffset(), hours: new Date(0).getHours() });\n');
  const bundles = await buildBundles();
  const runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined });
  const pool = new LambdaPool({ name: 'clock', bundle, host: bundles.host, env: {}, timeoutMs: 10_000, memoryMb: 128, maxInstances: 1 });
  try {
    // Act
    const clock = await pool.invoke({});
    // Assess
    expect(clock).toEqual({ offset: 0, hours: 0 });
  } finally {
    await pool.close();
    await runtime.stop();
    await bundles.release();
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
