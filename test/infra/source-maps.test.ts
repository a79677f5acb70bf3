/**
 * `sourceMaps: false` (`cdk deploy -c sourceMaps=false`): bundles without a map, functions without
 * `--enable-source-maps`. Synthesizes with bundling, once for the file; stack.test.ts checks the default (on).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FunctionName, functionNames } from '#infra/functions';
import { AsyncJobsStack } from '#infra/stack';
import { assetDirectoryOf, resourceOf, unbundledApp } from './support.ts';

let app: App;
let stack: AsyncJobsStack;
let template: Template;
let assemblyDirectory: string;

beforeAll(() => {
  app = new App({ context: { sourceMaps: 'false' } });
  stack = new AsyncJobsStack(app, 'Unmapped');
  template = Template.fromStack(stack);
  assemblyDirectory = app.synth().directory;
  mapped = new AsyncJobsStack(unbundledApp(), 'Mapped');
  mappedTemplate = Template.fromStack(mapped);
}, 180_000);

afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

/** The default stack, not bundled: what the variables are with source maps. */
let mapped: AsyncJobsStack;
let mappedTemplate: Template;

function variablesOf(from: AsyncJobsStack, fromTemplate: Template, name: FunctionName): Record<string, unknown> {
  const environment = resourceOf(fromTemplate, from.asyncJobs.functions[name]).Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  return environment?.Variables ?? {};
}

function assetOf(name: FunctionName): string {
  return assetDirectoryOf(template, stack.asyncJobs.functions[name], assemblyDirectory);
}

describe('with source maps off', () => {
  it.each(functionNames)('runs %s without --enable-source-maps, its other variables unchanged', (name) => {
    // Act
    const variables = variablesOf(stack, template, name);
    const { NODE_OPTIONS, ...others } = variablesOf(mapped, mappedTemplate, name);

    // Assess
    expect(variables).not.toHaveProperty('NODE_OPTIONS');
    expect(NODE_OPTIONS).toBe('--enable-source-maps');
    expect(Object.keys(variables).sort()).toEqual(Object.keys(others).sort());
  });

  it.each(functionNames)('ships %s without a map, and its bundle names none', (name) => {
    // Act
    const directory = assetOf(name);
    const bundle = readFileSync(path.join(directory, 'index.mjs'), 'utf8');

    // Assess (booleans, so that a failure does not print the whole bundle)
    expect(existsSync(path.join(directory, 'index.mjs.map')), 'index.mjs.map').toBe(false);
    expect(bundle.includes('sourceMappingURL'), 'sourceMappingURL').toBe(false);
    expect(/export\s*\{\s*[\w$]+ as handler\s*\};/.test(bundle), 'exports handler').toBe(true);
  });
});
