/** The worker: runs the jobs of an SQS batch concurrently and reports the messages to retry. */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { dynamodb } from '#aws/clients/dynamodb';
import { sns } from '#aws/clients/sns';
import { requiredEnv } from '#aws/env';
import { SnsEventPublisher } from '#aws/event-publisher';
import { DynamoJobStore } from '#aws/job-store';
import { errorFields, log } from '#core/log';
import { type WorkerDeps, handleJobMessage, parseJobMessage } from '#core/worker';
import { jobs, worker } from '#infra/config';
import { processors } from '#processors/registry';

const deps: WorkerDeps = {
  store: new DynamoJobStore(dynamodb, requiredEnv('TABLE_NAME')),
  publisher: new SnsEventPublisher(sns, requiredEnv('TOPIC_ARN')),
  processors,
  logger: log,
  now: () => new Date(),
  progressIntervalMs: worker.progressIntervalMs,
  retentionDays: jobs.retentionDays,
  maxResultBytes: jobs.maxResultBytes,
};

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  // Stop processors early enough to record a timeout before Lambda stops the container.
  const deadline = Date.now() + context.getRemainingTimeInMillis() - worker.shutdownMarginMs;
  const outcomes = await Promise.all(
    event.Records.map(async (record) => {
      const message = parseJobMessage(record.body);
      if (!message) {
        log.warn('dropping a message that is not a job message', { messageId: record.messageId });
        return 'done';
      }
      try {
        return await handleJobMessage(deps, message, deadline);
      } catch (error) {
        log.error('handling a job message failed; it will be delivered again', { jobId: message.jobId, ...errorFields(error) });
        return 'retry';
      }
    }),
  );
  return {
    batchItemFailures: event.Records.filter((_, index) => outcomes[index] === 'retry').map((record) => ({
      itemIdentifier: record.messageId,
    })),
  };
};
