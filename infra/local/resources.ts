/** Creates the table, queues and topic the CDK stack declares, through the same AWS APIs. */
import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, type SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { maxAttempts } from '../../functions/core/webhooks.ts';
import { names, queue, webhooks } from '../config.ts';
import { functionSpecs } from '../functions.ts';

/** Names and addresses of the created resources. */
export interface LocalResources {
  readonly tableName: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
  readonly topicArn: string;
  readonly webhookQueueUrl: string;
  readonly webhookQueueArn: string;
  readonly webhookDeadLetterQueueUrl: string;
}

/** Queue attributes that the event source and the redrive depend on. */
export interface QueueSettings {
  readonly visibilityTimeoutSeconds: number;
  readonly maxReceiveCount: number;
}

export async function queueArnOf(sqs: SQSClient, queueUrl: string): Promise<string> {
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = Attributes?.QueueArn;
  if (!arn) throw new Error(`no ARN for ${queueUrl}`);
  return arn;
}

/** Creates everything; existing resources (a persisted table) are reused. */
export async function createResources(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient; sns: SNSClient },
  settings: QueueSettings,
): Promise<LocalResources> {
  const table = createTable(clients.dynamodb);
  const { QueueUrl: deadLetterQueueUrl } = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.deadLetterQueue,
      Attributes: {
        MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds),
        VisibilityTimeout: String(6 * functionSpecs['on-dead-letter'].timeoutSeconds),
      },
    }),
  );
  if (!deadLetterQueueUrl) throw new Error('CreateQueue returned no URL');
  const deadLetterArn = await queueArnOf(clients.sqs, deadLetterQueueUrl);
  const { QueueUrl: queueUrl } = await clients.sqs.send(
    new CreateQueueCommand({
      QueueName: names.queue,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: deadLetterArn, maxReceiveCount: settings.maxReceiveCount }),
      },
    }),
  );
  if (!queueUrl) throw new Error('CreateQueue returned no URL');
  const { TopicArn: topicArn } = await clients.sns.send(new CreateTopicCommand({ Name: names.topic }));
  if (!topicArn) throw new Error('CreateTopic returned no ARN');
  const webhookDeadLetterQueueUrl = await createQueue(clients.sqs, names.webhookDeadLetterQueue, {
    MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds),
  });
  const webhookDeadLetterArn = await queueArnOf(clients.sqs, webhookDeadLetterQueueUrl);
  const webhookQueueUrl = await createQueue(clients.sqs, names.webhookQueue, {
    VisibilityTimeout: String(6 * webhooks.timeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: webhookDeadLetterArn, maxReceiveCount: maxAttempts(webhooks.localRetryScheduleSeconds) }),
  });
  const webhookQueueArn = await queueArnOf(clients.sqs, webhookQueueUrl);
  // As the stack subscribes it: raw delivery, only events of jobs with a callback URL.
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: webhookQueueArn,
      Attributes: { RawMessageDelivery: 'true', FilterPolicy: JSON.stringify({ callback: ['true'] }) },
    }),
  );
  await table;
  return {
    tableName: names.table,
    queueUrl,
    queueArn: await queueArnOf(clients.sqs, queueUrl),
    deadLetterQueueUrl,
    deadLetterQueueArn: deadLetterArn,
    topicArn,
    webhookQueueUrl,
    webhookQueueArn,
    webhookDeadLetterQueueUrl,
  };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (!QueueUrl) throw new Error('CreateQueue returned no URL');
  return QueueUrl;
}

async function createTable(dynamodb: DynamoDBClient): Promise<void> {
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: names.table,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'id', AttributeType: 'S' },
          { AttributeName: 'owner', AttributeType: 'S' },
          { AttributeName: 'createdAt', AttributeType: 'S' },
          { AttributeName: 'sweepShard', AttributeType: 'S' },
          { AttributeName: 'sweepAt', AttributeType: 'S' },
        ],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        GlobalSecondaryIndexes: [
          {
            IndexName: names.ownerIndex,
            KeySchema: [
              { AttributeName: 'owner', KeyType: 'HASH' },
              { AttributeName: 'createdAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
          {
            IndexName: names.sweepIndex,
            KeySchema: [
              { AttributeName: 'sweepShard', KeyType: 'HASH' },
              { AttributeName: 'sweepAt', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}
