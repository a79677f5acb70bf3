/** `JobQueue` on SQS: the message carries only the job id and type; the record holds the rest. */
import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { JobMessage, JobQueue, Redelivery } from '#core/ports';

/** SQS's limit on a visibility timeout. */
const MAX_VISIBILITY_SECONDS = 12 * 3600;

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

  /** Redelivery control of one received message. */
  redeliveryOf(receiptHandle: string): Redelivery {
    return {
      delay: async (seconds) => {
        await this.client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(seconds))),
          }),
        );
      },
    };
  }
}
