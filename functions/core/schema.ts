/**
 * Request schemas, written once as JSON Schema and enforced by a small interpreter of the subset
 * they use, so the document clients read and the checks the handlers run cannot drift apart.
 */
import type { FieldError } from './problem.ts';

/** A JSON value that `enum` and `const` can name: compared with `===`. */
export type Primitive = string | number | boolean | null;

/** Formats the validator checks (JSON Schema treats `format` as an assertion here, as most validators do). */
export type Format = 'date-time';

/**
 * The JSON Schema (2020-12) subset this project uses. Every keyword here is enforced by
 * {@link validate}; `description`, `title` and `default` are annotations only.
 */
export interface Schema {
  readonly type?: 'object' | 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'null';
  readonly title?: string;
  readonly description?: string;
  readonly default?: Primitive;
  readonly enum?: readonly Primitive[];
  readonly const?: Primitive;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | Schema;
  readonly maxProperties?: number;
  /** Every property name of an object matches this (a string schema). */
  readonly propertyNames?: Schema;
  readonly items?: Schema;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: Format;
  readonly minimum?: number;
  readonly maximum?: number;
  /** The value matches exactly one of these. */
  readonly oneOf?: readonly Schema[];
  /** The value must not match this; `{ not: {} }` as a property's schema forbids the property. */
  readonly not?: Schema;
}

/** JSON type names as JSON Schema spells them. */
function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(expected: NonNullable<Schema['type']>, actual: string): boolean {
  return expected === actual || (expected === 'number' && actual === 'integer');
}

/** Escapes a property name for use in a JSON pointer (RFC 6901). */
export function pointerSegment(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** RFC 3339 `date-time`, as JSON Schema's `format` defines it; the calendar check is Date's. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

function formatMatches(format: Format, value: string): boolean {
  switch (format) {
    case 'date-time':
      return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value.toUpperCase()));
  }
}

function show(value: Primitive): string {
  return JSON.stringify(value);
}

/** Each pattern compiled once per container, not on every request that is checked against it. */
const patterns = new Map<string, RegExp>();

function compiled(pattern: string): RegExp {
  let regExp = patterns.get(pattern);
  if (!regExp) {
    regExp = new RegExp(pattern, 'u');
    patterns.set(pattern, regExp);
  }
  return regExp;
}

/** Validates `value` against `schema`; returns every violation with the JSON pointer of its field. */
export function validate(schema: Schema, value: unknown, at = ''): FieldError[] {
  const errors: FieldError[] = [];
  const actual = jsonType(value);
  if (schema.type && !typeMatches(schema.type, actual)) {
    return [{ field: at, message: `must be ${schema.type === 'integer' ? 'an integer' : `of type ${schema.type}`}, got ${actual}` }];
  }
  if (schema.const !== undefined && value !== schema.const) errors.push({ field: at, message: `must be ${show(schema.const)}` });
  if (schema.enum !== undefined && !schema.enum.some((allowed) => allowed === value))
    errors.push({ field: at, message: `must be one of ${schema.enum.map(show).join(', ')}` });
  if (typeof value === 'string') {
    // JSON Schema counts characters (code points), not UTF-16 units.
    const length = [...value].length;
    if (schema.minLength !== undefined && length < schema.minLength)
      errors.push({ field: at, message: `must be at least ${schema.minLength} character${schema.minLength === 1 ? '' : 's'} long` });
    if (schema.maxLength !== undefined && length > schema.maxLength)
      errors.push({ field: at, message: `must be at most ${schema.maxLength} characters long` });
    if (schema.pattern !== undefined && !compiled(schema.pattern).test(value))
      errors.push({ field: at, message: `must match ${schema.pattern}` });
    if (schema.format !== undefined && !formatMatches(schema.format, value)) errors.push({ field: at, message: `must be a ${schema.format}` });
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, index) => {
      errors.push(...validate(schema.items as Schema, item, `${at}/${index}`));
    });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum)
      errors.push({ field: at, message: `must be at least ${schema.minimum}` });
    if (schema.maximum !== undefined && value > schema.maximum)
      errors.push({ field: at, message: `must be at most ${schema.maximum}` });
  }
  if (actual === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record);
    for (const name of schema.required ?? []) {
      if (!(name in record)) errors.push({ field: `${at}/${pointerSegment(name)}`, message: 'is required' });
    }
    if (schema.maxProperties !== undefined && keys.length > schema.maxProperties)
      errors.push({ field: at, message: `must have at most ${schema.maxProperties} properties` });
    // Reported at the object: a pointer to a name that is too long would repeat all of it.
    const names = schema.propertyNames;
    if (names) for (const message of new Set(keys.flatMap((key) => validate(names, key, at).map((error) => error.message)))) errors.push({ field: at, message: `property names ${message}` });
    for (const key of keys) {
      const field = `${at}/${pointerSegment(key)}`;
      // Own properties only: a body key such as `__proto__` or `constructor` must not find Object's.
      const declared = schema.properties && Object.hasOwn(schema.properties, key) ? schema.properties[key] : undefined;
      if (declared) errors.push(...validate(declared, record[key], field));
      else if (schema.additionalProperties === false) errors.push({ field, message: 'is not a known property' });
      else if (typeof schema.additionalProperties === 'object')
        errors.push(...validate(schema.additionalProperties, record[key], field));
    }
  }
  if (schema.oneOf) {
    const matching = schema.oneOf.filter((variant) => validate(variant, value, at).length === 0).length;
    // Of the shapes a value of its type may take, when only one is left its own findings say more than that none matched.
    const ofItsType = schema.oneOf.filter((variant) => variant.type === undefined || typeMatches(variant.type, actual));
    if (matching === 0 && ofItsType.length === 1 && ofItsType[0]) errors.push(...validate(ofItsType[0], value, at));
    else if (matching !== 1) errors.push({ field: at, message: matching === 0 ? 'matches none of the allowed shapes' : 'matches more than one of the allowed shapes' });
  }
  if (schema.not && validate(schema.not, value, at).length === 0) errors.push({ field: at, message: 'is not allowed here' });
  return errors;
}

/** Nesting depth of a JSON value, computed without recursion so a hostile body cannot overflow the stack. */
export function jsonDepth(value: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object') continue;
    deepest = Math.max(deepest, depth);
    for (const child of Object.values(current)) stack.push([child, depth + 1]);
  }
  return deepest;
}
