/** The worker: runs the jobs of an SQS batch concurrently and reports the messages to retry. */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamodb } from '#aws/clients/dynamodb';
import { sns } from '#aws/clients/sns';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SnsEventPublisher } from '#aws/event-publisher';
import { SqsJobQueue } from '#aws/job-queue';
import { jobStoreFrom } from '#aws/wiring';
import { measured, telemetry } from '#aws/metrics';
import { tracedHandler } from '#aws/tracing';
import { instrumented, jobLogger, log } from '#aws/observability';
import { errorFields } from '#core/log';
import { type WorkerDeps, handleJobMessage, parseJobMessage } from '#core/worker';
import { jobs, lifecycle, worker } from '#infra/config';
import { processors } from '#processors/registry';

const queue = new SqsJobQueue(sqs, requiredEnv('QUEUE_URL'));
const deps: WorkerDeps = {
  store: jobStoreFrom(dynamodb),
  publisher: new SnsEventPublisher(sns, requiredEnv('TOPIC_ARN')),
  processors,
  logger: log,
  now: () => new Date(),
  lifecycle,
  progressIntervalMs: worker.progressIntervalMs,
  cancelPollIntervalMs: jobs.cancelPollIntervalMs,
  maxResultBytes: jobs.maxResultBytes,
  telemetry,
};

export const handler = tracedHandler(
  instrumented(
    measured(async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
      const invokedAt = Date.now();
      const endsAt = invokedAt + context.getRemainingTimeInMillis();
      // Stop processors early enough to record the outcome before Lambda stops the container.
      const stopBy = endsAt - worker.shutdownMarginMs;
      const outcomes = await Promise.all(
        event.Records.map(async (record) => {
          const message = parseJobMessage(record.body);
          if (!message) {
            log.warn('dropping a message that is not a job message', { messageId: record.messageId });
            return 'done';
          }
          try {
            // The records of a batch run side by side: each logs through a logger carrying its job id.
            const recordDeps = { ...deps, logger: jobLogger(message.jobId) };
            return await handleJobMessage(recordDeps, message, { endsAt, stopBy, redelivery: queue.redeliveryOf(record.receiptHandle, invokedAt) });
          } catch (error) {
            log.error('handling a job message failed; it will be delivered again', { jobId: message.jobId, error: errorFields(error) });
            return 'retry';
          }
        }),
      );
      return {
        batchItemFailures: event.Records.filter((_, index) => outcomes[index] === 'retry').map((record) => ({ itemIdentifier: record.messageId })),
      };
    }),
  ),
);
