/** Delivers completion events to callback URLs, fed by the topic through the webhook queue. */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamodb } from '#aws/clients/dynamodb';
import { secretsManager } from '#aws/clients/secrets-manager';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { SigningSecrets } from '#aws/signing-secrets';
import { jobItemsFrom } from '#aws/wiring';
import { type DeliveryDeps, eventIdsOf, handleDelivery } from '#core/deliver';
import { measured, telemetry } from '#aws/metrics';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { errorFields } from '#core/log';
import type { WebhookMode } from '#core/webhooks';
import { webhooks } from '#infra/config';
import { RefusedTargetError, postWebhook } from '#net/webhook-transport';

const mode = requiredEnv('WEBHOOK_MODE') as WebhookMode;
const secrets = new SigningSecrets(secretsManager, requiredEnv('WEBHOOK_SECRET_ID'), webhooks.keyCacheSeconds * 1000);
const queue = new SqsJobQueue(sqs, requiredEnv('WEBHOOK_QUEUE_URL'));
const deps: DeliveryDeps = {
  store: jobItemsFrom(dynamodb),
  async send(target, headers, body) {
    try {
      return await postWebhook(target, headers, body, { mode, timeoutMs: webhooks.attemptTimeoutSeconds * 1000 });
    } catch (error) {
      if (error instanceof RefusedTargetError) return { refused: error.message };
      throw error;
    }
  },
  secrets: () => secrets.current(),
  // The construct sets the schedule: a day's worth when deployed, seconds locally.
  schedule: requiredEnv('WEBHOOK_RETRY_SCHEDULE').split(',').map(Number),
  jitter: webhooks.jitter,
  maxRetryAfterSeconds: webhooks.maxRetryAfterSeconds,
  now: () => new Date(),
  logger: log,
  telemetry,
};

export const handler = tracedHandler(
  instrumented(
    measured(async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const invokedAt = Date.now();
      const failures = await Promise.all(
        event.Records.map(async (record) => {
          const attempt = Number(record.attributes.ApproximateReceiveCount) || 1;
          try {
            const outcome = await handleDelivery(deps, record.body, attempt);
            if (outcome.kind === 'done') return undefined;
            await queue.redeliveryOf(record.receiptHandle, invokedAt).delay(outcome.delaySeconds);
          } catch (error) {
            log.error('webhook delivery failed unexpectedly', { messageId: record.messageId, ...eventIdsOf(record.body), attempt, error: errorFields(error) });
          }
          return { itemIdentifier: record.messageId };
        }),
      );
      return { batchItemFailures: failures.filter((failure) => failure !== undefined) };
    }),
  ),
);
