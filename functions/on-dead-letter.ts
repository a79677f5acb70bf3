/** Consumes the jobs DLQ: a message there means the worker kept stopping on it; its job ends FAILED (unless it is fine: see core/dead-letter.ts). */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamodb } from '#aws/clients/dynamodb';
import { sns } from '#aws/clients/sns';
import { requiredEnv } from '#aws/env';
import { SnsEventPublisher } from '#aws/event-publisher';
import { jobStoreFrom } from '#aws/wiring';
import { type DeadLetterDeps, handleDeadLetter } from '#core/dead-letter';
import { measured, telemetry } from '#aws/metrics';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { errorFields } from '#core/log';
import { MetricName } from '#core/telemetry';
import { parseJobMessage } from '#core/worker';
import { lifecycle } from '#infra/config';

const deps: DeadLetterDeps = {
  store: jobStoreFrom(dynamodb),
  publisher: new SnsEventPublisher(sns, requiredEnv('TOPIC_ARN')),
  lifecycle,
  now: () => new Date(),
  logger: log,
  telemetry,
};

export const handler = tracedHandler(
  instrumented(
    measured(async (event: SQSEvent): Promise<SQSBatchResponse> => {
      const failures: { itemIdentifier: string }[] = [];
      for (const record of event.Records) {
        const message = parseJobMessage(record.body);
        if (!message) {
          log.warn('dropping a dead letter that is not a job message', { messageId: record.messageId });
          continue;
        }
        try {
          const outcome = await handleDeadLetter(deps, message, Number(record.attributes.ApproximateReceiveCount) || 0);
          log.warn('job reached the dead-letter queue', { jobId: message.jobId, outcome });
        } catch (error) {
          log.error('handling a dead letter failed; it will be delivered again', { jobId: message.jobId, error: errorFields(error) });
          // Lambda sees a successful invocation (the item goes back as a batch item failure): this is what alarms.
          telemetry.count(MetricName.deadLettersFailed);
          failures.push({ itemIdentifier: record.messageId });
        }
      }
      return { batchItemFailures: failures };
    }),
  ),
);
