/**
 * Cold start: for each function, the bundle `cdk synth` puts in the cloud assembly, its size, and
 * the time a fresh Node process takes to import it (the handler builds its SDK clients at import),
 * against a floor bundle that imports only the SDK clients and commands the function is granted.
 * Each is also built with the AWS SDK external, as it would load from the Lambda runtime's copy.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import { build } from 'esbuild';
import { lambdaEsbuildOptions } from '../infra/local/build.ts';
import { localRegion } from '../infra/config.ts';
import { type FunctionName, type FunctionSpec, functionNames, functionSpecs } from '../infra/functions.ts';
import { projectRoot } from '../infra/local/build.ts';
import { UsageError } from './output.ts';
import { median } from './stats.ts';

const run = promisify(execFile);

/** The SDK client behind each IAM service prefix. */
const SDK_CLIENTS: Readonly<Record<string, { readonly module: string; readonly client: string }>> = {
  dynamodb: { module: '@aws-sdk/client-dynamodb', client: 'DynamoDBClient' },
  sqs: { module: '@aws-sdk/client-sqs', client: 'SQSClient' },
  sns: { module: '@aws-sdk/client-sns', client: 'SNSClient' },
  secretsmanager: { module: '@aws-sdk/client-secrets-manager', client: 'SecretsManagerClient' },
};

/** A function as the cloud assembly holds it. */
interface SynthesizedFunction {
  readonly name: FunctionName;
  readonly bundle: string;
  readonly memoryMb: number;
  /** Its variables with placeholder values for what CloudFormation resolves at deploy time. */
  readonly env: Readonly<Record<string, string>>;
}

interface TemplateResource {
  readonly Type?: string;
  readonly Metadata?: Readonly<Record<string, unknown>>;
  readonly Properties?: { readonly MemorySize?: number; readonly Environment?: { readonly Variables?: Readonly<Record<string, unknown>> } };
}

/** A placeholder of the right shape for a variable CloudFormation fills in. */
function placeholder(name: string): string {
  if (name.endsWith('_URL')) return 'https://sqs.us-east-1.amazonaws.com/000000000000/bench';
  if (name.endsWith('_ARN')) return 'arn:aws:sns:us-east-1:000000000000:bench';
  return 'bench';
}

/** Runs `cdk synth` (with `-c key=value` for each context entry) into `outdir` and reads which asset each function runs. */
export async function synthesize(outdir: string, context: Readonly<Record<string, string>> = {}): Promise<{ functions: SynthesizedFunction[]; synthMs: number }> {
  const started = performance.now();
  const contextArgs = Object.entries(context).flatMap(([key, value]) => ['-c', `${key}=${value}`]);
  await run('npx', ['cdk', 'synth', '-q', ...contextArgs, '-o', outdir], { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  const synthMs = performance.now() - started;
  const manifest = JSON.parse(await readFile(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type?: string; properties?: { templateFile?: string } }>;
  };
  const templateFile = Object.values(manifest.artifacts ?? {}).find((artifact) => artifact.type === 'aws:cloudformation:stack')?.properties
    ?.templateFile;
  if (!templateFile) throw new Error('no stack in the cloud assembly');
  const template = JSON.parse(await readFile(path.join(outdir, templateFile), 'utf8')) as { Resources?: Record<string, TemplateResource> };
  const functions: SynthesizedFunction[] = [];
  for (const resource of Object.values(template.Resources ?? {})) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const segments = String(resource.Metadata?.['aws:cdk:path'] ?? '').split('/');
    const name = segments[segments.length - 2] as FunctionName;
    const asset = resource.Metadata?.['aws:asset:path'];
    if (!functionNames.includes(name) || typeof asset !== 'string') continue;
    const variables = resource.Properties?.Environment?.Variables ?? {};
    const env = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [key, typeof value === 'string' ? value : placeholder(key)]),
    );
    functions.push({ name, bundle: path.join(outdir, asset, 'index.mjs'), memoryMb: resource.Properties?.MemorySize ?? 128, env });
  }
  return { functions, synthMs };
}

