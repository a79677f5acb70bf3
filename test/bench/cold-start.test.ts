/**
 * `npm run bench -- --node <path>`: the binary the cold start section loads bundles with (Lambda runs
 * Node 22; this machine may run another) is checked before the run, and its version goes in the report.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeVersion } from '../../bench/cold-start.ts';
import { UsageError } from '../../bench/output.ts';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('nodeVersion', () => {
  it('is the version the binary reports of itself', async () => {
    // Prepare: a stand-in binary that is not this process's
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-node-'));
    const binary = path.join(dir, 'node');
    await writeFile(binary, `#!/bin/sh\nexec "${process.execPath}" -e 'console.log("v22.99.0 function")'\n`);
    await chmod(binary, 0o755);

    // Act / Assess
    await expect(nodeVersion(process.execPath)).resolves.toBe(process.version);
    await expect(nodeVersion(binary)).resolves.toBe('v22.99.0');
  });

  it('refuses a Node without process.getBuiltinModule, which the bundles need', async () => {
    // Prepare: a stand-in for Node 20.15
    dir = await mkdtemp(path.join(os.tmpdir(), 'bench-node-'));
    const binary = path.join(dir, 'node');
    await writeFile(binary, `#!/bin/sh\nexec "${process.execPath}" -e 'console.log("v20.15.0 undefined")'\n`);
    await chmod(binary, 0o755);

    // Act
    const refused = await nodeVersion(binary).catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toBe(`--node: ${binary} is Node v20.15.0; the bundles need 20.16 or later`);
  });

  it('refuses a path that does not run as a usage error naming the option and the path', async () => {
    // Act
    const refused = await nodeVersion('/nowhere/node').catch((error: unknown) => error);

    // Assess
    expect(refused).toBeInstanceOf(UsageError);
    expect((refused as Error).message).toMatch(/^--node: cannot run \/nowhere\/node as Node/);
  });
});
