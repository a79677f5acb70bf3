/**
 * Emulators for integration tests: the same ones the local runtime uses, started in the test
 * process, with the resources created and the handlers' environment set, as Lambda would set it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { localRegion, queue, worker } from '#infra/config';
import { defaultJobTimeoutSeconds, maxJobTimeoutSeconds } from '#infra/functions';
import { type DynamoEngine, type Emulator, startDynalite, startDynamoDbLocal, startSqsSns } from '#infra/local/emulators';
import { resolveLocalhostSubdomains } from '#infra/local/localhost-dns';
import { type LocalResources, createResources, queueArnOf } from '#infra/local/resources';

export interface Backends {
  readonly resources: LocalResources;
  readonly clients: { dynamodb: DynamoDBClient; sqs: SQSClient; sns: SNSClient };
  /** Receives what is on a queue now (waiting up to `waitSeconds` for the first message), deleting it. */
  drain(queueUrl: string, waitSeconds?: number): Promise<string[]>;
  /** A queue subscribed (raw delivery) to the completion topic. */
  subscribeTopic(name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts the emulators and points this process's AWS SDK environment at them. */
export async function startBackends(engine: DynamoEngine): Promise<Backends> {
  resolveLocalhostSubdomains();
  const emulators: Emulator[] = [];
  try {
    emulators.push(engine === 'dynamodb-local' ? await startDynamoDbLocal() : await startDynalite());
    emulators.push(await startSqsSns(localRegion));
  } catch (error) {
    await Promise.all(emulators.map((emulator) => emulator.stop()));
    throw error;
  }
  const [dynamo, sqsSns] = emulators as [Emulator, Emulator];
  const sqsEndpoint = `http://sqs.${localRegion}.localhost:${new URL(sqsSns.endpoint).port}`;
  Object.assign(process.env, {
    AWS_REGION: localRegion,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: sqsEndpoint,
    AWS_ENDPOINT_URL_SNS: sqsSns.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const clients = { dynamodb: new DynamoDBClient({}), sqs: new SQSClient({}), sns: new SNSClient({}) };
  const resources = await createResources(clients, {
    visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
    maxReceiveCount: queue.maxReceiveCount,
  });
  Object.assign(process.env, {
    TABLE_NAME: resources.tableName,
    QUEUE_URL: resources.queueUrl,
    TOPIC_ARN: resources.topicArn,
    IDEMPOTENCY_SECRET: 'integration-test-secret',
    DEFAULT_JOB_TIMEOUT_SECONDS: String(defaultJobTimeoutSeconds(worker.timeoutSeconds)),
    MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(worker.timeoutSeconds)),
    WEBHOOK_MODE: 'local',
  });
  return {
    resources,
    clients,
    async drain(queueUrl, waitSeconds = 0) {
      const bodies: string[] = [];
      for (let wait = waitSeconds; ; wait = 0) {
        const { Messages = [] } = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait }),
        );
        if (Messages.length === 0) return bodies;
        bodies.push(...Messages.map((message) => message.Body ?? ''));
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Messages.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? '' })),
          }),
        );
      }
    },
    async subscribeTopic(name) {
      const { QueueUrl } = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
      if (!QueueUrl) throw new Error('no queue URL');
      await clients.sns.send(
        new SubscribeCommand({
          TopicArn: resources.topicArn,
          Protocol: 'sqs',
          Endpoint: await queueArnOf(clients.sqs, QueueUrl),
          Attributes: { RawMessageDelivery: 'true' },
        }),
      );
      return QueueUrl;
    },
    async stop() {
      for (const client of Object.values(clients)) client.destroy();
      await Promise.all(emulators.map((emulator) => emulator.stop()));
    },
  };
}
