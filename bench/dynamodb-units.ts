/**
 * DynamoDB on-demand bills a write request unit per KB written to the table, and again for every
 * global secondary index the write touches. Counting requests is not enough to price a job, so this
 * replays the recorded write requests item by item and applies the billing rules:
 * - table: one unit per started KB of the larger of the item before and after (at least one, even
 *   when the condition fails);
 * - each GSI: nothing when the item is in the index neither before nor after; one write when it
 *   enters or leaves it; two (a delete and a put) when an index key changes; one when a projected
 *   attribute changes (any attribute for `ALL`, the listed ones for `INCLUDE`).
 * Sizes are DynamoDB's: attribute name bytes plus value bytes.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { RecordedRequest } from './request-log.ts';

/** What the bill needs to know about an index. */
export interface IndexShape {
  readonly name: string;
  readonly keys: readonly string[];
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly nonKeyAttributes: readonly string[];
}

/** Write request units, for the table and per index. */
export interface WriteUnits {
  readonly writes: number;
  readonly failedWrites: number;
  readonly table: number;
  readonly indexes: Readonly<Record<string, number>>;
  /** Largest item seen, in bytes. */
  readonly maxItemBytes: number;
}

/** An attribute's size and a value to compare by: two SETs of the same value do not change a key. */
interface Attribute {
  readonly bytes: number;
  readonly value: string;
}

type ItemState = Map<string, Attribute>;

/** DynamoDB's size of an attribute value. */
export function valueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(value.N.replace(/^[-0.]+|[.]/g, '').length / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  // Lists, maps and sets: close enough for a bill (3 bytes of overhead plus their contents).
  return 3 + Buffer.byteLength(JSON.stringify(value));
}

function attribute(name: string, value: AttributeValue): Attribute {
  return { bytes: Buffer.byteLength(name) + valueBytes(value), value: JSON.stringify(value) };
}

function itemBytes(item: ItemState): number {
  let bytes = 0;
  for (const { bytes: size } of item.values()) bytes += size;
  return bytes;
}

/** Splits on commas outside parentheses: `a = :a, b = if_not_exists(b, :z)`. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      parts.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) parts.push(current.trim());
  return parts;
}

/** The top-level attribute a document path starts with, with `#names` resolved. */
function topAttribute(path: string, names: Readonly<Record<string, string>>): string {
  const first = path.trim().split(/[.[\s]/)[0] ?? '';
  return first.startsWith('#') ? (names[first] ?? first) : first;
}

interface UpdateInput {
  readonly UpdateExpression?: string;
  readonly ExpressionAttributeNames?: Record<string, string>;
  readonly ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/** Applies an UpdateExpression to `item`: SET, REMOVE, ADD and DELETE clauses, in any order. */
function applyUpdate(item: ItemState, input: UpdateInput): void {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const clauses = (input.UpdateExpression ?? '').split(/\b(SET|REMOVE|ADD|DELETE)\b/i);
  for (let i = 1; i < clauses.length; i += 2) {
    const keyword = (clauses[i] ?? '').toUpperCase();
    for (const action of splitTopLevel(clauses[i + 1] ?? '')) {
      if (keyword === 'REMOVE') {
        item.delete(topAttribute(action, names));
        continue;
      }
      const [path, operand] = keyword === 'SET' ? action.split(/=(.*)/s) : action.split(/\s+(.*)/s);
      const name = topAttribute(path ?? '', names);
      const expression = (operand ?? '').trim();
      const value = values[expression];
      const previous = item.get(name);
      if (value && keyword === 'SET') item.set(name, attribute(name, value));
      else {
        // Arithmetic, ADD, DELETE, list_append, if_not_exists: a change of unknown value.
        const operandBytes = Object.entries(values)
          .filter(([placeholder]) => expression.includes(placeholder))
          .reduce((sum, [, operandValue]) => sum + valueBytes(operandValue), 0);
        const bytes = Math.max(previous?.bytes ?? 0, Buffer.byteLength(name) + operandBytes);
        item.set(name, { bytes, value: `${previous?.value ?? ''}|${keyword} ${expression}` });
      }
    }
  }
}

function stateOf(item: Record<string, AttributeValue>): ItemState {
  return new Map(Object.entries(item).map(([name, value]) => [name, attribute(name, value)]));
}

function indexWrites(index: IndexShape, before: ItemState, after: ItemState): number {
  const inBefore = index.keys.every((key) => before.has(key));
  const inAfter = index.keys.every((key) => after.has(key));
  if (!inBefore && !inAfter) return 0;
  if (inBefore !== inAfter) return 1;
  if (index.keys.some((key) => before.get(key)?.value !== after.get(key)?.value)) return 2;
  const names = new Set([...before.keys(), ...after.keys()]);
  const projected = [...names].filter((name) => {
    if (index.projection === 'ALL') return true;
    return index.projection === 'INCLUDE' && index.nonKeyAttributes.includes(name);
  });
  return projected.some((name) => before.get(name)?.value !== after.get(name)?.value) ? 1 : 0;
}

const KB = 1024;

/** Replays the write requests (in arrival order) of the table with primary key `keyName`. */
export function writeUnits(requests: readonly RecordedRequest[], keyName: string, indexes: readonly IndexShape[]): WriteUnits {
  const items = new Map<string, ItemState>();
  const byIndex: Record<string, number> = Object.fromEntries(indexes.map((index) => [index.name, 0]));
  let table = 0;
  let writes = 0;
  let failedWrites = 0;
  let maxItemBytes = 0;
  for (const request of requests) {
    if (request.service !== 'dynamodb' || !['PutItem', 'UpdateItem', 'DeleteItem'].includes(request.operation)) continue;
    const input = JSON.parse(request.requestBody || '{}') as UpdateInput & {
      Item?: Record<string, AttributeValue>;
      Key?: Record<string, AttributeValue>;
    };
    const keyValue = (input.Item ?? input.Key)?.[keyName];
    const id = keyValue ? JSON.stringify(keyValue) : '';
    const before: ItemState = items.get(id) ?? new Map();
    let after: ItemState;
    if (request.operation === 'PutItem') after = stateOf(input.Item ?? {});
    else if (request.operation === 'DeleteItem') after = new Map();
    else {
      after = new Map(before);
      if (before.size === 0 && input.Key) for (const [name, value] of Object.entries(input.Key)) after.set(name, attribute(name, value));
      applyUpdate(after, input);
    }
    writes++;
    const size = Math.max(itemBytes(before), itemBytes(after));
    maxItemBytes = Math.max(maxItemBytes, size);
    table += Math.max(1, Math.ceil(size / KB));
    if (request.status !== undefined && request.status !== 200) {
      failedWrites++;
      continue;
    }
    const indexUnits = Math.max(1, Math.ceil(size / KB));
    for (const index of indexes) {
      const units = indexWrites(index, before, after) * (index.projection === 'ALL' ? indexUnits : 1);
      byIndex[index.name] = (byIndex[index.name] ?? 0) + units;
    }
    items.set(id, after);
  }
  return { writes, failedWrites, table, indexes: byIndex, maxItemBytes };
}
