/**
 * The floor: the AWS calls a job needs, issued directly with the SDK, with no HTTP API, no Lambda
 * instances and no handler code. The submit requests are copies of the ones the submit handler
 * sent (captured by the request log), so the floor writes items of exactly the handler's shape.
 */
import { randomBytes } from 'node:crypto';
import { PutItemCommand, type PutItemCommandInput, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand } from '@aws-sdk/client-sns';
import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import type { Item } from './aws-helpers.ts';
import type { BenchClients } from './clients.ts';
import type { RecordedRequest } from './request-log.ts';

/** The submit handler's two requests, as it sent them for one job. */
export interface SubmitTemplate {
  readonly put: PutItemCommandInput;
  readonly send: SendMessageCommandInput;
}

/** Takes the first PutItem and SendMessage of `requests` as the template of a submit. */
export function submitTemplate(requests: readonly RecordedRequest[]): SubmitTemplate {
  const put = requests.find((request) => request.operation === 'PutItem');
  const send = requests.find((request) => request.operation === 'SendMessage');
  if (!put?.requestBody || !send?.requestBody) throw new Error('no PutItem and SendMessage recorded for the template submit');
  return { put: JSON.parse(put.requestBody) as PutItemCommandInput, send: JSON.parse(send.requestBody) as SendMessageCommandInput };
}

/** A job id of the handler's shape. */
export function floorJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

/** The template's requests for a new job `id`, created now, sent to `queueUrl`. */
export function submitRequests(template: SubmitTemplate, id: string, queueUrl: string): { put: PutItemCommandInput; send: SendMessageCommandInput } {
  const now = new Date().toISOString();
  const item: Item = { ...template.put.Item, id: { S: id } };
  for (const name of ['createdAt', 'updatedAt']) if (item[name]?.S !== undefined) item[name] = { S: now };
  const body = JSON.parse(template.send.MessageBody ?? '{}') as Record<string, unknown>;
  return {
    put: { ...template.put, Item: item },
    send: { ...template.send, QueueUrl: queueUrl, MessageBody: JSON.stringify({ ...body, jobId: id }) },
  };
}

/** The floor of a submit: the same PutItem, then the same SendMessage. */
export async function floorSubmit(clients: BenchClients, template: SubmitTemplate, id: string, queueUrl: string): Promise<void> {
  const { put, send } = submitRequests(template, id, queueUrl);
  await clients.dynamodb.send(new PutItemCommand(put));
  await clients.sqs.send(new SendMessageCommand(send));
}

function plain(item: Item): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([name, value]) => [name, value.N !== undefined ? Number(value.N) : value.S]));
}

/** The floor of running one job: start, finish, publish; the calls the worker makes on the happy path. */
async function floorJob(clients: BenchClients, tableName: string, topicArn: string, message: Message): Promise<void> {
  const { jobId } = JSON.parse(message.Body ?? '{}') as { jobId?: string };
  if (!jobId) throw new Error(`not a job message: ${message.Body}`);
  const key = { id: { S: jobId } };
  const started = await clients.dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'SET #status = :to, #updatedAt = :now, #startedAt = :now ADD #attempts :one',
      ConditionExpression: '#status = :from',
      ExpressionAttributeNames: { '#status': 'status', '#updatedAt': 'updatedAt', '#startedAt': 'startedAt', '#attempts': 'attempts' },
      ExpressionAttributeValues: { ':from': { S: 'QUEUED' }, ':to': { S: 'RUNNING' }, ':now': { S: new Date().toISOString() }, ':one': { N: '1' } },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const eventId = `evt_${randomBytes(16).toString('base64url')}`;
  const finishedAt = new Date();
  const finished = await clients.dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: key,
      UpdateExpression: 'SET #status = :to, #updatedAt = :now, #result = :result, #finishedAt = :now, #expiresAt = :expires, #eventId = :eventId',
      ConditionExpression: '#status = :from',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#updatedAt': 'updatedAt',
        '#result': 'result',
        '#finishedAt': 'finishedAt',
        '#expiresAt': 'expiresAt',
        '#eventId': 'eventId',
      },
      ExpressionAttributeValues: {
        ':from': { S: 'RUNNING' },
        ':to': { S: 'SUCCEEDED' },
        ':now': { S: finishedAt.toISOString() },
        ':result': started.Attributes?.input ?? { S: 'null' },
        ':expires': { N: String(Math.floor(finishedAt.getTime() / 1000) + 7 * 86_400) },
        ':eventId': { S: eventId },
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  const data = plain(finished.Attributes ?? {});
  await clients.sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: JSON.stringify({ id: eventId, type: 'job.succeeded', timestamp: finishedAt.toISOString(), data }),
      MessageAttributes: {
        type: { DataType: 'String', StringValue: 'job.succeeded' },
        status: { DataType: 'String', StringValue: 'SUCCEEDED' },
        jobType: { DataType: 'String', StringValue: String(data.type) },
      },
    }),
  );
}

/** Where the floor consumer reads and writes. */
export interface FloorConsumerOptions {
  readonly queueUrl: string;
  readonly tableName: string;
  readonly topicArn: string;
  readonly batchSize: number;
  /** Concurrent receive loops, as the local event source mapping runs pollers. */
  readonly loops: number;
  readonly onError: (error: unknown) => void;
}

/** Receives batches, runs each batch's jobs concurrently, deletes the batch; returns the stop. */
export function startFloorConsumer(clients: BenchClients, options: FloorConsumerOptions): () => Promise<void> {
  const stopping = new AbortController();
  const loop = async () => {
    while (!stopping.signal.aborted) {
      try {
        const { Messages = [] } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: options.queueUrl, MaxNumberOfMessages: options.batchSize, WaitTimeSeconds: 20 }),
          { abortSignal: stopping.signal },
        );
        if (Messages.length === 0) continue;
        await Promise.all(Messages.map((message) => floorJob(clients, options.tableName, options.topicArn, message)));
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          }),
        );
      } catch (error) {
        if (stopping.signal.aborted) return;
        options.onError(error);
      }
    }
  };
  const loops = Array.from({ length: options.loops }, loop);
  return async () => {
    stopping.abort();
    await Promise.allSettled(loops);
  };
}
