/**
 * The README's example of a new job type (Job types, step 1) is code a user pastes into
 * functions/processors/: it must type-check and pass the lint CI runs, as it stands in the README.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, runCommand } from '../support/run-command.ts';

/** The fenced block under "1. Write `functions/processors/resize-image.ts`:", unindented. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(path.join(projectRoot, 'README.md'), 'utf8');
  const match = /1\. Write `functions\/processors\/resize-image\.ts`:\n {3}```ts\n([\s\S]*?)\n {3}```/.exec(readme);
  if (!match?.[1]) throw new Error('README has no resize-image example under Job types');
  return `${match[1].replace(/^ {3}/gm, '')}\n`;
}

// Beside the project's sources (so `#core/...` resolves and biome.json applies), in a folder of its own.
const folder = path.join(projectRoot, 'test', '.tmp', `readme-${process.pid}`);
const file = path.join(folder, 'resize-image.ts');

beforeAll(async () => {
  await mkdir(folder, { recursive: true });
  await writeFile(file, await readmeExample());
});
afterAll(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("the README's job type example", () => {
  it('type-checks with the project settings', () => {
    // Prepare
    const config = ts.getParsedCommandLineOfConfigFile(path.join(projectRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    if (!config) throw new Error('tsconfig.json could not be read');
    // Act
    const program = ts.createProgram([file], config.options);
    const diagnostics = ts.getPreEmitDiagnostics(program).map((diagnostic) => ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
    // Assess
    expect(diagnostics).toEqual([]);
  });

  it('passes the lint', async () => {
    // Act
    const run = await runCommand(path.join(projectRoot, 'node_modules', '.bin', 'biome'), ['lint', '--error-on-warnings', file], {});
    // Assess
    expect(run.stderr + run.stdout).not.toMatch(/lint\//);
    expect(run.code).toBe(0);
  });
});
