/**
 * How a function is bundled, shared by the CDK stack (NodejsFunction) and the local runtime
 * (esbuild directly), so the code that runs locally is built the way the deployed code is.
 */

/** Node.js version the Lambda runtime runs; esbuild targets it. */
export const lambdaNodeTarget = 'node22';

/**
 * ESM output needs `require` for the few CommonJS dependencies that call it; this banner gives
 * the bundle one, as the AWS SDK's own bundling guidance does.
 */
export const esmRequireBanner = "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/**
 * Build-time constants of a bundle: `process.env.ASYNC_JOBS_TRACING` is replaced by whether the
 * deployment traces with X-Ray, so with tracing off esbuild drops Powertools Tracer and the X-Ray SDK
 * (functions/aws/observability.ts imports them only in the branch that survives).
 */
export function bundleDefines(options: { readonly tracing: boolean }): Record<string, string> {
  return { 'process.env.ASYNC_JOBS_TRACING': JSON.stringify(String(options.tracing)) };
}

/**
 * A true/false context value (`cdk deploy -c name=false`, or `"name": false` in cdk.json's context):
 * undefined when unset, so the construct's default applies.
 */
export function flagFromContext(name: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  const text = String(value);
  if (text !== 'true' && text !== 'false') throw new Error(`context ${name} must be 'true' or 'false'; got "${text}"`);
  return text === 'true';
}

/** The `tracing` context value (`cdk deploy -c tracing=false`): undefined when unset (the construct's default, on). */
export function tracingFromContext(value: unknown): boolean | undefined {
  return flagFromContext('tracing', value);
}

/** The `sourceMaps` context value (`cdk deploy -c sourceMaps=false`): undefined when unset (the construct's default, on). */
export function sourceMapsFromContext(value: unknown): boolean | undefined {
  return flagFromContext('sourceMaps', value);
}

/**
 * Modules a bundle gets a stand-in for, as esbuild aliases: paths from the project root, which esbuild
 * resolves them from (both builds run it there; Docker bundling too, at /asset-input).
 * - `semver` is only imported by the X-Ray SDK, which calls nothing of it but `gte`, and nothing at all
 *   on the functions' paths: see functions/shims/semver.ts.
 * - `node:http` is the built-in itself, without the ES module import that costs Node 22 about 9 ms of
 *   each cold start: see functions/shims/node-http.cjs.
 */
export const bundleAliases: Readonly<Record<string, string>> = {
  semver: './functions/shims/semver.ts',
  'node:http': './functions/shims/node-http.cjs',
  http: './functions/shims/node-http.cjs',
};

/** Bundling settings both builds apply. The AWS SDK is bundled, pinned by package-lock.json. */
export const bundlingOptions = {
  minify: true,
  /**
   * Maps carry positions and file names, not the sources' text (which, for the bundled SDK, was two
   * thirds of each map): stack traces still point at the TypeScript, and the zip a cold start
   * downloads is about half the size (see the README's Performance section).
   */
  sourcesContent: false,
  target: lambdaNodeTarget,
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: esmRequireBanner,
} as const;
