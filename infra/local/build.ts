/**
 * Builds each function the way the CDK stack bundles it, plus the thread that hosts an instance.
 * Bundles are cached by the hash of everything that goes into them, so a start with unchanged code
 * skips the build.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, version as esbuildVersion } from 'esbuild';
import { bundleAliases, bundleDefines, bundlingOptions, sourceMapsFromContext, tracingFromContext } from '../bundling.ts';
import { type FunctionName, functionNames, functionSpecs } from '../functions.ts';
import { isAlive } from './processes.ts';

/**
 * The project's root: the nearest folder above this module that holds infra/local/launch.mjs. Not a
 * fixed number of levels up, since `npm start` runs this module from a compiled copy in .local/runtime.
 */
export const projectRoot = rootAbove(path.dirname(fileURLToPath(import.meta.url)));

function rootAbove(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'infra', 'local', 'launch.mjs'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no project root (with infra/local/launch.mjs) above ${start}`);
  }
}

const cacheRoot = path.join(projectRoot, 'node_modules', '.cache', 'async-jobs');

/** How a cdk.json's context builds the functions: with tracing and with source maps, unless it says `false`. */
export function buildOfCdkJson(cdkJson: string): { readonly tracing: boolean; readonly sourceMaps: boolean } {
  const { context } = JSON.parse(cdkJson) as { context?: Record<string, unknown> };
  return { tracing: tracingFromContext(context?.tracing) ?? true, sourceMaps: sourceMapsFromContext(context?.sourceMaps) ?? true };
}

/** How `cdk deploy` builds this project's functions, from its cdk.json: the local runtime builds and runs them so. */
export const projectBuild = buildOfCdkJson(readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8'));

/**
 * The stack's bundling settings as esbuild options, for every build outside CDK (here, and the bench).
 * The runtime's two thread hosts are built with them too: without source maps, their stack traces also
 * point into minified code.
 */
export const lambdaEsbuildOptions = {
  bundle: true,
  platform: 'node',
  format: bundlingOptions.format,
  target: bundlingOptions.target,
  minify: bundlingOptions.minify,
  sourcemap: projectBuild.sourceMaps,
  sourcesContent: bundlingOptions.sourcesContent,
  mainFields: [...bundlingOptions.mainFields],
  banner: { js: bundlingOptions.banner },
  alias: { ...bundleAliases },
  // As `cdk deploy` builds them with the project's cdk.json (Powertools turns tracing off outside Lambda anyway).
  define: bundleDefines({ tracing: projectBuild.tracing }),
  logLevel: 'silent',
  absWorkingDir: projectRoot,
} satisfies BuildOptions;

/** Where the bundles are. */
export interface Bundles {
  readonly dir: string;
  readonly host: string;
  /** The thread that runs the SQS event source mappings. */
  readonly pollerHost: string;
  readonly functions: Readonly<Record<FunctionName, string>>;
  /** Lets a later build of other code remove these bundles (they are kept while held). */
  release(): Promise<void>;
}

/**
 * A file in a bundle folder for each runtime using it, named after the process: a build of other
 * code (an edit, then a test, while `npm start` runs; or another checkout sharing node_modules)
 * removes the folders of earlier builds, but none a live process still holds.
 */
const HOLD_PREFIX = 'held-by-';

async function hold(dir: string): Promise<(() => Promise<void>) | undefined> {
  const file = path.join(dir, `${HOLD_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(file, '');
  } catch {
    return undefined; // not built, or removed meanwhile
  }
  if (!(await exists(path.join(dir, 'complete')))) {
    await rm(file, { force: true });
    return undefined;
  }
  return () => rm(file, { force: true });
}

async function heldByALiveProcess(dir: string): Promise<boolean> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.some((name) => name.startsWith(HOLD_PREFIX) && isAlive(Number(name.slice(HOLD_PREFIX.length).split('-')[0])));
}

/** What a bundle may be built from in a source folder: TypeScript, JavaScript in either module system, JSON. */
const SOURCE_FILE = /\.(?:[cm]?[jt]s|json)$/;

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) => (entry.isDirectory() ? filesUnder(path.join(dir, entry.name)) : Promise.resolve([path.join(dir, entry.name)]))),
  );
  return nested.flat().filter((file) => SOURCE_FILE.test(file));
}

/**
 * The project's files the cache key covers: every source under functions/, the infra files the bundles
 * and the hosts are built from, tsconfig.json (esbuild reads it, and lists it in no metafile), and the
 * manifest and lockfile (for the dependencies' code).
 */
export async function buildInputs(): Promise<string[]> {
  return [
    ...(await filesUnder(path.join(projectRoot, 'functions'))),
    ...['tsconfig.json', 'infra/config.ts', 'infra/functions.ts', 'infra/bundling.ts', 'infra/local/lambda-host.ts', 'infra/local/localhost-dns.ts', 'infra/local/poller-host.ts', 'infra/local/sqs-poller.ts', 'package.json', 'package-lock.json'].map(
      (file) => path.join(projectRoot, file),
    ),
  ].sort();
}

