/**
 * The bundle cache: a build of other code removes earlier bundles, but never those a running
 * runtime still holds (say `npm start`, while a test run builds an edit of the code).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildBundles, pruneBundles } from '#infra/local/build';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function bundleDir(name: string, heldBy?: number): Promise<string> {
  const dir = path.join(root ?? '', name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'complete'), name);
  if (heldBy !== undefined) await writeFile(path.join(dir, `held-by-${heldBy}-0000`), '');
  return dir;
}

describe('pruneBundles', () => {
  it('keeps the current bundles and those a live process holds; removes the rest', async () => {
    // Prepare: a pid that certainly ended
    root = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cache-'));
    const ended = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;
    await bundleDir('bundles-current');
    await bundleDir('bundles-held', process.pid);
    await bundleDir('bundles-abandoned', ended);
    await bundleDir('bundles-unheld');

    // Act
    await pruneBundles(root, 'bundles-current');

    // Assess
    expect((await readdir(root)).sort()).toEqual(['bundles-current', 'bundles-held']);
  });
});

describe('buildBundles', () => {
  it('holds the bundles it returns until they are released', async () => {
    // Act
    const bundles = await buildBundles();
    const heldWhileInUse = (await readdir(bundles.dir)).filter((name) => name.startsWith(`held-by-${process.pid}-`));
    await bundles.release();
    const heldAfter = (await readdir(bundles.dir)).filter((name) => name.startsWith(`held-by-${process.pid}-`));

    // Assess
    expect(heldWhileInUse).toHaveLength(1);
    expect(heldAfter).toEqual([]);
    expect(existsSync(bundles.host)).toBe(true);
  }, 120_000);
});
