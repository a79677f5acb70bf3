/** `JobStore` on DynamoDB: one item per job, every change a single-item conditional write. */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { JobRecord, JobStatus, Progress } from '#core/job';
import type { JobStore, TransitionChanges } from '#core/ports';
import { assertTransition } from '#core/state-machine';

type Item = Record<string, AttributeValue>;

/** Attributes stored as JSON text: arbitrary JSON round-trips exactly, and the item stays flat. */
const JSON_FIELDS = ['input', 'metadata', 'result', 'error', 'progress'] as const;
const STRING_FIELDS = ['id', 'owner', 'type', 'status', 'createdAt', 'updatedAt', 'startedAt', 'finishedAt', 'eventId', 'publishedAt'] as const;
const NUMBER_FIELDS = ['attempts', 'delaySeconds', 'expiresAt'] as const;

/** Record to item. */
export function toItem(job: JobRecord): Item {
  const item: Item = {};
  const fields = job as unknown as Record<string, unknown>;
  for (const name of STRING_FIELDS) if (fields[name] !== undefined) item[name] = { S: String(fields[name]) };
  for (const name of NUMBER_FIELDS) if (fields[name] !== undefined) item[name] = { N: String(fields[name]) };
  for (const name of JSON_FIELDS) if (name in fields && fields[name] !== undefined) item[name] = { S: JSON.stringify(fields[name]) };
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

/** The DynamoDB job store. */
export class DynamoJobStore implements JobStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async create(job: JobRecord): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.tableName, Item: toItem(job), ConditionExpression: 'attribute_not_exists(id)' }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const { Item } = await this.client.send(new GetItemCommand({ TableName: this.tableName, Key: { id: { S: id } }, ConsistentRead: true }));
    return Item ? fromItem(Item) : undefined;
  }

  async transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges): Promise<JobRecord | undefined> {
    assertTransition(from, to);
    const { countAttempt, ...fields } = changes;
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
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: { S: id } },
          UpdateExpression: update,
          ConditionExpression: '#status = :from',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? fromItem(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async reportProgress(id: string, progress: Progress, at: string): Promise<boolean> {
    return this.conditionalUpdate(id, 'SET progress = :progress, updatedAt = :at', '#status = :running', {
      ':progress': { S: JSON.stringify(progress) },
      ':at': { S: at },
      ':running': { S: 'RUNNING' },
    });
  }

  async markPublished(id: string, eventId: string, at: string): Promise<void> {
    await this.conditionalUpdate(id, 'SET publishedAt = :at', 'eventId = :eventId', {
      ':at': { S: at },
      ':eventId': { S: eventId },
    });
  }

  async discard(id: string, status: JobStatus): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { id: { S: id } },
          ConditionExpression: '#status = :status',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':status': { S: status } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async conditionalUpdate(id: string, update: string, condition: string, values: Item): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { id: { S: id } },
          UpdateExpression: update,
          ConditionExpression: condition,
          ...(condition.includes('#status') && { ExpressionAttributeNames: { '#status': 'status' } }),
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
