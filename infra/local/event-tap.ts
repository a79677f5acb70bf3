/**
 * Shows what the topic announces: a queue subscribed to the completion topic, like any subscriber
 * of the deployed stack, whose messages are handed to `onEvent` as they arrive.
 */
import { SubscribeCommand, type SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queueArnOf } from './resources.ts';

export async function startEventTap(
  clients: { sqs: SQSClient; sns: SNSClient },
  topicArn: string,
  queueName: string,
  onEvent: (event: unknown, raw: string) => void,
  onError: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  if (!QueueUrl) throw new Error('CreateQueue returned no URL');
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: await queueArnOf(clients.sqs, QueueUrl),
      Attributes: { RawMessageDelivery: 'true' },
    }),
  );
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        const { Messages = [] } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
          { abortSignal: stopping.signal },
        );
        for (const message of Messages) {
          const raw = message.Body ?? '';
          let event: unknown = raw;
          try {
            event = JSON.parse(raw);
          } catch {
            // Not JSON: show it as it came.
          }
          onEvent(event, raw);
        }
        if (Messages.length > 0) {
          await clients.sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
            }),
          );
        }
      } catch (error) {
        if (stopping.signal.aborted) return;
        onError(error);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();
  return async () => {
    stopping.abort();
    await loop;
  };
}
