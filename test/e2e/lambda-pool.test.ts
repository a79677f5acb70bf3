/**
 * The local Lambda keeps Lambda's limits (a synchronous response over 6 MB is a function error), runs
 * each instance with the function's NODE_OPTIONS and no others, and starts no instance it does not need
 * (the first request after a start runs on the instance started for it).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bundles, buildBundles } from '#infra/local/build';
import { InvocationError, LambdaPool } from '#infra/local/lambda-pool';

let dir: string;
let bundles: Bundles;

beforeAll(async () => {
  bundles = await buildBundles();
  dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-pool-'));
}, 120_000);
afterAll(async () => {
  await bundles?.release();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Writes a function's bundle into the test folder; its path. */
async function functionBundle(name: string, source: string): Promise<string> {
  const bundle = path.join(dir, `${name}.mjs`);
  await writeFile(bundle, source);
  return bundle;
}

describe('a local function instance', () => {
  let pool: LambdaPool;

  beforeAll(async () => {
    const bundle = await functionBundle('sized', "export const handler = async (event) => ({ body: 'x'.repeat(event.size) });\n");
    pool = new LambdaPool({ name: 'sized', bundle, host: bundles.host, env: {}, timeoutMs: 10_000, memoryMb: 128, maxInstances: 1 });
  });
  afterAll(async () => {
    await pool?.close();
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

describe('the context of an invocation', () => {
  it('names one log stream per instance, as Lambda names an execution environment’s, and a request id per invocation', async () => {
    // Prepare
    const bundle = await functionBundle('context', 'export const handler = async (_event, context) => ({ stream: context.logStreamName, request: context.awsRequestId });\n');
    const pool = new LambdaPool({ name: 'context', bundle, host: bundles.host, env: {}, timeoutMs: 10_000, memoryMb: 128, maxInstances: 1 });
    try {
      // Act
      const first = (await pool.invoke({})) as { stream: string; request: string };
      const second = (await pool.invoke({})) as { stream: string; request: string };

      // Assess
      expect(first.stream).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(second.stream).toBe(first.stream);
      expect(second.request).not.toBe(first.request);
    } finally {
      await pool.close();
    }
  });
});

describe("a function's memory", () => {
  it('bounds its instance: a function that outgrows it fails with Runtime.OutOfMemory, and the next invocation gets a fresh instance', async () => {
    // Prepare: a function that keeps what it allocates across invocations, 16 MB at a time, until told to stop
    const bundle = await functionBundle(
      'hungry',
      'const kept = [];\nexport const handler = async (event) => { for (let i = 0; i < event.chunks; i++) kept.push(new Array(2 * 1024 * 1024).fill(i)); return { kept: kept.length }; };\n',
    );
    const pool = new LambdaPool({ name: 'hungry', bundle, host: bundles.host, env: {}, timeoutMs: 30_000, memoryMb: 128, maxInstances: 1 });

    try {
      // Act
      const outgrown = await pool.invoke({ chunks: 64 }).catch((error: unknown) => error);
      const after = await pool.invoke({ chunks: 1 });

      // Assess
      expect(outgrown).toBeInstanceOf(InvocationError);
      expect((outgrown as InvocationError).error).toMatchObject({ errorType: 'Runtime.OutOfMemory' });
      expect(after).toEqual({ kept: 1 });
    } finally {
      await pool.close();
    }
  });
});

describe("an instance's Node options", () => {
  it.each([
    ['--enable-source-maps', { NODE_OPTIONS: '--enable-source-maps' }, true],
    ['no NODE_OPTIONS (sourceMaps: false)', {}, false],
  ])("are the function's: with %s, process.sourceMapsEnabled is %s", async (_, env, expected) => {
    // Prepare
    const bundle = await functionBundle('options', 'export const handler = async () => ({ sourceMaps: process.sourceMapsEnabled });\n');
    const pool = new LambdaPool({ name: 'options', bundle, host: bundles.host, env, timeoutMs: 10_000, memoryMb: 128, maxInstances: 1 });

    // Act
    const answer = await pool.invoke({}).finally(() => pool.close());

    // Assess
    expect(answer).toEqual({ sourceMaps: expected });
  });
});

describe('the instances of a function', () => {
  let loads: string;
  let bundle: string;

  beforeAll(async () => {
    // A function whose module load records itself and takes 300 ms.
    loads = path.join(dir, 'loads');
    bundle = await functionBundle(
      'slow-start',
      "import { appendFileSync } from 'node:fs';\nappendFileSync(process.env.LOADS, 'load\\n');\nawait new Promise((resolve) => setTimeout(resolve, 300));\nexport const handler = async () => 'done';\n",
    );
  });

  /** Runs `act` on a fresh pool of at most `maxInstances`; how many instances loaded the function. */
  async function instancesLoaded(maxInstances: number, act: (pool: LambdaPool) => Promise<void>): Promise<number> {
    await rm(loads, { force: true });
    const pool = new LambdaPool({ name: 'slow-start', bundle, host: bundles.host, env: { LOADS: loads }, timeoutMs: 10_000, memoryMb: 128, maxInstances });
    try {
      await act(pool);
    } finally {
      await pool.close();
    }
    return (await readFile(loads, 'utf8')).split('\n').filter(Boolean).length;
  }

  it('run an invocation that arrives while the first is still starting on that one, not on a second one with a cold start of its own', async () => {
    // Act
    const results: unknown[] = [];
    const loaded = await instancesLoaded(4, async (pool) => {
      const warming = pool.warm();
      results.push(await pool.invoke({}));
      await warming;
      results.push(await pool.invoke({}));
    });

    // Assess
    expect(results).toEqual(['done', 'done']);
    expect(loaded).toBe(1);
  }, 60_000);

  it('are not warmed beyond the one an earlier invocation started', async () => {
    // Act
    const results: unknown[] = [];
    const loaded = await instancesLoaded(1, async (pool) => {
      results.push(await pool.invoke({}));
      await pool.warm();
      results.push(await pool.invoke({}));
    });

    // Assess
    expect(results).toEqual(['done', 'done']);
    expect(loaded).toBe(1);
  }, 60_000);
});
