/**
 * `npm start` runs a compiled copy of the local runtime, reused while its sources are unchanged: an
 * edit to any file that goes into it must make the next start rebuild it, or the start would run old code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNTIME_ENTRY, preparedRuntime, projectRoot, runtimeBuildOptions, runtimeInputs, runtimeInputsHash } from '../../infra/local/launch.mjs';

describe('the compiled local runtime', () => {
  let dir: string;
  let compiledFrom: string[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-launch-'));
    const result = await build({ ...runtimeBuildOptions(path.join(dir, 'runtime.mjs')), metafile: true });
    compiledFrom = Object.keys(result.metafile.inputs);
  }, 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is built from the entry point npm start ran before, with dependencies left to node_modules', () => {
    // Assess
    expect(compiledFrom).toContain(RUNTIME_ENTRY);
    expect(compiledFrom.filter((input) => input.includes('node_modules/'))).toEqual([]);
  });

  it('is rebuilt after an edit to any project file it is compiled from', () => {
    // Act
    const hashed = new Set(runtimeInputs());

    // Assess
    expect(compiledFrom.filter((input) => !hashed.has(input))).toEqual([]);
  });

  it('is rebuilt after a change of dependencies or of the build itself', () => {
    // Assess
    expect(runtimeInputs()).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'infra/local/launch.mjs']));
  });

  it("is named after the hash of its inputs, in the checkout's .local folder (node_modules may be shared)", async () => {
    // Act
    const file = await preparedRuntime();

    // Assess
    expect(file).toBe(path.join(projectRoot, '.local', 'runtime', `runtime-${runtimeInputsHash()}.mjs`));
  });
});
