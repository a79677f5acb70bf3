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

/** Bundling settings both builds apply. The AWS SDK is bundled, pinned by package-lock.json. */
export const bundlingOptions = {
  minify: true,
  sourceMap: true,
  target: lambdaNodeTarget,
  format: 'esm',
  mainFields: ['module', 'main'],
  banner: esmRequireBanner,
} as const;