/** Source of a module that builds the function's SDK clients and references the commands it may call. */
export function floorSource(spec: FunctionSpec): string {
  const imports = new Map<string, Set<string>>();
  for (const actions of Object.values(spec.uses)) {
    for (const action of actions ?? []) {
      const [service = '', operation = ''] = action.split(':');
      const sdk = SDK_CLIENTS[service];
      // A floor without one of the function's clients would flatter the function.
      if (!sdk) throw new Error(`the cold start floor knows no SDK client for ${action}`);
      const names = imports.get(sdk.module) ?? new Set([sdk.client]);
      names.add(`${operation}Command`);
      imports.set(sdk.module, names);
    }
  }
  const lines = [...imports].map(([module, names]) => `import { ${[...names].sort().join(', ')} } from '${module}';`);
  const clients = [...imports.keys()].map((module) => `new ${Object.values(SDK_CLIENTS).find((sdk) => sdk.module === module)?.client}({})`);
  const commands = [...imports.values()].flatMap((names) => [...names].filter((name) => name.endsWith('Command')));
  lines.push(`const clients = [${clients.join(', ')}];`, `const commands = [${commands.join(', ')}];`);
  lines.push('export const handler = async () => ({ clients: clients.length, commands: commands.length });');
  return `${lines.join('\n')}\n`;
}

/** Bundles with the stack's settings; `external` leaves the AWS SDK to the runtime. */
async function bundle(input: { entry: string } | { source: string }, outfile: string, external: boolean): Promise<void> {
  await build({
    ...('entry' in input ? { entryPoints: [path.join(projectRoot, input.entry)] } : { stdin: { contents: input.source, resolveDir: projectRoot, loader: 'ts' } }),
    ...lambdaEsbuildOptions,
    outfile,
    external: external ? ['@aws-sdk/*'] : [],
  });
}

/** Size of a bundle: the code, its source map, and both deflated as in the deployment zip. */
export interface BundleSize {
  readonly codeBytes: number;
  readonly mapBytes: number;
  readonly zippedBytes: number;
}

async function sizeOf(file: string): Promise<BundleSize> {
  const code = await readFile(file);
  const map = await readFile(`${file}.map`).catch(() => Buffer.alloc(0));
  return { codeBytes: code.length, mapBytes: map.length, zippedBytes: deflateRawSync(code).length + deflateRawSync(map).length };
}

const IMPORT_SCRIPT =
  'const t = performance.now(); await import(process.argv[1]); process.stdout.write(String(performance.now() - t));';

/** One way of loading one bundle. */
interface Variant {
  readonly file: string;
  readonly env: Readonly<Record<string, string>>;
  readonly samples: number[];
}

/**
 * The version of a Node binary (`v22.…`), or an error that names it: one that cannot run the bundles
 * (they take `node:http` with `process.getBuiltinModule`, in Node 20.16 and 22.3 on) is refused too.
 */
