/**
 * Local SQS event source mapping: long-polls the queue, invokes the consumer with SQS batch events,
 * deletes what succeeded, and leaves the rest to come back after the visibility timeout (and to move
 * to the DLQ after `maxReceiveCount` receives, which the queue's redrive policy does).
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** How the mapping polls. */
export interface PollerOptions {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly region: string;
  readonly batchSize: number;
  /** The most batches in flight at once: polls start as batches arrive, each holding at most one. */
  readonly pollers: number;
  readonly invoke: (event: SQSEvent) => Promise<unknown>;
  readonly onError: (error: unknown) => void;
}

function toRecord(message: Message, options: PollerOptions): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    // Every system attribute received, as Lambda passes them (AWSTraceHeader, DeadLetterQueueSourceArn…).
    attributes: {
      ...attributes,
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? '000000000000',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
          ...(value.BinaryValue !== undefined && { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
          // Lambda's records always carry the two list members (reserved, empty).
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined && { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: options.queueArn,
    awsRegion: options.region,
  };
}

/** The message ids the function asked to retry; a malformed response fails the whole batch, as on AWS. */
export function failedIds(result: unknown, records: readonly SQSRecord[]): Set<string> {
  const all = new Set(records.map((record) => record.messageId));
  if (result === null || result === undefined) return new Set();
  const failures = (result as Partial<SQSBatchResponse>).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return all;
  const ids = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== 'string' || !all.has(id)) return all;
    ids.add(id);
  }
  return ids;
}

/**
 * Starts polling; the returned function stops it and waits for batches in flight.
 *
 * Lambda's pollers all long-poll at once, and SQS answers each as soon as it has a message for it.
 * fauxqs ends every waiting receive when one message arrives: all but one come back empty and poll
 * again, four wasted requests per job on a quiet queue, answered on the thread that serves the API
 * just as it replies to the submit that sent the message. So here, as a rule, one poll waits at a time:
 * a poll that receives a batch starts another to wait beside it (up to `pollers` in all, as many batches
 * at once as Lambda's pollers run), so a job sent while fewer than `pollers` batches run starts at once,
 * as on AWS. A poll that finds another waiting ends when it comes back empty, when its function failed,
 * when its receive failed, or when its batch is done, unless that batch was full: a full batch means more
 * are queued, and each poll then receives one, as Lambda's pollers do.
 */
export function startPoller(sqs: SQSClient, options: PollerOptions): () => Promise<void> {
  const stopping = new AbortController();
  const deletes = new Set<Promise<unknown>>();
  const loops = new Set<Promise<void>>();
  /** Polls running, and how many of them are waiting on a receive. */
  let polling = 0;
  let waiting = 0;
  /** Ends the calling poll if another is waiting, so that one waits at a time (counted here, not as the promise settles). */
  const yieldToWaiting = () => {
    if (waiting === 0) return false;
    polling--;
    return true;
  };
  // A poll outlives a failing error handler: it is the only one waiting, as a rule.
  const report = (error: unknown) => {
    try {
      options.onError(error);
    } catch {
      // Nothing more to tell it with.
    }
  };
  const poll = async () => {
    while (!stopping.signal.aborted) {
      try {
        waiting++;
        let received: Message[];
        try {
          ({ Messages: received = [] } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: options.queueUrl,
              MaxNumberOfMessages: options.batchSize,
              WaitTimeSeconds: 20,
              MessageSystemAttributeNames: ['All'],
              MessageAttributeNames: ['All'],
            }),
            { abortSignal: stopping.signal },
          ));
        } finally {
          waiting--;
        }
        if (received.length === 0) {
          if (yieldToWaiting()) return;
          continue;
        }
        // While this batch runs, another poll waits for the next message.
        if (waiting === 0 && polling < options.pollers) start();
        const records = received.map((message) => toRecord(message, options));
        let retry: Set<string>;
        try {
          retry = failedIds(await options.invoke({ Records: records }), records);
        } catch (error) {
          // A function error returns the whole batch to the queue (and stopping ends invocations in flight).
          if (!stopping.signal.aborted) report(error);
          if (yieldToWaiting()) return;
          continue;
        }
        const done = records.filter((record) => !retry.has(record.messageId));
        // Deleting does not hold up the next receive, as Lambda's pollers do not wait on it either.
        for (let i = 0; i < done.length; i += 10) {
          const entries = done.slice(i, i + 10).map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle }));
          const deleting = sqs.send(new DeleteMessageBatchCommand({ QueueUrl: options.queueUrl, Entries: entries })).catch(report);
          deletes.add(deleting);
          void deleting.finally(() => deletes.delete(deleting));
        }
        const full = received.length === options.batchSize;
        if (!full && yieldToWaiting()) return;
      } catch (error) {
        if (stopping.signal.aborted) return;
        report(error);
        if (yieldToWaiting()) return;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  };
  const start = () => {
    polling++;
    const loop: Promise<void> = poll().finally(() => loops.delete(loop));
    loops.add(loop);
  };
  start();
  return async () => {
    stopping.abort();
    // A poll may start another as it ends: wait until none is left.
    while (loops.size > 0) await Promise.allSettled([...loops]);
    // What finished is deleted, or it would come back after a restart.
    await Promise.allSettled([...deletes]);
  };
}
