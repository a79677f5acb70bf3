/** `JobQueue` on SQS: the message carries only the job id and type; the record holds the rest. */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobMessage, JobQueue, Redelivery } from '#core/ports';

/** SQS's limit on a visibility timeout, counted from when the message was received. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** Kept back from that limit for the time between the receive and the invocation, which the function cannot see. */
const RECEIVE_MARGIN_SECONDS = 60;

export class SqsJobQueue implements JobQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(message: JobMessage, delaySeconds?: number, signal?: AbortSignal): Promise<string | undefined> {
    const { MessageId } = await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(message),
        ...(delaySeconds && { DelaySeconds: delaySeconds }),
      }),
      { ...(signal && { abortSignal: signal }) },
    );
    return MessageId;
  }

  /**
   * Redelivery control of one message, received at about `receivedAt` (epoch ms; when the invocation that
   * holds it began). SQS refuses a visibility timeout that would end more than 12 hours after the receive,
   * rather than shorten it, so a longer wait is cut to what is left of those 12 hours.
   */
  redeliveryOf(receiptHandle: string, receivedAt = Date.now()): Redelivery {
    return {
      delay: async (seconds) => {
        const heldSeconds = Math.ceil((Date.now() - receivedAt) / 1000) + RECEIVE_MARGIN_SECONDS;
        const wait = Number.isFinite(seconds) ? Math.round(seconds) : 0;
        await this.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(MAX_VISIBILITY_SECONDS - heldSeconds, wait)),
          }),
        );
      },
    };
  }
}
