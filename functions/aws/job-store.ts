/** `JobStore` on DynamoDB: one item per job, every change a single-item conditional write. */
import {
  type AttributeValue,
  BatchGetItemCommand,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { JobRecord, JobStatus, Progress } from '#core/job';
import { type JobPage, type JobStore, LIST_KEY_FIELDS, type ListKey, type SweepGuard, type TransitionChanges, type TransitionGuard } from '#core/ports';
import { assertTransition } from '#core/state-machine';
import type { WebhookState } from '#core/webhooks';

type Item = Record<string, AttributeValue>;

/** Attributes stored as JSON text: arbitrary JSON round-trips exactly, and the item stays flat. */
const JSON_FIELDS = ['input', 'metadata', 'result', 'error', 'progress', 'lastError', 'webhook'] as const;
const STRING_FIELDS = [
  'id',
  'owner',
  'type',
  'status',
  'requestHash',
  'callbackUrl',
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
  'eventId',
  'publishedAt',
  'cancelRequestedAt',
  'sweepAt',
  'sweepShard',
  'runId',
  'retryAt',
] as const;
const NUMBER_FIELDS = ['attempts', 'delaySeconds', 'timeoutSeconds', 'expiresAt', 'runDeadline'] as const;

/** Record to item. */
export function toItem(job: JobRecord): Item {
  const item: Item = {};
  const fields = job as unknown as Record<string, unknown>;
  for (const name of STRING_FIELDS) if (fields[name] !== undefined) item[name] = { S: String(fields[name]) };
  for (const name of NUMBER_FIELDS) if (fields[name] !== undefined) item[name] = { N: String(fields[name]) };
  for (const name of JSON_FIELDS) if (fields[name] !== undefined) item[name] = { S: JSON.stringify(fields[name]) };
  return item;
}

/** Item to record. */
export function fromItem(item: Item): JobRecord {
  const fields: Record<string, unknown> = {};
  for (const name of STRING_FIELDS) if (item[name]?.S !== undefined) fields[name] = item[name].S;
  for (const name of NUMBER_FIELDS) if (item[name]?.N !== undefined) fields[name] = Number(item[name].N);
  for (const name of JSON_FIELDS) if (item[name]?.S !== undefined) fields[name] = JSON.parse(item[name].S);
  return fields as unknown as JobRecord;
}

function attributeFor(name: string, value: unknown): AttributeValue {
  if ((JSON_FIELDS as readonly string[]).includes(name)) return { S: JSON.stringify(value) };
  if ((NUMBER_FIELDS as readonly string[]).includes(name)) return { N: String(value) };
  return { S: String(value) };
}

/** How many records a list page reads first, to learn their size, when it is bounded in bytes. */
const FIRST_LIST_READ = 10;

/** About what DynamoDB counts of an item's size: each attribute's name and value, strings in UTF-8. */
function itemBytes(item: Item): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) bytes += name.length + (value.S !== undefined ? Buffer.byteLength(value.S) : (value.N ?? '').length + 1);
  return bytes;
}

/** A write refused by its condition (the SDK's ConditionalCheckFailedException, told by its name). */
function isConditionFailure(error: unknown): boolean {
  return (error as Error | undefined)?.name === 'ConditionalCheckFailedException';
}

/**
 * A job's item, by its id: reading it, recording a webhook delivery, and the conditional update every
 * write makes. All that reading a job and delivering webhooks need: their bundles leave out the rest of the store.
 */
export class DynamoJobItems {
  constructor(
    protected readonly client: DynamoDBClient,
    protected readonly tableName: string,
  ) {}

  async get(id: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  async recordWebhook(id: string, state: WebhookState): Promise<void> {
    await this.conditionalUpdate(id, 'SET webhook = :webhook', 'attribute_exists(id)', { ':webhook': { S: JSON.stringify(state) } });
  }

  /**
   * The update when `condition` held, else false; with `ALL_NEW`, the item as the update left it.
   * `names` are the expressions' attribute names (by default `#status`, where they use it).
   */
  protected async conditionalUpdate(id: string, update: string, condition: string, values: Item): Promise<boolean>;
  protected async conditionalUpdate(id: string, update: string, condition: string, values: Item, returnValues: 'ALL_NEW', names?: Record<string, string>): Promise<Item | undefined>;
  protected async conditionalUpdate(
    id: string,
    update: string,
    condition: string,
    values: Item,
    returnValues?: 'ALL_NEW',
    names: Record<string, string> | undefined = condition.includes('#status') ? { '#status': 'status' } : undefined,
  ): Promise<boolean | Item | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: { S: id } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(names && { ExpressionAttributeNames: names }),
          ExpressionAttributeValues: values,
          ReturnValues: returnValues,
        }),
      );
      return returnValues ? Attributes : true;
    } catch (error) {
      if (isConditionFailure(error)) return returnValues ? undefined : false;
      throw error;
    }
  }
}

