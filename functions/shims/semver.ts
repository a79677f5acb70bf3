/**
 * What the bundles need of `semver`, in place of the whole package (28 KB minified, about 3.5 ms of
 * every traced cold start). Its only importer in any bundle is the X-Ray SDK's AWS SDK v2 patcher,
 * which calls `gte` when asked to patch a v2 client, something these functions never do.
 * `test/infra/semver-shim.test.ts` checks `gte` against the package over a table of versions, and
 * that every bundled importer uses nothing else.
 */

/** `major.minor.patch`, an optional pre-release and build metadata, as semver's strict parser reads them (a `v` may lead). */
const VERSION =
  /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/;

interface Parsed {
  readonly release: readonly [number, number, number];
  readonly prerelease: readonly string[];
}

function parse(version: unknown): Parsed {
  const match = typeof version === 'string' ? VERSION.exec(version.trim()) : null;
  if (!match) throw new TypeError(`Invalid Version: ${String(version)}`);
  return { release: [Number(match[1]), Number(match[2]), Number(match[3])], prerelease: match[4]?.split('.') ?? [] };
}

/** Semver's order of two pre-release identifiers: numeric ones by value and below alphanumeric ones, those in ASCII order. */
function compareIdentifiers(a: string, b: string): number {
  const numericA = /^\d+$/.test(a);
  const numericB = /^\d+$/.test(b);
  if (numericA && numericB) return Math.sign(Number(a) - Number(b));
  if (numericA !== numericB) return numericA ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function compare(a: Parsed, b: Parsed): number {
  for (let i = 0; i < 3; i++) {
    const order = Math.sign((a.release[i] ?? 0) - (b.release[i] ?? 0));
    if (order !== 0) return order;
  }
  // A pre-release sorts below its release; between two, the first differing identifier decides, then the longer.
  if (a.prerelease.length === 0 || b.prerelease.length === 0) return Math.sign(b.prerelease.length - a.prerelease.length);
  for (let i = 0; i < Math.min(a.prerelease.length, b.prerelease.length); i++) {
    const order = compareIdentifiers(a.prerelease[i] ?? '', b.prerelease[i] ?? '');
    if (order !== 0) return order;
  }
  return Math.sign(a.prerelease.length - b.prerelease.length);
}

/**
 * Whether version `a` is at or above `b`; throws semver's `TypeError` for what is not a version. Strict
 * parsing only: semver's `loose` and `includePrerelease` options are refused, not ignored.
 */
export function gte(a: unknown, b: unknown, options?: unknown): boolean {
  if (options) throw new TypeError('the semver stand-in (functions/shims/semver.ts) takes no options');
  return compare(parse(a), parse(b)) >= 0;
}
