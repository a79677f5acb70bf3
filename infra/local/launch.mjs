/**
 * How `npm start` runs the local runtime without a TypeScript loader: infra/local/main.ts and the
 * project code it imports are compiled by esbuild into one ES module, kept in node_modules/.cache and
 * named after a hash of every project source, so a start with unchanged code reuses it and a start
 * after an edit rebuilds it (in about 0.1 s). Dependencies stay in node_modules, imported as usual.
 * Plain JavaScript, because it runs before anything could compile TypeScript: under `tsx`, whose
 * loader sits in front of every module Node resolves, the runtime took about 0.3 s longer to start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The runtime's entry point, relative to the project root. */
export const RUNTIME_ENTRY = 'infra/local/main.ts';

/** Folders whose TypeScript may go into the runtime; every file in them counts towards the hash. */
const SOURCE_FOLDERS = ['infra', 'functions'];

/** Files besides those sources that change what the build makes. */
const BUILD_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'infra/local/launch.mjs'];

const cacheDir = path.join(projectRoot, 'node_modules', '.cache', 'async-jobs');

/** @param {string} dir @returns {string[]} the .ts files under `dir`, relative to the project root */
function typescriptUnder(dir) {
  return readdirSync(path.join(projectRoot, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return typescriptUnder(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

/** @returns {string[]} every file whose content the runtime's build depends on, relative to the project root, sorted */
export function runtimeInputs() {
  return [...SOURCE_FOLDERS.flatMap(typescriptUnder), ...BUILD_FILES].sort();
}

/** @returns {string} a hash of the content of every input of the runtime's build */
export function runtimeInputsHash() {
  const hash = createHash('sha256');
  for (const file of runtimeInputs()) hash.update(file).update('\0').update(readFileSync(path.join(projectRoot, file))).update('\0');
  return hash.digest('hex').slice(0, 16);
}

/**
 * esbuild's options for the runtime: one ES module for Node 20 (this machine's Node, not Lambda's),
 * dependencies left to node_modules, names kept so that a stack trace reads.
 * @param {string} outfile
 */
export function runtimeBuildOptions(outfile) {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [path.join(projectRoot, RUNTIME_ENTRY)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'silent',
  };
}

/**
 * The compiled runtime of the current sources: from the cache, or built now, written beside its final
 * name and renamed into place so that a start running at the same time never reads half a file.
 * Earlier builds are removed (a running start has already loaded its own).
 * @returns {Promise<string>} its path
 */
export async function preparedRuntime() {
  const name = `runtime-${runtimeInputsHash()}.mjs`;
  const file = path.join(cacheDir, name);
  if (existsSync(file)) return file;
  const { build } = await import('esbuild');
  const staging = path.join(cacheDir, `staging-${randomBytes(4).toString('hex')}-${name}`);
  await build(runtimeBuildOptions(staging));
  await rename(staging, file);
  for (const entry of await readdir(cacheDir)) {
    if (entry.startsWith('runtime-') && entry.endsWith('.mjs') && entry !== name) await rm(path.join(cacheDir, entry), { force: true });
  }
  return file;
}