/** The DynamoDB job store. */
export class DynamoJobStore extends DynamoJobItems implements JobStore {
  constructor(
    client: DynamoDBClient,
    tableName: string,
    private readonly indexes: { readonly owner: string; readonly sweep: string },
  ) {
    super(client, tableName);
  }

  async create(job: JobRecord, now: Date): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: toItem(job),
          // An expired record is gone to its owner: an idempotency key may create its job again.
          ConditionExpression: 'attribute_not_exists(id) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': { N: String(Math.floor(now.getTime() / 1000)) } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges, guard: TransitionGuard = {}): Promise<JobRecord | undefined> {
    assertTransition(from, to);
    const { countAttempt, clear = [], ...fields } = changes;
    const names: Record<string, string> = { '#status': 'status', '#updatedAt': 'updatedAt' };
    const values: Item = { ':from': { S: from }, ':to': { S: to }, ':now': { S: new Date().toISOString() } };
    const sets = ['#status = :to', '#updatedAt = :now'];
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${name}`] = name;
      values[`:${name}`] = attributeFor(name, value);
      sets.push(`#${name} = :${name}`);
    }
    let update = `SET ${sets.join(', ')}`;
    if (countAttempt) {
      names['#attempts'] = 'attempts';
      values[':one'] = { N: '1' };
      update += ' ADD #attempts :one';
    }
    if (clear.length > 0) {
      for (const name of clear) names[`#${name}`] = name;
      update += ` REMOVE ${clear.map((name) => `#${name}`).join(', ')}`;
    }
    let condition = '#status = :from';
    if (guard.runDeadline !== undefined) {
      names['#runDeadline'] = 'runDeadline';
      values[':deadline'] = { N: String(guard.runDeadline) };
      condition += ' AND #runDeadline = :deadline';
    }
    if (guard.cancelRequested === false) {
      names['#cancelRequestedAt'] = 'cancelRequestedAt';
      condition += ' AND attribute_not_exists(#cancelRequestedAt)';
    }
    if (guard.retryDueBy !== undefined) {
      names['#retryAt'] = 'retryAt';
      values[':retryDueBy'] = { S: guard.retryDueBy };
      condition += ' AND (attribute_not_exists(#retryAt) OR #retryAt <= :retryDueBy)';
    }
    const item = await this.conditionalUpdate(id, update, condition, values, 'ALL_NEW', names);
    return item ? fromItem(item) : undefined;
  }

  reportProgress(id: string, progress: Progress, at: string): Promise<boolean> {
    return this.conditionalUpdate(id, 'SET progress = :progress, updatedAt = :at', '#status = :running', {
      ':progress': { S: JSON.stringify(progress) },
      ':at': { S: at },
      ':running': { S: 'RUNNING' },
    });
  }

  async requestCancel(id: string, at: string): Promise<JobRecord | undefined> {
    const values = { ':at': { S: at }, ':running': { S: 'RUNNING' } };
    const written = await this.conditionalUpdate(id, 'SET cancelRequestedAt = :at, updatedAt = :at', '#status = :running', values, 'ALL_NEW');
    return written && fromItem(written);
  }

  async isCancelRequested(id: string, signal?: AbortSignal): Promise<boolean> {
    const { Item } = await this.client.send(
      new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true, ProjectionExpression: 'cancelRequestedAt' }),
      { ...(signal && { abortSignal: signal }) },
    );
    return Item?.cancelRequestedAt !== undefined;
  }

  async markPublished(id: string, eventId: string, at: string): Promise<void> {
    await this.conditionalUpdate(id, 'SET publishedAt = :at REMOVE sweepAt, sweepShard', 'eventId = :eventId', {
      ':at': { S: at },
      ':eventId': { S: eventId },
    });
  }

  async discard(id: string, status: JobStatus): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { id: { S: id } },
          ConditionExpression: '#status = :status AND attempts = :zero',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': { S: status }, ':zero': { N: '0' } },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * The owner index holds keys only, so that the writes of a job's life never touch it after the
   * create (each write to an indexed attribute would cost an index write too); a page reads its items
   * with one consistent BatchGetItem.
   */
  async list(owner: string, query: { limit: number; status?: JobStatus; after?: ListKey; now: Date; maxBytes?: number }): Promise<JobPage> {
    const { Items: keys = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: this.indexes.owner,
        KeyConditionExpression: '#owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner' },
        ExpressionAttributeValues: { ':owner': { S: owner } },
        ScanIndexForward: false,
        Limit: query.limit,
        ...(query.after && { ExclusiveStartKey: Object.fromEntries(Object.entries(query.after).map(([name, value]) => [name, { S: value }])) }),
      }),
    );
    // The index holds keys only: the records are read by key, newest first, a few at first; then, from their
    // size, as many more as the page's bytes leave room for. Records a page cannot carry are not read (each
    // costs a read unit per 4 KB), at the price of a second read for a page of small ones.
    const byId = new Map<string, JobRecord>();
    let read = 0;
    let bytes = 0;
    while (read < keys.length) {
      const room = query.maxBytes === undefined || read === 0 ? undefined : Math.floor((query.maxBytes - bytes) / Math.max(1, bytes / read));
      const count = read === 0 && query.maxBytes !== undefined ? FIRST_LIST_READ : Math.max(1, Math.min(keys.length - read, room ?? keys.length));
      for (const item of await this.readAll(keys.slice(read, read + count).map((key) => ({ id: key.id as AttributeValue })))) {
        const job = fromItem(item);
        byId.set(job.id, job);
        bytes += itemBytes(item);
      }
      read = Math.min(keys.length, read + count);
      if (query.maxBytes !== undefined && bytes >= query.maxBytes) break;
    }
    const nowSeconds = Math.floor(query.now.getTime() / 1000);
    const jobs = keys
      .slice(0, read)
      .map((key) => byId.get(key.id?.S ?? ''))
      .filter((job): job is JobRecord => job !== undefined && job.owner === owner)
      .filter((job) => (!query.status || job.status === query.status) && !(job.expiresAt !== undefined && job.expiresAt <= nowSeconds));
    const last = read < keys.length ? keys[read - 1] : LastEvaluatedKey;
    const next = last && (Object.fromEntries(LIST_KEY_FIELDS.map((name) => [name, last[name]?.S ?? ''])) as ListKey);
    return { jobs, ...(next && { next }) };
  }

  /** The items of `keys`, strongly consistent, asking again for what a batch leaves unprocessed. */
  private async readAll(keys: { id: AttributeValue }[]): Promise<Item[]> {
    const items: Item[] = [];
    let pending = keys;
    // A batch answers up to 16 MB (dynalite: about 1 MB) and leaves the rest unprocessed: ask again at
    // once while it makes progress; back off when it returns nothing (throttled), and give up after a few.
    for (let idle = 0; pending.length > 0; ) {
      const { Responses = {}, UnprocessedKeys = {} } = await this.client.send(
        new BatchGetItemCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      const answered = Responses[this.tableName] ?? [];
      items.push(...answered);
      pending = (UnprocessedKeys[this.tableName]?.Keys ?? []) as { id: AttributeValue }[];
      if (pending.length === 0) break;
      idle = answered.length > 0 ? 0 : idle + 1;
      if (idle > 4) throw new Error('the table kept some keys of a list page unprocessed');
      if (idle > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** idle));
    }
    return items;
  }

  async dueForSweep(shard: string, now: Date, limit: number): Promise<JobRecord[]> {
    // A page holds at most 1 MB: nine entries of jobs with large inputs and results. Read on up to `limit`.
    const due: JobRecord[] = [];
    let start: Item | undefined;
    do {
      const { Items = [], LastEvaluatedKey }: { Items?: Item[]; LastEvaluatedKey?: Item } = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: this.indexes.sweep,
          KeyConditionExpression: 'sweepShard = :shard AND sweepAt <= :now',
          ExpressionAttributeValues: { ':shard': { S: shard }, ':now': { S: now.toISOString() } },
          Limit: limit - due.length,
          ...(start && { ExclusiveStartKey: start }),
        }),
      );
      due.push(...Items.map(fromItem));
      start = LastEvaluatedKey;
    } while (start && due.length < limit);
    return due;
  }

  scheduleSweep(id: string, status: JobStatus, sweepAt: string, shard: string, guard: SweepGuard = {}): Promise<boolean> {
    // Never back into the sweep once announced: it would have nothing left to do there.
    let condition = '#status = :status AND attribute_not_exists(publishedAt)';
    const values: Item = { ':sweepAt': { S: sweepAt }, ':shard': { S: shard }, ':status': { S: status } };
    if (guard.neverStarted) {
      condition += ' AND attempts = :zero';
      values[':zero'] = { N: '0' };
    }
    if (guard.seenSweepAt !== undefined) {
      condition += ' AND sweepAt = :seen';
      values[':seen'] = { S: guard.seenSweepAt };
    }
    if (guard.noEntry) condition += ' AND attribute_not_exists(sweepAt)';
    return this.conditionalUpdate(id, 'SET sweepAt = :sweepAt, sweepShard = :shard', condition, values);
  }
}
