/**
 * Time to first successful request: `npm start` spawned as a user runs it (its own process group,
 * PORT=0), timed from the spawn until a `POST /jobs` answers 202. First as after an install, with
 * nothing built yet, in a copy of the checkout; then in the checkout, with its builds cached; and the
 * same without npm in front, which shows what npm itself costs.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../infra/local/build.ts';
import { ApiClient } from './clients.ts';
import { ECHO_BODY } from './context.ts';
import { median } from './stats.ts';

/** The start the goal (under 1.5 s with dynalite after install) is about. */
export const AFTER_INSTALL = 'npm start after install (nothing built yet)';

const URL_LINE = /async-jobs API on (http:\/\/127\.0\.0\.1:\d+)/;

export interface StartSample {
  /** Spawn to the start-up line. */
  readonly readyMs: number;
  /** Spawn to the first 202. */
  readonly firstJobMs: number;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the process group the child leads, by its id: SIGINT, then SIGKILL after 15 s. */
async function stopGroup(child: ChildProcess): Promise<void> {
  const pgid = child.pid;
  if (pgid === undefined) return;
  const exited = child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : once(child, 'exit');
  if (groupAlive(pgid)) process.kill(-pgid, 'SIGINT');
  await exited;
  for (let waited = 0; groupAlive(pgid); waited += 50) {
    if (waited >= 15_000) {
      process.kill(-pgid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** What `npm start` reads of a checkout, besides node_modules. */
const CHECKOUT_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'cdk.json'];
const CHECKOUT_FOLDERS = ['infra', 'functions'];

/**
 * A checkout as `npm ci` leaves it: the sources, node_modules (hard links to this checkout's, so the
 * copy takes a fraction of a second and no space) and nothing `npm start` builds. Inside .local, so it is
 * on the same file system and out of git's, Biome's and vitest's way.
 */
export async function freshInstall(label = 'bench-install'): Promise<{ readonly root: string; clearBuilds(): Promise<void>; remove(): Promise<void> }> {
  const root = path.join(projectRoot, '.local', `${label}-${process.pid}`);
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  for (const file of CHECKOUT_FILES) await copyFile(path.join(projectRoot, file), path.join(root, file));
  for (const folder of CHECKOUT_FOLDERS) await cp(path.join(projectRoot, folder), path.join(root, folder), { recursive: true });
  await promisify(execFile)('cp', ['-al', path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules')]);
  const clearBuilds = async () => {
    // The compiled runtime, the function bundles, and the secrets a first start makes.
    await rm(path.join(root, '.local'), { recursive: true, force: true });
    await rm(path.join(root, 'node_modules', '.cache'), { recursive: true, force: true });
  };
  await clearBuilds();
  return { root, clearBuilds, remove: () => rm(root, { recursive: true, force: true }) };
}

/** One start: spawn, wait for the URL, POST until 202, stop the group. */
async function startOnce(command: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<StartSample> {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, PORT: '0' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no start-up line within ${timeoutMs} ms:\n${output}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = URL_LINE.exec(output);
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`exited with ${code} before starting:\n${output}`)));
    });
    const readyMs = performance.now() - started;
    const api = new ApiClient(url);
    try {
      for (;;) {
        const answer = await api.request('POST', '/jobs', ECHO_BODY).catch(() => undefined);
        if (answer?.status === 202) break;
        if (performance.now() - started > timeoutMs) throw new Error(`no 202 within ${timeoutMs} ms: ${answer?.status}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    } finally {
      api.close();
    }
    return { readyMs, firstJobMs: performance.now() - started };
  } finally {
    await stopGroup(child);
  }
}

export interface StartResult {
  readonly command: string;
  readonly samples: readonly StartSample[];
  readonly readyMsMedian: number;
  readonly firstJobMsMedian: number;
}

/** `npm start` after an install, `npm start` with its builds cached, and the same entry point without npm, `repeats` times each, in turn. */
export async function measureStart(repeats: number, onProgress: (line: string) => void): Promise<StartResult[]> {
  const install = await freshInstall();
  try {
    const commands = [
      { label: AFTER_INSTALL, command: 'npm', args: ['start', '--silent'], cwd: install.root, before: install.clearBuilds },
      { label: 'npm start', command: 'npm', args: ['start', '--silent'], cwd: projectRoot },
      { label: 'node infra/local/start.mjs', command: process.execPath, args: ['infra/local/start.mjs'], cwd: projectRoot },
    ];
    const samples = commands.map(() => [] as StartSample[]);
    for (let repeat = 0; repeat < repeats; repeat++) {
      for (const [index, { label, command, args, cwd, before }] of commands.entries()) {
        onProgress(`start: ${label} (${repeat + 1} of ${repeats})`);
        await before?.();
        samples[index]?.push(await startOnce(command, args, cwd, 60_000));
      }
    }
    return commands.map(({ label }, index) => {
      const own = samples[index] ?? [];
      return {
        command: label,
        samples: own,
        readyMsMedian: median(own.map((sample) => sample.readyMs)),
        firstJobMsMedian: median(own.map((sample) => sample.firstJobMs)),
      };
    });
  } finally {
    await install.remove();
  }
}
