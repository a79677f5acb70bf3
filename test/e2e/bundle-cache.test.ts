/**
 * The bundle cache: a build of other code removes earlier bundles, but never those a running
 * runtime still holds (say `npm start`, while a test run builds an edit of the code).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
import { functionNames } from '#infra/functions';
import { buildBundles, buildInputs, entryPointsOf, lambdaEsbuildOptions, projectRoot, pruneBundles, stagedBundles } from '#infra/local/build';

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

describe('the cache key', () => {
  it('covers every project file the bundles and the hosts are built from, so an edit of any of them builds again', async () => {
    // Act: the build the cache holds, with the list of what went into it
    const result = await build({
      ...lambdaEsbuildOptions,
      entryPoints: entryPointsOf(functionNames, ['lambda-host', 'poller-host']),
      outdir: path.join(os.tmpdir(), 'async-jobs-inputs-check'),
      write: false,
      metafile: true,
    });

    // Assess
    const covered = new Set((await buildInputs()).map((file) => path.relative(projectRoot, file)));
    const projectFiles = Object.keys(result.metafile.inputs).filter((file) => !file.startsWith('node_modules/'));
    expect(projectFiles.length).toBeGreaterThan(functionNames.length);
    expect(projectFiles.filter((file) => !covered.has(file))).toEqual([]);
  }, 120_000);
});

describe('pruneBundles', () => {
  it("keeps the current key's bundles, whole or built ahead, and those a live process holds; removes the rest", async () => {
    // Prepare: a pid that certainly ended
    root = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cache-'));
    const ended = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;
    await bundleDir('bundles-current');
    await bundleDir('first-current-submit-job');
    await bundleDir('bundles-held', process.pid);
    await bundleDir('bundles-abandoned', ended);
    await bundleDir('bundles-unheld');
    await bundleDir('first-held', process.pid);
    await bundleDir('first-unheld');

    // Act
    await pruneBundles(root, 'current');

    // Assess
    expect((await readdir(root)).sort()).toEqual(['bundles-current', 'bundles-held', 'first-current-submit-job', 'first-held']);
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

describe('stagedBundles', () => {
  it('with nothing cached, hands over the first function and the instance host, built on their own, before the rest', async () => {
    // Prepare: a cache of its own, so nothing is there yet
    root = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cache-'));

    // Act
    const staged = await stagedBundles('submit-job', root);
    // Settled already, its callback would run before the next line: the whole build needs I/O first.
    let built = false;
    void staged.all.then(() => {
      built = true;
    });
    await Promise.resolve();
    const builtWhenHandedOver = built;
    const aheadDir = path.dirname(path.dirname(staged.first));
    const ahead = (await readdir(aheadDir)).filter((name) => !name.startsWith('held-by-')).sort();
    const all = await staged.all;

    // Assess
    expect(builtWhenHandedOver).toBe(false);
    expect(existsSync(staged.first) && existsSync(staged.host)).toBe(true);
    expect(path.basename(aheadDir)).toMatch(/^first-/);
    expect(ahead).toEqual(['complete', 'lambda-host.mjs', 'lambda-host.mjs.map', 'submit-job']);
    expect(functionNames.filter((name) => !existsSync(all.functions[name]))).toEqual([]);
    expect(existsSync(all.pollerHost)).toBe(true);
    await staged.release();
  }, 120_000);

  it('with everything cached, hands over all of it at once from the one cached build', async () => {
    // Prepare
    root = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-cache-'));
    await (await buildBundles(root)).release();

    // Act
    const staged = await stagedBundles('submit-job', root);
    const all = await staged.all;
    await staged.release();

    // Assess
    expect(staged.first).toBe(all.functions['submit-job']);
    expect(staged.host).toBe(all.host);
    expect((await readdir(root)).filter((name) => name.startsWith('first-'))).toEqual([]);
  }, 120_000);
});
