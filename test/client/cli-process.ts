/** Runs the `async-jobs` bin as a user's shell does: a child process with its own output pipes (not a terminal). */
import path from 'node:path';
import { type CommandRun, projectRoot, runCommand } from '../support/run-command.ts';

const bin = path.join(projectRoot, 'client/bin/async-jobs.mjs');

export type CliRun = CommandRun;

/** Runs `node client/bin/async-jobs.mjs ...args`; kills it if it outlives `timeoutMs`. */
export function runBin(args: readonly string[], env: Record<string, string>, timeoutMs = 30_000): Promise<CliRun> {
  return runCommand(process.execPath, [bin, ...args], env, timeoutMs);
}
