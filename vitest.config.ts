import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file runs in its own process: integration suites set the handlers' environment.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Logs of passing tests are noise; a failing test shows its logs.
    silent: 'passed-only',
    // CI also writes the counts as JSON, for the summary line of .ci/run.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
