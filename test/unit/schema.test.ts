import { describe, expect, it } from 'vitest';
import type { FieldError } from '#core/problem';
import { jsonDepth, type Schema, validate } from '#core/schema';
import { submitSchema } from '#core/submit';
import { jobs, queue } from '#infra/config';

const MAX_TIMEOUT = 117;
const LIMITS = {
  maxDelaySeconds: queue.maxDelaySeconds,
  retryAfterSeconds: 1,
  defaultTimeoutSeconds: jobs.defaultTimeoutSeconds,
  maxTimeoutSeconds: MAX_TIMEOUT,
};
const schema = submitSchema(LIMITS);

const metadataOf = (count: number): Record<string, string> =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`k${index}`, 'v']));

describe('submit body schema', () => {
  it.each<[string, unknown]>([
    ['only a type', { type: 'echo' }],
    ['every field', { type: 'sleep', input: { seconds: 1 }, delaySeconds: 30, timeoutSeconds: 10, metadata: { team: 'a' } }],
    ['a type with digits and dashes', { type: 'resize-image-2' }],
    ['a 64-character type', { type: 'a'.repeat(64) }],
    ['null input', { type: 'echo', input: null }],
    ['an array input', { type: 'echo', input: [1, 'two', { three: 3 }] }],
    ['a string input', { type: 'echo', input: 'hello' }],
    ['delaySeconds 0', { type: 'echo', delaySeconds: 0 }],
    ['delaySeconds at the SQS maximum', { type: 'echo', delaySeconds: queue.maxDelaySeconds }],
    ['delaySeconds written as 5.0', JSON.parse('{"type":"echo","delaySeconds":5.0}')],
    ['a 1-second timeout', { type: 'echo', timeoutSeconds: 1 }],
    ['the longest timeout the worker allows', { type: 'echo', timeoutSeconds: MAX_TIMEOUT }],
    ['16 metadata entries', { type: 'echo', metadata: metadataOf(16) }],
    ['a 256-character metadata value', { type: 'echo', metadata: { note: 'x'.repeat(256) } }],
    ['a 128-character metadata name', { type: 'echo', metadata: { ['n'.repeat(128)]: 'x' } }],
    ['empty metadata', { type: 'echo', metadata: {} }],
  ])('accepts %s', (_, body) => {
    // Act
    const errors = validate(schema, body);

    // Assess
    expect(errors).toEqual([]);
  });

  it.each<[string, unknown, FieldError[]]>([
    ['a missing type', {}, [{ field: '/type', message: 'is required' }]],
    ['a missing type next to input', { input: 1 }, [{ field: '/type', message: 'is required' }]],
    ['a null body', null, [{ field: '', message: 'must be of type object, got null' }]],
    ['an array body', [{ type: 'echo' }], [{ field: '', message: 'must be of type object, got array' }]],
    ['a string body', 'echo', [{ field: '', message: 'must be of type object, got string' }]],
    ['a numeric type', { type: 42 }, [{ field: '/type', message: 'must be of type string, got integer' }]],
    ['a null type', { type: null }, [{ field: '/type', message: 'must be of type string, got null' }]],
    ['an object type', { type: { name: 'echo' } }, [{ field: '/type', message: 'must be of type string, got object' }]],
    [
      'an empty type',
      { type: '' },
      [
        { field: '/type', message: 'must be at least 1 character long' },
        { field: '/type', message: 'must match ^[a-z][a-z0-9-]*$' },
      ],
    ],
    ['a 65-character type', { type: 'a'.repeat(65) }, [{ field: '/type', message: 'must be at most 64 characters long' }]],
    ['an upper-case type', { type: 'Echo' }, [{ field: '/type', message: 'must match ^[a-z][a-z0-9-]*$' }]],
    ['a type starting with a digit', { type: '9lives' }, [{ field: '/type', message: 'must match ^[a-z][a-z0-9-]*$' }]],
    ['a type with an underscore', { type: 'snake_case' }, [{ field: '/type', message: 'must match ^[a-z][a-z0-9-]*$' }]],
    ['a type with a space', { type: 'echo ' }, [{ field: '/type', message: 'must match ^[a-z][a-z0-9-]*$' }]],
    ['a negative delay', { type: 'echo', delaySeconds: -1 }, [{ field: '/delaySeconds', message: 'must be at least 0' }]],
    ['a delay over 900 s', { type: 'echo', delaySeconds: 901 }, [{ field: '/delaySeconds', message: 'must be at most 900' }]],
    ['a fractional delay', { type: 'echo', delaySeconds: 1.5 }, [{ field: '/delaySeconds', message: 'must be an integer, got number' }]],
    ['a delay as a string', { type: 'echo', delaySeconds: '5' }, [{ field: '/delaySeconds', message: 'must be an integer, got string' }]],
    ['a null delay', { type: 'echo', delaySeconds: null }, [{ field: '/delaySeconds', message: 'must be an integer, got null' }]],
    ['a zero timeout', { type: 'echo', timeoutSeconds: 0 }, [{ field: '/timeoutSeconds', message: 'must be at least 1' }]],
    [
      'a timeout longer than the worker allows',
      { type: 'echo', timeoutSeconds: MAX_TIMEOUT + 1 },
      [{ field: '/timeoutSeconds', message: `must be at most ${MAX_TIMEOUT}` }],
    ],
    ['a fractional timeout', { type: 'echo', timeoutSeconds: 0.5 }, [{ field: '/timeoutSeconds', message: 'must be an integer, got number' }]],
    ['metadata as an array', { type: 'echo', metadata: ['a'] }, [{ field: '/metadata', message: 'must be of type object, got array' }]],
    ['17 metadata entries', { type: 'echo', metadata: metadataOf(17) }, [{ field: '/metadata', message: 'must have at most 16 properties' }]],
    ['a metadata name of 129 characters', { type: 'echo', metadata: { ['n'.repeat(129)]: 'x' } }, [{ field: '/metadata', message: 'property names must be at most 128 characters long' }]],
    ['an empty metadata name', { type: 'echo', metadata: { '': 'x' } }, [{ field: '/metadata', message: 'property names must be at least 1 character long' }]],
    [
      'a 257-character metadata value',
      { type: 'echo', metadata: { note: 'x'.repeat(257) } },
      [{ field: '/metadata/note', message: 'must be at most 256 characters long' }],
    ],
    ['a numeric metadata value', { type: 'echo', metadata: { n: 1 } }, [{ field: '/metadata/n', message: 'must be of type string, got integer' }]],
    ['a nested metadata value', { type: 'echo', metadata: { n: { deep: 'x' } } }, [{ field: '/metadata/n', message: 'must be of type string, got object' }]],
    ['an unknown property', { type: 'echo', priority: 'high' }, [{ field: '/priority', message: 'is not a known property' }]],
    [
      'several faults at once',
      { type: 1, delaySeconds: -5, extra: true },
      [
        { field: '/type', message: 'must be of type string, got integer' },
        { field: '/delaySeconds', message: 'must be at least 0' },
        { field: '/extra', message: 'is not a known property' },
      ],
    ],
  ])('refuses %s', (_, body, expected) => {
    // Act
    const errors = validate(schema, body);

    // Assess
    expect(errors).toEqual(expected);
  });

  it('takes the delay and timeout limits from its configuration', () => {
    // Prepare
    const strict = submitSchema({ ...LIMITS, maxDelaySeconds: 60, maxTimeoutSeconds: 30 });

    // Act
    const errors = validate(strict, { type: 'echo', delaySeconds: 61, timeoutSeconds: 31 });

    // Assess
    expect(errors).toEqual([
      { field: '/delaySeconds', message: 'must be at most 60' },
      { field: '/timeoutSeconds', message: 'must be at most 30' },
    ]);
  });
});

