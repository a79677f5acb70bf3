/** Scheduled: re-enqueues QUEUED jobs whose message went missing and announces ended jobs not yet announced. */
import { dynamodb } from '#aws/clients/dynamodb';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { jobStoreFrom } from '#aws/wiring';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { errorFields } from '#core/log';
import { type ReconcileDeps, ReconcileIncomplete, type ReconcileReport, reconcile } from '#core/reconcile';
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
    const report = await reconcile(deps).catch((error: unknown) => {
      // Logged as a JSON line like every other (Lambda's own report of the failure is plain text), and rethrown
      // so that the invocation counts as an error: the reconciler-errors alarm watches those. So does a run
      // that went through but could not reconcile some jobs (each is logged with its own warning).
      log.error('reconciling failed; the next scheduled run tries again', {
        error: errorFields(error),
        ...(error instanceof ReconcileIncomplete && { ...error.report }),
      });
      throw error;
    });
    if (report.requeued + report.announced + report.failures > 0) log.info('reconciled', { ...report });
    return report;
  }),
);
