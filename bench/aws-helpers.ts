/** What the bench reads and waits for through its own (uncounted) clients. */
import { type AttributeValue, BatchGetItemCommand, type BatchGetItemCommandOutput, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { BenchClients } from './clients.ts';
import type { IndexShape } from './dynamodb-units.ts';

export type Item = Record<string, AttributeValue>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until a queue holds no message, visible, in flight or delayed. */
export async function waitForEmptyQueue(sqs: SQSClient, queueUrl: string, timeoutMs: number, pollMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
      }),
    );
    const left = Object.values(Attributes).reduce((sum, value) => sum + Number(value), 0);
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`${queueUrl} still holds ${left} messages after ${timeoutMs} ms`);
    await sleep(pollMs);
  }
}

/** Creates a queue and returns its URL and ARN. */
export async function createQueue(sqs: SQSClient, name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for ${QueueUrl}`);
  return { url: QueueUrl, arn };
}

/** Reads items by id (strongly consistent), 100 per request. */
export async function readItems(clients: BenchClients, tableName: string, ids: readonly string[]): Promise<Map<string, Item>> {
  const items = new Map<string, Item>();
  for (let i = 0; i < ids.length; i += 100) {
    let keys: Item[] | undefined = ids.slice(i, i + 100).map((id) => ({ id: { S: id } }));
    while (keys && keys.length > 0) {
      const answer: BatchGetItemCommandOutput = await clients.dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      const { Responses, UnprocessedKeys } = answer;
      for (const item of Responses?.[tableName] ?? []) if (item.id?.S) items.set(item.id.S, item);
      keys = UnprocessedKeys?.[tableName]?.Keys;
    }
  }
  return items;
}

/** The table's GSIs as the bill sees them. */
export async function describeIndexes(clients: BenchClients, tableName: string): Promise<IndexShape[]> {
  const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  return (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
    name: index.IndexName ?? '',
    keys: (index.KeySchema ?? []).map((key) => key.AttributeName ?? ''),
    projection: index.Projection?.ProjectionType ?? 'ALL',
    nonKeyAttributes: index.Projection?.NonKeyAttributes ?? [],
  }));
}

/** One completion event as a subscriber received it. */
export interface ReceivedEvent {
  readonly eventId: string;
  readonly type: string;
  readonly jobId: string;
  /** `performance.now()` when the subscriber received it. */
  readonly receivedAt: number;
}

/**
 * A queue subscribed to the completion topic with raw delivery, like any subscriber of the stack,
 * drained by a few long-polling loops. Keeps the first event of each job and every distinct event id.
 */
export class EventSubscriber {
  private readonly byJob = new Map<string, ReceivedEvent>();
  private readonly eventIds = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly stopping = new AbortController();
  private loops: Promise<void>[] = [];
  /** Deliveries, duplicates included. */
  deliveries = 0;
  /** Errors of the receive loops, which keep going. */
  readonly errors: unknown[] = [];

  private constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  static async start(clients: BenchClients, topicArn: string, queueName: string, loops = 4): Promise<EventSubscriber> {
    const queue = await createQueue(clients.sqs, queueName);
    await clients.sns.send(
      new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queue.arn, Attributes: { RawMessageDelivery: 'true' } }),
    );
    const subscriber = new EventSubscriber(clients.sqs, queue.url);
    subscriber.loops = Array.from({ length: loops }, () => subscriber.poll());
    return subscriber;
  }

  private async poll(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        const { Messages = [] } = await this.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
          { abortSignal: this.stopping.signal },
        );
        const receivedAt = performance.now();
        for (const message of Messages) this.take(message.Body ?? '', receivedAt);
        if (Messages.length > 0) {
          for (const listener of this.listeners) listener();
          await this.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: this.queueUrl,
              Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
            }),
          );
        }
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        this.errors.push(error);
        await sleep(100);
      }
    }
  }

  private take(body: string, receivedAt: number): void {
    this.deliveries++;
    const event = JSON.parse(body) as { id?: string; type?: string; data?: { id?: string } };
    const jobId = event.data?.id;
    if (!event.id || !jobId) return;
    this.eventIds.add(event.id);
    if (!this.byJob.has(jobId)) this.byJob.set(jobId, { eventId: event.id, type: event.type ?? '', jobId, receivedAt });
  }

  /** The event of a job, once received. */
  eventOf(jobId: string): ReceivedEvent | undefined {
    return this.byJob.get(jobId);
  }

  /** Distinct event ids among `jobIds`' events. */
  distinctEvents(jobIds: readonly string[]): number {
    const ids = new Set<string>();
    for (const jobId of jobIds) {
      const event = this.byJob.get(jobId);
      if (event && this.eventIds.has(event.eventId)) ids.add(event.eventId);
    }
    return ids.size;
  }

  /** Resolves once every job in `jobIds` has an event; rejects after `timeoutMs` with how many are missing. */
  waitForJobs(jobIds: readonly string[], timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (jobIds.every((id) => this.byJob.has(id))) {
          this.listeners.delete(check);
          clearTimeout(timer);
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.listeners.delete(check);
        const missing = jobIds.filter((id) => !this.byJob.has(id)).length;
        reject(new Error(`${missing} of ${jobIds.length} jobs published no event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.allSettled(this.loops);
  }
}