describe('JSON pointers in field errors (RFC 6901)', () => {
  it.each<[string, string]>([
    ['a/b', '/a~1b'],
    ['x~y', '/x~0y'],
    // '~' is escaped before '/', so '~1' in a name stays distinguishable from an escaped '/'.
    ['~1', '/~01'],
    ['a~/b', '/a~0~1b'],
    ['', '/'],
  ])('names the unknown property %j as %s', (name, pointer) => {
    // Act
    const errors = validate(schema, { type: 'echo', [name]: true });

    // Assess
    expect(errors).toEqual([{ field: pointer, message: 'is not a known property' }]);
  });

  it('escapes each segment of a nested pointer', () => {
    // Act
    const errors = validate(schema, { type: 'echo', metadata: { 'team/a~b': 7 } });

    // Assess
    expect(errors).toEqual([{ field: '/metadata/team~1a~0b', message: 'must be of type string, got integer' }]);
  });
});

describe('property names inherited from Object.prototype', () => {
  it.each(['constructor', 'toString', 'hasOwnProperty', '__proto__'])('are unknown properties too: %s', (name) => {
    // Prepare: JSON.parse makes even "__proto__" an own property, as a request body would.
    const body: unknown = JSON.parse(`{"type":"echo",${JSON.stringify(name)}:{}}`);

    // Act
    const errors = validate(schema, body);

    // Assess
    expect(errors).toEqual([{ field: `/${name}`, message: 'is not a known property' }]);
  });
});

describe('jsonDepth', () => {
  /** An array nested `depth` levels deep. */
  const nested = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let level = 0; level < depth; level += 1) value = [value];
    return value;
  };

  it.each<[string, unknown, number]>([
    ['a string', 'x', 0],
    ['null', null, 0],
    ['an empty object', {}, 1],
    ['an empty array', [], 1],
    ['a flat object', { a: 1, b: 'two' }, 1],
    ['an object in an array', [{ a: 1 }], 2],
    ['the deepest of several branches', { a: { b: { c: {} } }, d: [1] }, 4],
  ])('measures %s as %i', (_, value, depth) => {
    // Act / Assess
    expect(jsonDepth(value)).toBe(depth);
  });

  it('measures a hostile 100 000-level value without overflowing the stack', () => {
    // Act
    const depth = jsonDepth(nested(100_000));

    // Assess
    expect(depth).toBe(100_000);
  });
});

describe('oneOf', () => {
  const nullOrCounts: Schema = {
    oneOf: [{ type: 'null' }, { type: 'object', properties: { count: { type: 'integer', minimum: 0 } } }],
  };

  it.each<[string, unknown, FieldError[]]>([
    ['a value of the one shape', { count: 2 }, []],
    ['a value of the other', null, []],
    ['a bad value of the only shape of its type: that shape’s findings', { count: -1 }, [{ field: '/input/count', message: 'must be at least 0' }]],
    ['a value of no shape’s type', 'many', [{ field: '/input', message: 'matches none of the allowed shapes' }]],
  ])('judges %s', (_, value, expected) => {
    // Act
    const errors = validate(nullOrCounts, value, '/input');

    // Assess
    expect(errors).toEqual(expected);
  });

  it('says so when a value matches more than one shape', () => {
    // Act
    const errors = validate({ oneOf: [{ type: 'number' }, { minimum: 0 }] }, 3);

    // Assess
    expect(errors).toEqual([{ field: '', message: 'matches more than one of the allowed shapes' }]);
  });
});