/** A hash of every input of the build: sources, dependencies' lockfile, settings, esbuild's version. */
async function inputsHash(): Promise<string> {
  const hash = createHash('sha256').update(esbuildVersion).update(JSON.stringify(lambdaEsbuildOptions));
  for (const file of await buildInputs()) hash.update(file).update(await readFile(file));
  return hash.digest('hex').slice(0, 16);
}

function layout(dir: string, release: () => Promise<void>): Bundles {
  const functions = Object.fromEntries(functionNames.map((name) => [name, path.join(dir, name, 'index.mjs')])) as Record<FunctionName, string>;
  return { dir, host: path.join(dir, 'lambda-host.mjs'), pollerHost: path.join(dir, 'poller-host.mjs'), functions, release };
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/** The entry points of a build: the two hosts and the given functions, by output name. */
export function entryPointsOf(names: readonly FunctionName[], hosts: readonly ('lambda-host' | 'poller-host')[]): Record<string, string> {
  const entryPoints: Record<string, string> = {};
  for (const host of hosts) entryPoints[host] = path.join(projectRoot, `infra/local/${host}.ts`);
  for (const name of names) entryPoints[`${name}/index`] = path.join(projectRoot, functionSpecs[name].entry);
  return entryPoints;
}

/**
 * Builds `entryPoints` into `dir` (in `root`) unless it is there, and holds it; `key` names the build.
 * `prune` then removes the builds of other keys that no live process holds.
 */
async function cachedBuild(root: string, dir: string, key: string, entryPoints: Record<string, string>, prune: boolean): Promise<() => Promise<void>> {
  const cached = await hold(dir);
  if (cached) return cached;
  // Build beside it and rename into place, so a concurrent start never sees half a build.
  const staging = path.join(root, `staging-${key}-${randomBytes(4).toString('hex')}`);
  await build({ ...lambdaEsbuildOptions, entryPoints, outdir: staging, outExtension: { '.js': '.mjs' } });
  await writeFile(path.join(staging, 'complete'), key);
  try {
    await rename(staging, dir);
  } catch {
    // Another start cached the same build first: use it.
    await rm(staging, { recursive: true, force: true });
  }
  const release = await hold(dir);
  if (!release) throw new Error(`the bundles in ${dir} were removed as they were built; start again`);
  if (prune) await pruneBundles(root, key);
  return release;
}

/** The bundles of the current code, held until released: from the cache (in `root`), or built now (and cached). */
export async function buildBundles(root = cacheRoot): Promise<Bundles> {
  return allBundles(root, await inputsHash());
}

async function allBundles(root: string, key: string): Promise<Bundles> {
  const dir = path.join(root, `bundles-${key}`);
  return layout(dir, await cachedBuild(root, dir, key, entryPointsOf(functionNames, ['lambda-host', 'poller-host']), true));
}

/** Bundles for a start that wants one function up first. */
export interface StagedBundles {
  /** The thread that hosts an instance. */
  readonly host: string;
  /** The bundle of the function asked for first. */
  readonly first: string;
  /** All the bundles (the first function's included), once built. */
  readonly all: Promise<Bundles>;
  /** Releases what is held, once `all` settled. */
  release(): Promise<void>;
}

/**
 * The bundles of the current code, with `first` (and the instance host) ready before the rest: all of
 * them at once when cached; else those two are built on their own first, in about a fifth of the time
 * of the whole build, which follows. After an install or an edit, `npm start` so takes its first job
 * about half a second sooner.
 */
export async function stagedBundles(first: FunctionName, root = cacheRoot): Promise<StagedBundles> {
  const key = await inputsHash();
  const dir = path.join(root, `bundles-${key}`);
  const cached = await hold(dir);
  if (cached) {
    const all = layout(dir, cached);
    return { host: all.host, first: all.functions[first], all: Promise.resolve(all), release: cached };
  }
  const firstDir = path.join(root, `first-${key}-${first}`);
  // Not pruning: the builds of other keys go once the whole build of this one is in place.
  const releaseFirst = await cachedBuild(root, firstDir, key, entryPointsOf([first], ['lambda-host']), false);
  // One key for both builds, from the one hash this start took (an edit meanwhile is built by the next start).
  const all = allBundles(root, key);
  // Its failure is the caller's to report, whenever it looks: not an unhandled rejection meanwhile.
  all.catch(() => undefined);
  const ahead = layout(firstDir, releaseFirst);
  return {
    host: ahead.host,
    first: ahead.functions[first],
    all,
    release: async () => {
      await releaseFirst();
      await (await all.catch(() => undefined))?.release();
    },
  };
}

/** Removes the bundles of builds under `root` (whole or built ahead) of keys other than `key`, except those a live process holds. */
export async function pruneBundles(root: string, key: string): Promise<void> {
  for (const entry of await readdir(root)) {
    if (!(entry.startsWith('bundles-') || entry.startsWith('first-')) || entry.split('-')[1] === key) continue;
    const other = path.join(root, entry);
    if (!(await heldByALiveProcess(other))) await rm(other, { recursive: true, force: true }).catch(() => undefined);
  }
}
