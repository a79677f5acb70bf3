/**
 * One local runtime per data folder: a second `npm start -- --data-dir` on a folder in use is refused
 * with a message naming the holder, and a claim left by a runtime that is gone is taken over.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CLAIM_FILE, claimDataFolder } from '#infra/local/data-folder';
import { startLocalRuntime } from '#infra/local/runtime';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

let dir: string | undefined;
let holder: ChildProcess | undefined;
afterEach(async () => {
  holder?.kill();
  holder = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a data folder', () => {
  it('in use by a runtime of another process is refused, naming that process and the claim to delete if it is not one', async () => {
    // Prepare: a live process holds the folder
    dir = await mkdtemp(path.join(os.tmpdir(), 'data-folder-'));
    holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    await writeFile(path.join(dir, CLAIM_FILE), `${holder.pid}\n`);

    // Act
    const refused = await startLocalRuntime({ port: 0, dataDir: dir, onFunctionOutput: () => undefined }).then(
      async (runtime) => {
        await runtime.stop();
        return new Error('started');
      },
      (error: unknown) => error,
    );

    // Assess
    expect((refused as Error).message).toBe(
      `the data folder ${dir} is in use by another local runtime (pid ${holder.pid}); stop it, or pass another --data-dir (if that process is not a runtime, delete ${path.join(dir, CLAIM_FILE)})`,
    );
    expect((await readFile(path.join(dir, CLAIM_FILE), 'utf8')).trim()).toBe(String(holder.pid));
  }, 60_000);

  it('in use by a runtime of this process is refused, and free again once that one released it', async () => {
    // Prepare
    dir = await mkdtemp(path.join(os.tmpdir(), 'data-folder-'));
    const release = await claimDataFolder(dir);

    // Act
    const refused = await claimDataFolder(dir).catch((error: unknown) => error);
    await release();
    const again = await claimDataFolder(dir);
    await again();

    // Assess
    expect((refused as Error).message).toMatch(/is in use by another local runtime \(in this process\)/);
    expect(existsSync(path.join(dir, CLAIM_FILE))).toBe(false);
  });

  it.each([
    ['free', false],
    ['claimed by a process that is gone', true],
  ])('%s, is held by exactly one of eight starts racing for it', async (_case, stale) => {
    // Prepare: eight processes that claim it at the same instant and hold it a while
    dir = await mkdtemp(path.join(os.tmpdir(), 'data-folder-'));
    if (stale) await writeFile(path.join(dir, CLAIM_FILE), `${spawnSync(process.execPath, ['-e', '0']).pid}\n`);
    const script = path.join(dir, 'claim.mts');
    await writeFile(
      script,
      [
        `import { claimDataFolder } from ${JSON.stringify(path.join(projectRoot, 'infra/local/data-folder.ts'))};`,
        'while (Date.now() < Number(process.argv[2])) {}',
        'const outcome = await claimDataFolder(process.argv[3]).then(() => "claimed", () => "refused");',
        'process.stdout.write(outcome);',
        'await new Promise((resolve) => setTimeout(resolve, 1_500));',
      ].join('\n'),
    );
    const at = Date.now() + 3_000;
    const run = promisify(execFile);

    // Act
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => run(process.execPath, ['--import', 'tsx', script, String(at), dir ?? ''], { cwd: projectRoot })));

    // Assess
    expect(outcomes.map(({ stdout }) => stdout).sort()).toEqual(['claimed', ...Array(7).fill('refused')]);
  }, 60_000);

  it('claimed by a process that is gone (killed, or a container restarted) is taken over', async () => {
    // Prepare: the claim of a process that certainly ended
    dir = await mkdtemp(path.join(os.tmpdir(), 'data-folder-'));
    const ended = spawnSync(process.execPath, ['-e', '0']).pid ?? 0;
    await writeFile(path.join(dir, CLAIM_FILE), `${ended}\n`);

    // Act
    const release = await claimDataFolder(dir);
    const claimedBy = (await readFile(path.join(dir, CLAIM_FILE), 'utf8')).trim();
    await release();

    // Assess
    expect(claimedBy).toBe(String(process.pid));
    expect(existsSync(path.join(dir, CLAIM_FILE))).toBe(false);
  });
});
