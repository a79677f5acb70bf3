/**
 * `npm run build:cli`: compiles the `async-jobs` CLI to client/dist/ (or the folder given as the first
 * argument), which client/bin/async-jobs.mjs then runs with plain Node, without tsx. Dependencies stay
 * in node_modules; the IAM signer (and the AWS SDK it loads) goes to a chunk of its own, loaded only
 * for `--auth iam`.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Writes `cli.js` (and its chunks) to `outdir`. */
export async function buildCli(outdir: string): Promise<void> {
  await build({
    entryPoints: { cli: path.join(projectRoot, 'client/cli.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir,
    logLevel: 'warning',
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await buildCli(path.resolve(process.argv[2] ?? path.join(projectRoot, 'client/dist')));
}
