/**
 * The bundles' stand-in for `semver` (functions/shims/semver.ts): it orders versions as the package the
 * X-Ray SDK depends on does, and every module the functions bundle imports nothing of it but `gte`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleDefines } from '#infra/bundling';
import { functionNames, functionSpecs } from '#infra/functions';
import { lambdaEsbuildOptions, projectRoot } from '#infra/local/build';
import * as shim from '../../functions/shims/semver.ts';

/** The semver the X-Ray SDK would get without the alias. */
const semver = createRequire(createRequire(import.meta.url).resolve('aws-xray-sdk-core'))('semver') as { gte(a: string, b: string): boolean };

const versions = [
  '0.0.0', '0.0.1', '0.1.0', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '8.0.0', '10.0.0', '20.20.2', '22.11.0', 'v22.11.0',
  '1.0.0-0', '1.0.0-1', '1.0.0-2', '1.0.0-10', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta',
  '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0-1a', '1.0.0+build.5', '1.0.0-rc.1+build.1', ' 3.4.5 ',
];

describe('gte', () => {
  it('refuses the options it does not implement rather than ignore them', () => {
    // Act / Assess
    expect(() => shim.gte('1.2.3-rc', '1.2.3', { loose: true })).toThrow(/takes no options/);
    expect(() => shim.gte('1.2.3', '1.2.3', true)).toThrow(/takes no options/);
  });

  it.each(versions)('orders %j against every version of the table as semver does', (a) => {
    // Act
    const differing = versions.filter((b) => shim.gte(a, b) !== semver.gte(a, b));

    // Assess
    expect(differing).toEqual([]);
  });

  it.each(['', '1', '1.2', '1.2.3.4', '01.2.3', '1.2.3-', '1.2.3-01', 'x.y.z', '=1.2.3', 'vv1.2.3'])('refuses %j as semver does', (bad) => {
    // Act / Assess
    expect(() => semver.gte(bad, '1.0.0')).toThrow(TypeError);
    expect(() => shim.gte(bad, '1.0.0')).toThrow(TypeError);
    expect(() => shim.gte('1.0.0', bad)).toThrow(TypeError);
  });
});

/**
 * What a module takes from `semver`, by member name. `unreadable` when it names the package in any way
 * but these declarations (`x = require("semver")`, `{ a, b } = require("semver")`, `import x from`,
 * `import * as x from`, `import { a } from`), or uses a bound name other than as `x.member`.
 */
function semverUses(source: string): { members: string[]; unreadable: boolean } {
  const members: string[] = [];
  const bindings: string[] = [];
  const namesOf = (list: string) => list.split(',').map((name) => name.trim().split(/[\s:]/)[0] ?? '').filter(Boolean);
  // Declarations go, so what remains of each binding is its uses.
  const rest = source
    .replace(/(?:\b(?:var|let|const)\s+)?\{([^}]*)\}\s*=\s*require\(\s*["']semver["']\s*\)|\bimport\s*\{([^}]*)\}\s*from\s*["']semver["']/g, (_, required?: string, imported?: string) => {
      members.push(...namesOf(required ?? imported ?? ''));
      return '';
    })
    .replace(/([\w$]+)\s*=\s*require\(\s*["']semver["']\s*\)|\bimport\s+(?:\*\s+as\s+)?([\w$]+)\s+from\s*["']semver["']/g, (_, required?: string, imported?: string) => {
      bindings.push(required ?? imported ?? '');
      return '';
    });
  let unreadable = /["']semver["']/.test(rest) || (bindings.length === 0 && members.length === 0);
  for (const binding of bindings) {
    for (const use of rest.matchAll(new RegExp(`(?<![\\w$.])${binding.replaceAll('$', '\\$')}(?![\\w$])(?:\\s*\\.\\s*([\\w$]+))?`, 'g'))) {
      if (use[1]) members.push(use[1]);
      else unreadable = true;
    }
  }
  return { members, unreadable };
}

describe.each(functionNames)('bundle of %s', (name) => {
  it('imports nothing of semver but what the stand-in has', async () => {
    // Act: the deployed bundle's module graph (tracing on, the default, is the one with the X-Ray SDK)
    const result = await build({
      ...lambdaEsbuildOptions,
      define: bundleDefines({ tracing: true }),
      entryPoints: [path.join(projectRoot, functionSpecs[name].entry)],
      write: false,
      outdir: path.join(projectRoot, 'cdk.out', 'semver-check'),
      metafile: true,
    });

    // Assess
    const importers = Object.entries(result.metafile.inputs).filter(([, input]) => input.imports.some((use) => use.original === 'semver'));
    for (const [file] of importers) {
      const { members, unreadable } = semverUses(readFileSync(path.join(projectRoot, file), 'utf8'));
      expect(unreadable, `${file} uses semver in a way this check cannot read`).toBe(false);
      expect(members.filter((member) => !(member in shim)), `${file} uses more of semver than the stand-in has`).toEqual([]);
    }
    expect(Object.keys(result.metafile.inputs).filter((file) => file.includes('node_modules/semver/'))).toEqual([]);
  });
});

describe('the importer check', () => {
  it.each([
    ['var semver = require("semver"); if (!semver.gte(v, m)) throw e;', { members: ['gte'], unreadable: false }],
    ["const semver = require('semver'); semver.satisfies(v, r);", { members: ['satisfies'], unreadable: false }],
    ["const { gte, coerce: c } = require('semver');", { members: ['gte', 'coerce'], unreadable: false }],
    ["import semver from 'semver'; use(semver);", { members: [], unreadable: true }],
    ["import { parse } from 'semver';", { members: ['parse'], unreadable: false }],
    ["import semver, { gte } from 'semver'; semver.satisfies(v, r);", { members: [], unreadable: true }],
    ["const { gte } = require('semver'); require('semver').satisfies(v, r);", { members: ['gte'], unreadable: true }],
    ["var s = require('semver'); var t = s; t.satisfies(v, r);", { members: [], unreadable: true }],
  ])('reads %s', (source, expected) => {
    // Act / Assess
    expect(semverUses(source)).toEqual(expected);
  });
});
