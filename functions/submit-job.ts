/** `POST /jobs`: accept a job and answer 202 at once. */
import { measured, telemetry } from '#aws/metrics';
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { lookup } from 'node:dns/promises';
import { dynamodb } from '#aws/clients/dynamodb';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { jobStoreFrom } from '#aws/wiring';
import { type HttpEvent, type HttpResult, answer, callerOf, header, jsonResponse, readJsonBody } from '#core/http';
import { jobPath, pollAfterSeconds, toResource } from '#core/job';
import { type SubmitDeps, submitJob } from '#core/submit';
import type { WebhookMode } from '#core/webhooks';
import { api, lifecycle, queue } from '#infra/config';
import { inputSchemas, jobTypes } from '#processors/types';
import type { Context } from 'aws-lambda';

const deps: SubmitDeps = {
  store: jobStoreFrom(dynamodb),
  queue: new SqsJobQueue(sqs, requiredEnv('QUEUE_URL')),
  knownTypes: jobTypes,
  inputSchemas,
  limits: {
    maxDelaySeconds: queue.maxDelaySeconds,
    retryAfterSeconds: api.retryAfterSeconds,
    // Set by the construct: its defaultJobTimeout, and the limit its worker function's timeout sets.
    defaultTimeoutSeconds: Number(requiredEnv('DEFAULT_JOB_TIMEOUT_SECONDS')),
    maxTimeoutSeconds: Number(requiredEnv('MAX_JOB_TIMEOUT_SECONDS')),
    maxBodyBytes: api.maxBodyBytes,
  },
  lifecycle,
  idempotencySecret: requiredEnv('IDEMPOTENCY_SECRET'),
  webhooks: {
    mode: requiredEnv('WEBHOOK_MODE') as WebhookMode,
    resolve: async (host) => (await lookup(host, { all: true, verbatim: true })).map((entry) => entry.address),
  },
  now: () => new Date(),
  telemetry,
};

/**
 * Time kept back from the function's timeout when sending to the queue: a send that hangs is abandoned
 * then, and the job is flagged for the reconciler before the 503, instead of the invocation timing out
 * with the job recorded, unqueued and unflagged.
 */
const ENQUEUE_RESERVE_MS = 3_000;

export const handler = tracedHandler(
  instrumented(
    measured(
      (event: HttpEvent, context: Context): Promise<HttpResult> =>
        answer(event, log, async () => {
          const body = readJsonBody(event, api.maxBodyBytes);
          const deadline = AbortSignal.timeout(Math.max(1, context.getRemainingTimeInMillis() - ENQUEUE_RESERVE_MS));
          const { job, replayed } = await submitJob(deps, callerOf(event), body, header(event, 'idempotency-key'), deadline);
          return jsonResponse(202, toResource(job), {
            location: jobPath(job.id),
            'retry-after': String(pollAfterSeconds(job, new Date(), api.retryAfterSeconds)),
            ...(replayed && { 'idempotent-replayed': 'true' }),
          });
        }),
    ),
    (event) => event.requestContext.requestId,
  ),
);
