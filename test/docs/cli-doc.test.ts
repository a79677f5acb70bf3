/**
 * The CLI's guide (docs/clients.md) names everything `async-jobs --help` offers: each option, each
 * environment variable, each command and each exit code, so an option added to the CLI is documented too.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { USAGE } from '../../client/cli.ts';
import { projectRoot } from '../support/run-command.ts';

const guide = await readFile(path.join(projectRoot, 'docs', 'clients.md'), 'utf8');

/** What the usage text names: options, environment variables, commands and exit codes. */
const usage = {
  options: [...new Set(USAGE.match(/--[a-z][a-z-]*/g) ?? [])],
  variables: [...new Set(USAGE.match(/\$[A-Z_]+/g) ?? [])],
  commands: [...USAGE.matchAll(/^ {2}([a-z]+) /gm)].map((match) => match[1] ?? ''),
  exitCodes: [...(USAGE.split('Exit codes:')[1] ?? '').matchAll(/\b(\d+) [A-Za-z]/g)].map((match) => match[1] ?? ''),
};

describe('docs/clients.md against `async-jobs --help`', () => {
  it('the usage text is read whole (its options, variables, commands and exit codes)', () => {
    expect(usage.options.length).toBeGreaterThanOrEqual(15);
    expect(usage.variables).toEqual(expect.arrayContaining(['$ASYNC_JOBS_URL', '$ASYNC_JOBS_AUTH', '$ASYNC_JOBS_TOKEN']));
    expect(usage.commands).toEqual(['submit', 'get', 'wait', 'cancel', 'list']);
    expect(usage.exitCodes).toEqual(['0', '1', '2', '3', '4', '130', '70']);
  });

  it.each(usage.options)('names the option %s', (option) => {
    expect(guide).toMatch(new RegExp(`\`[^\`\\n]*${option}\\b`));
  });

  it.each(usage.variables)('names the variable %s', (variable) => {
    expect(guide).toContain(`\`${variable}\``);
  });

  it.each(usage.commands)('has a row for the command %s', (command) => {
    expect(guide).toMatch(new RegExp(`^\\| \`${command}\\b`, 'm'));
  });

  it.each(usage.exitCodes)('explains the exit code %s', (code) => {
    expect(guide).toMatch(new RegExp(`^\\| \`${code}\` \\|`, 'm'));
  });
});
