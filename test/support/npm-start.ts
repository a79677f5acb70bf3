/**
 * Runs `npm start` the way a user does, in its own process group, and reads what it prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningStart {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the first printed line that matches, waiting up to `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /**
   * Sends `signal` to the whole process group, as a terminal does (or to npm alone, as `kill <pid>` or a
   * process manager does), and resolves once every process of the group has exited (or 15 s passed).
   */
  stop(signal?: NodeJS.Signals, to?: 'group' | 'npm'): Promise<void>;
  /** True while any process of the group is alive. */
  groupAlive(): boolean;
}

/** Starts `npm start -- <args>` in the checkout at `cwd` (this one unless told). */
export async function npmStart(args: readonly string[] = [], env: Record<string, string> = {}, cwd = projectRoot): Promise<RunningStart> {
  const child = spawn('npm', ['start', '--silent', ...(args.length ? ['--', ...args] : [])], {
    cwd,
    env: { ...process.env, PORT: '0', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit');
  const pgid = child.pid ?? 0;

  const waitForLine = (pattern: RegExp, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const line = output.split('\n').find((candidate) => pattern.test(candidate));
        if (line !== undefined) {
          listeners.delete(check);
          clearTimeout(timer);
          resolve(line);
        }
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; output:\n${output}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const groupAlive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };

  const stop = async (signal: NodeJS.Signals = 'SIGINT', to: 'group' | 'npm' = 'group') => {
    if (to === 'npm') child.kill(signal);
    else if (groupAlive()) process.kill(-pgid, signal);
    await exited;
    // npm exits on the signal at once; wait for the runtime and its children, up to 15 s.
    for (let waited = 0; groupAlive() && waited < 15_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  };

  try {
    const line = await waitForLine(/async-jobs API on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    const url = /http:\/\/127\.0\.0\.1:\d+/.exec(line)?.[0] ?? '';
    return { url, child, output: () => output, waitForLine, stop, groupAlive };
  } catch (error) {
    if (groupAlive()) process.kill(-pgid, 'SIGKILL');
    throw error;
  }
}

/** A process of this machine, as Linux's /proc tells it. */
export interface ProcessInfo {
  readonly pid: number;
  /** Its command line, arguments joined by spaces. */
  readonly args: string;
  /** Z: exited, not yet reaped by its parent. */
  readonly state: string;
}

function readProcess(pid: number): (ProcessInfo & { readonly group: number }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after its last ')'.
    const [state = '', , group = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, args, state, group: Number(group) };
  } catch {
    return undefined; // gone meanwhile
  }
}

/** The processes of process group `pgid` (Linux). */
export function processGroup(pgid: number): ProcessInfo[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readProcess(Number(name)))
    .filter((info): info is ProcessInfo & { readonly group: number } => info !== undefined && info.group === pgid);
}

/** Whether `pid` is a process that has not exited (a zombie has: only its parent has not reaped it). */
export function isRunning(pid: number): boolean {
  const info = readProcess(pid);
  return info !== undefined && info.state !== 'Z';
}
