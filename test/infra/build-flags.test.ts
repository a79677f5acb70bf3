/**
 * The true/false settings that change the bundles, `tracing` and `sourceMaps`: `cdk deploy -c` refuses
 * anything else, and the local runtime reads them from cdk.json as `cdk deploy` does. What each does
 * to the stack and the bundles is in tracing.test.ts and source-maps.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bundleDefines } from '#infra/bundling';
import { buildOfCdkJson, lambdaEsbuildOptions, projectRoot } from '#infra/local/build';
import { AsyncJobsStack } from '#infra/stack';
import { unbundledApp } from './support.ts';

type Flag = 'tracing' | 'sourceMaps';

describe.each([
  {
    flag: 'tracing' as Flag,
    refusedInContext: 'off',
    inLocalBuild: (value: boolean): unknown => expect(lambdaEsbuildOptions.define).toEqual(bundleDefines({ tracing: value })),
  },
  {
    flag: 'sourceMaps' as Flag,
    refusedInContext: 'no',
    inLocalBuild: (value: boolean): unknown => expect(lambdaEsbuildOptions.sourcemap).toBe(value),
  },
])('$flag', ({ flag, refusedInContext, inLocalBuild }) => {
  it('refuses a context value but true or false', () => {
    // Act
    const synth = () => new AsyncJobsStack(unbundledApp({ [flag]: refusedInContext }), 'Bad');

    // Assess
    expect(synth).toThrow(`context ${flag} must be 'true' or 'false'; got "${refusedInContext}"`);
  });

  it.each([
    [`no ${flag} value`, '{"context":{}}', true],
    [`"${flag}": false`, `{"context":{"${flag}":false}}`, false],
    [`"${flag}": "false"`, `{"context":{"${flag}":"false"}}`, false],
    [`"${flag}": true`, `{"context":{"${flag}":true}}`, true],
  ])('is read from a cdk.json with %s', (_, cdkJson, expected) => {
    // Assess
    expect(buildOfCdkJson(cdkJson)[flag]).toBe(expected);
  });

  it('refuses a cdk.json value that is not true or false', () => {
    // Assess
    expect(() => buildOfCdkJson(`{"context":{"${flag}":"off"}}`)).toThrow(`context ${flag} must be 'true' or 'false'; got "off"`);
  });

  it("builds this project's functions as its cdk.json deploys them", () => {
    // Prepare
    const cdkJson = readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8');

    // Assess
    inLocalBuild(buildOfCdkJson(cdkJson)[flag]);
  });
});
