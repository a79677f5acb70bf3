/** Scheduled: re-enqueues QUEUED jobs whose message went missing and announces ended jobs not yet announced. */
import { dynamodb } from '#aws/clients/dynamodb';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { jobStoreFrom } from '#aws/wiring';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { type ReconcileDeps, type ReconcileReport, reconcile } from '#core/reconcile';
import { jobs, lifecycle } from '#infra/config';

const deps: ReconcileDeps = {
  store: jobStoreFrom(dynamodb),
  queue: new SqsJobQueue(sqs, requiredEnv('QUEUE_URL')),
  lifecycle,
  batch: jobs.sweepBatch,
  now: () => new Date(),
  logger: log,
};

export const handler = tracedHandler(
  instrumented(async (): Promise<ReconcileReport> => {
    const report = await reconcile(deps);
    if (report.requeued + report.announced + report.failures > 0) log.info('reconciled', { ...report });
    return report;
  }),
);
