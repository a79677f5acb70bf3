/**
 * `tracing: false` (`cdk deploy -c tracing=false`): no X-Ray anywhere, and bundles built without the
 * tracing code. Synthesizes with bundling, once for the file; stack.test.ts checks the default (on).
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functionNames } from '#infra/functions';
import { AsyncJobsStack } from '#infra/stack';
import { assetDirectoryOf, resourceOf } from './support.ts';

let app: App;
let stack: AsyncJobsStack;
let template: Template;
let assemblyDirectory: string;

beforeAll(() => {
  app = new App({ context: { tracing: 'false' } });
  stack = new AsyncJobsStack(app, 'Untraced');
  template = Template.fromStack(stack);
  assemblyDirectory = app.synth().directory;
}, 180_000);

afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

function propertiesOf(name: FunctionName): Record<string, unknown> {
  return resourceOf(template, stack.asyncJobs.functions[name]).Properties ?? {};
}

/** The bundle of a function. */
function bundleOf(name: FunctionName): string {
  return readFileSync(path.join(assetDirectoryOf(template, stack.asyncJobs.functions[name], assemblyDirectory), 'index.mjs'), 'utf8');
}

describe('with tracing off', () => {
  it.each(functionNames)('turns off active tracing on %s', (name) => {
    // Assess
    expect(propertiesOf(name)).not.toHaveProperty('TracingConfig');
  });

  it('grants no X-Ray action to any role', () => {
    // Act
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      ((policy.Properties?.PolicyDocument?.Statement ?? []) as { Action: string | string[] }[]).flatMap((statement) => statement.Action),
    );

    // Assess
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action.startsWith('xray:'))).toEqual([]);
  });

  it.each(functionNames)('builds %s without Powertools Tracer or the X-Ray SDK', (name) => {
    // Act
    const bundle = bundleOf(name);

    // Assess (booleans, so that a failure does not print the whole bundle)
    expect(bundle.includes('POWERTOOLS_TRACER_CAPTURE_RESPONSE'), 'Powertools Tracer').toBe(false);
    expect(bundle.includes('AWSXRay'), 'X-Ray SDK').toBe(false);
    expect(/export\s*\{\s*[\w$]+ as handler\s*\};/.test(bundle), 'exports handler').toBe(true);
  });
});