export async function nodeVersion(node: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await run(node, ['-p', 'process.version + " " + typeof process.getBuiltinModule']));
  } catch (error) {
    throw new UsageError(`--node: cannot run ${node} as Node: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const [version = '', builtins] = stdout.trim().split(' ');
  if (builtins !== 'function') throw new UsageError(`--node: ${node} is Node ${version}; the bundles need 20.16 or later`);
  return version;
}

/** Milliseconds a fresh process of the `node` binary spends importing `file`. */
async function importMs(node: string, variant: Variant): Promise<number> {
  const { stdout } = await run(node, ['--input-type=module', '-e', IMPORT_SCRIPT, pathToFileURL(variant.file).href], {
    env: variant.env,
    cwd: path.dirname(variant.file),
  });
  return Number(stdout);
}

/** Cold start of one function, in milliseconds (medians) and bytes. */
export interface ColdStartRow {
  readonly function: FunctionName;
  readonly memoryMb: number;
  readonly nodeOptions: string;
  readonly size: BundleSize;
  readonly floorSize: BundleSize;
  /** Import time as deployed (the function's NODE_OPTIONS, SDK bundled). */
  readonly loadMs: number;
  readonly floorLoadMs: number;
  /** Median over rounds of load ÷ floor load, the two sampled back to back. */
  readonly ratio: number;
  /** The same without source maps enabled. */
  readonly loadMsNoSourceMaps: number;
  readonly floorLoadMsNoSourceMaps: number;
  /** With the AWS SDK external, loaded from node_modules as from the runtime's copy (deployed NODE_OPTIONS). */
  readonly externalSize: BundleSize;
  readonly externalLoadMs: number;
  readonly externalFloorLoadMs: number;
  /** Median over rounds of SDK-external load ÷ bundled load (both as deployed). */
  readonly externalVsBundled: number;
  /** The bundle of a stack synthesized with `-c tracing=false`, loaded as deployed, beside the same floor. */
  readonly untracedSize: BundleSize;
  readonly untracedLoadMs: number;
  readonly untracedFloorLoadMs: number;
  readonly untracedRatio: number;
}

export interface ColdStartResult {
  /** Of the default stack (the tracing-off one takes about as long). */
  readonly synthMs: number;
  readonly samples: number;
  readonly node: string;
  readonly rows: readonly ColdStartRow[];
}

/**
 * Synthesizes, builds the floors and the external variants, and samples each function beside its floor,
 * each load in a fresh process of `node` (this one's binary unless given: `npm run bench -- --node`).
 */
export async function measureColdStart(
  samples: number,
  onProgress: (line: string) => void,
  node = process.execPath,
  /** `node`'s version, when the caller already asked it. */
  knownVersion?: string,
): Promise<ColdStartResult> {
  const version = knownVersion ?? (await nodeVersion(node));
  const work = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-bench-'));
  try {
    onProgress('cold start: cdk synth (default, and -c tracing=false)');
    const { functions, synthMs } = await synthesize(path.join(work, 'cdk.out'));
    if (functions.length === 0) throw new Error('cdk synth produced no function of infra/functions.ts');
    const untraced = new Map((await synthesize(path.join(work, 'cdk.out.untraced'), { tracing: 'false' })).functions.map((fn) => [fn.name, fn]));
    // External builds resolve the SDK from the project's node_modules, as from the runtime's copy.
    await symlink(path.join(projectRoot, 'node_modules'), path.join(work, 'node_modules'), 'dir');
    const baseEnv = {
      PATH: process.env.PATH ?? '',
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    /** What Lambda sets in every execution environment (Powertools reads some of it), for loads as deployed. */
    const lambdaEnv = (fn: SynthesizedFunction) => ({
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: fn.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      // The X-Ray SDK sets up its Lambda segment at load when it sees this.
      LAMBDA_TASK_ROOT: path.dirname(fn.bundle),
      LAMBDA_RUNTIME_DIR: '/var/runtime',
      _HANDLER: 'index.handler',
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
      TZ: ':UTC',
    });
    type Mode = 'deployed' | 'noMaps' | 'external' | 'untraced';
    const floorFiles = new Map<string, { bundled: string; external: string }>();
    const plans: {
      fn: SynthesizedFunction;
      external: string;
      untraced: string;
      floorFile: string;
      /** Each mode's function variant and its floor, sampled back to back. */
      pairs: Record<Mode, { fn: Variant; floor: Variant }>;
    }[] = [];
    onProgress('cold start: building floors and SDK-external variants');
    for (const fn of functions) {
      const spec: FunctionSpec = functionSpecs[fn.name];
      const { NODE_OPTIONS: _nodeOptions, ...variables } = fn.env;
      const deployed = { ...baseEnv, ...lambdaEnv(fn), ...fn.env };
      const noMaps = { ...baseEnv, ...lambdaEnv(fn), ...variables };
      const untracedFn = untraced.get(fn.name);
      if (!untracedFn) throw new Error(`cdk synth -c tracing=false produced no ${fn.name}`);
      const source = floorSource(spec);
      let floor = floorFiles.get(source);
      if (!floor) {
        const dir = path.join(work, `floor-${floorFiles.size}`);
        floor = { bundled: path.join(dir, 'bundled', 'index.mjs'), external: path.join(dir, 'external', 'index.mjs') };
        await bundle({ source }, floor.bundled, false);
        await bundle({ source }, floor.external, true);
        floorFiles.set(source, floor);
      }
      const external = path.join(work, 'external', fn.name, 'index.mjs');
      await bundle({ entry: spec.entry }, external, true);
      const variant = (file: string, env: Record<string, string>): Variant => ({ file, env, samples: [] });
      plans.push({
        fn,
        external,
        untraced: untracedFn.bundle,
        floorFile: floor.bundled,
        pairs: {
          untraced: { fn: variant(untracedFn.bundle, { ...baseEnv, ...lambdaEnv(untracedFn), ...untracedFn.env }), floor: variant(floor.bundled, deployed) },
          deployed: { fn: variant(fn.bundle, deployed), floor: variant(floor.bundled, deployed) },
          noMaps: { fn: variant(fn.bundle, noMaps), floor: variant(floor.bundled, noMaps) },
          external: { fn: variant(external, deployed), floor: variant(floor.external, deployed) },
        },
      });
    }
    const pairs = plans.flatMap((plan) => Object.values(plan.pairs));
    for (const { fn, floor } of pairs) await Promise.all([importMs(node, fn), importMs(node, floor)]); // page cache, once
    for (let round = 0; round < samples; round++) {
      onProgress(`cold start: round ${round + 1} of ${samples} (${pairs.length} function/floor pairs)`);
      for (const pair of pairs) {
        // Each pair back to back, alternating which goes first: a ratio per round, taken under one load.
        const order = round % 2 === 0 ? [pair.fn, pair.floor] : [pair.floor, pair.fn];
        for (const variant of order) variant.samples.push(await importMs(node, variant));
      }
    }
    const pairedRatio = (a: Variant, b: Variant) => median(a.samples.map((sample, index) => sample / (b.samples[index] ?? Number.NaN)));
    const rows: ColdStartRow[] = [];
    for (const { fn, external, untraced: untracedFile, floorFile, pairs: p } of plans) {
      rows.push({
        function: fn.name,
        memoryMb: fn.memoryMb,
        nodeOptions: fn.env.NODE_OPTIONS ?? '',
        size: await sizeOf(fn.bundle),
        floorSize: await sizeOf(floorFile),
        loadMs: median(p.deployed.fn.samples),
        floorLoadMs: median(p.deployed.floor.samples),
        ratio: pairedRatio(p.deployed.fn, p.deployed.floor),
        loadMsNoSourceMaps: median(p.noMaps.fn.samples),
        floorLoadMsNoSourceMaps: median(p.noMaps.floor.samples),
        externalSize: await sizeOf(external),
        externalLoadMs: median(p.external.fn.samples),
        externalFloorLoadMs: median(p.external.floor.samples),
        externalVsBundled: median(p.external.fn.samples.map((sample, index) => sample / (p.deployed.fn.samples[index] ?? Number.NaN))),
        untracedSize: await sizeOf(untracedFile),
        untracedLoadMs: median(p.untraced.fn.samples),
        untracedFloorLoadMs: median(p.untraced.floor.samples),
        untracedRatio: pairedRatio(p.untraced.fn, p.untraced.floor),
      });
    }
    return { synthMs, samples, node: version, rows };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
