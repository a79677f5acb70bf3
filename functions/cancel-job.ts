/** `DELETE /jobs/{id}`: cancel a QUEUED job (200) or ask a RUNNING one to stop (202). */
import { measured, telemetry } from '#aws/metrics';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { dynamodb } from '#aws/clients/dynamodb';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { jobStoreFrom } from '#aws/wiring';
import { type CancelDeps, cancelJob } from '#core/cancel';
import { type HttpEvent, type HttpResult, answer, callerOf, jsonResponse } from '#core/http';
import { toResource } from '#core/job';
import { api, lifecycle } from '#infra/config';

const deps: CancelDeps = {
  store: jobStoreFrom(dynamodb),
  queue: new SqsJobQueue(sqs, requiredEnv('QUEUE_URL')),
  lifecycle,
  now: () => new Date(),
  logger: log,
  telemetry,
};

export const handler = tracedHandler(
  instrumented(
    measured(
      (event: HttpEvent): Promise<HttpResult> =>
        answer(event, log, async () => {
          const { outcome, job } = await cancelJob(deps, callerOf(event), event.pathParameters?.id ?? '');
          if (outcome === 'cancelled') return jsonResponse(200, toResource(job));
          return jsonResponse(202, toResource(job), { 'retry-after': String(api.retryAfterSeconds) });
        }),
    ),
    (event) => event.requestContext.requestId,
  ),
);
