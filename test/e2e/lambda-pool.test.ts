/** The local Lambda keeps Lambda's limits: a synchronous response over 6 MB is a function error. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bundles, buildBundles } from '#infra/local/build';
import { InvocationError, LambdaPool } from '#infra/local/lambda-pool';

describe('a local function instance', () => {
  let dir: string;
  let pool: LambdaPool;
  let bundles: Bundles;

  beforeAll(async () => {
    bundles = await buildBundles();
    dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-pool-'));
    const bundle = path.join(dir, 'index.mjs');
    await writeFile(bundle, "export const handler = async (event) => ({ body: 'x'.repeat(event.size) });\n");
    pool = new LambdaPool({ name: 'sized', bundle, host: bundles.host, env: {}, timeoutMs: 10_000, memoryMb: 128, maxInstances: 1 });
  }, 120_000);
  afterAll(async () => {
    await pool?.close();
    await bundles?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fails an invocation whose response is over 6 MB, as Lambda does, and serves the next one', async () => {
    // Act
    const tooLarge = await pool.invoke({ size: 6 * 1024 * 1024 }).catch((error: unknown) => error);
    const fine = await pool.invoke({ size: 1_000 });

    // Assess
    expect(tooLarge).toBeInstanceOf(InvocationError);
    expect((tooLarge as InvocationError).error).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
    expect(fine).toEqual({ body: 'x'.repeat(1_000) });
  });
});
