/** Builds each function the way the CDK stack bundles it, plus the thread that hosts an instance. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { bundlingOptions } from '../bundling.ts';
import { type FunctionName, functionNames, functionSpecs } from '../functions.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Where the bundles are. */
export interface Bundles {
  readonly dir: string;
  readonly host: string;
  readonly functions: Readonly<Record<FunctionName, string>>;
}

/** Bundles every function and the instance host into a fresh temporary folder. */
export async function buildBundles(): Promise<Bundles> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-'));
  const entryPoints: Record<string, string> = { 'lambda-host': path.join(projectRoot, 'infra/local/lambda-host.ts') };
  for (const name of functionNames) entryPoints[`${name}/index`] = path.join(projectRoot, functionSpecs[name].entry);
  await build({
    entryPoints,
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: bundlingOptions.format,
    target: bundlingOptions.target,
    minify: bundlingOptions.minify,
    sourcemap: bundlingOptions.sourceMap,
    mainFields: [...bundlingOptions.mainFields],
    banner: { js: bundlingOptions.banner },
    logLevel: 'silent',
    absWorkingDir: projectRoot,
  });
  const functions = Object.fromEntries(functionNames.map((name) => [name, path.join(dir, name, 'index.mjs')])) as Record<FunctionName, string>;
  return { dir, host: path.join(dir, 'lambda-host.mjs'), functions };
}
