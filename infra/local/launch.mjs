/**
 * How `npm start` runs the local runtime without a TypeScript loader: infra/local/main.ts and the
 * project code it imports are compiled by esbuild into one ES module, kept in the checkout's .local/runtime
 * (not in node_modules, which checkouts may share) and named after a hash of every project source, so a
 * start with unchanged code reuses it and a start after an edit rebuilds it (in about 0.1 s).
 * Dependencies stay in node_modules, imported as usual.
 * Plain JavaScript, because it runs before anything could compile TypeScript: under `tsx`, whose
 * loader sits in front of every module Node resolves, the runtime took about 0.3 s longer to start.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The runtime's entry point, relative to the project root. */
export const RUNTIME_ENTRY = 'infra/local/main.ts';

/** Folders whose TypeScript may go into the runtime; every file in them counts towards the hash. */
const SOURCE_FOLDERS = ['infra', 'functions'];

/** Files besides those sources that change what the build makes. */
const BUILD_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'infra/local/launch.mjs'];

const cacheDir = path.join(projectRoot, '.local', 'runtime');

/** Builds older than this are removed by the next build; a start that built one has imported it long before. */
const PRUNE_AFTER_MS = 10 * 60 * 1000;

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
 * dependencies left to node_modules, not minified, so that a stack trace reads.
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
 * name and renamed into place so that a start running at the same time never reads half a file. A build
 * during which a source changed (an edit, a checkout) is used once and not kept under either hash.
 * Builds and leftovers older than ten minutes are removed.
 * @returns {Promise<string>} its path
 */
export async function preparedRuntime() {
  const hash = runtimeInputsHash();
  const file = path.join(cacheDir, `runtime-${hash}.mjs`);
  if (existsSync(file)) return file;
  const { build } = await import('esbuild');
  const staging = path.join(cacheDir, `staging-${randomBytes(4).toString('hex')}.mjs`);
  await build(runtimeBuildOptions(staging));
  if (runtimeInputsHash() !== hash) return staging;
  await rename(staging, file);
  const now = Date.now();
  for (const entry of await readdir(cacheDir)) {
    const other = path.join(cacheDir, entry);
    if (other === file) continue;
    const old = await stat(other).then((info) => now - info.mtimeMs > PRUNE_AFTER_MS, () => false);
    if (old) await rm(other, { force: true });
  }
  return file;
}
