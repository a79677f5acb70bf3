/**
 * Helpers of the infra tests. Most synthesize without bundling: only the template matters to them. The
 * few that bundle (stack.test.ts, and the ones of the settings that change the bundles) read the
 * bundles through {@link assetDirectoryOf}.
 */
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll } from 'vitest';

/** A CloudFormation resource as the template holds it. */
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/** An app that does not bundle the functions, with the given context; its output directory is removed after the file's tests. */
export function unbundledApp(context: Record<string, unknown> = {}): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  outdirs.push(app.outdir);
  return app;
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild ?? construct;
  return Stack.of(construct).getLogicalId(child as CfnElement);
}

/** The template's resource of a construct. */
export function resourceOf(template: Template, construct: IConstruct): CfnResource {
  const logicalId = logicalIdOf(construct);
  const found = (template.toJSON().Resources as Record<string, CfnResource>)[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

/** The template's resources of one type. */
export function resourcesOfType(template: Template, type: string): CfnResource[] {
  return Object.values(template.findResources(type) as Record<string, CfnResource>);
}

/** The message `build` throws, if any. */
export function errorOf(build: () => unknown): string | undefined {
  try {
    build();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

/** The directory a synthesized app holds a bundled function's code in, found through its S3 key in the asset manifest. */
export function assetDirectoryOf(template: Template, fn: IConstruct, assemblyDirectory: string): string {
  const code = resourceOf(template, fn).Properties?.Code as { S3Key?: string } | undefined;
  const hash = String(code?.S3Key).replace(/\.zip$/, '');
  const stack = Stack.of(fn);
  const manifest = JSON.parse(readFileSync(path.join(assemblyDirectory, `${stack.artifactId}.assets.json`), 'utf8')) as {
    files: Record<string, { source: { path: string } }>;
  };
  const source = manifest.files[hash]?.source.path;
  if (!source) throw new Error(`no asset ${hash} for ${fn.node.path}`);
  return path.join(assemblyDirectory, source);
}
