/** `POST /jobs`: accept a job and answer 202 at once. */
import { dynamodb } from '#aws/clients/dynamodb';
import { sqs } from '#aws/clients/sqs';
import { requiredEnv } from '#aws/env';
import { SqsJobQueue } from '#aws/job-queue';
import { DynamoJobStore } from '#aws/job-store';
import { type HttpEvent, type HttpResult, answer, callerOf, jsonResponse, readJsonBody } from '#core/http';
import { jobPath, toResource } from '#core/job';
import { log } from '#core/log';
import { submitJob } from '#core/submit';
import { api, queue } from '#infra/config';
import { jobTypes } from '#processors/registry';

const deps = {
  store: new DynamoJobStore(dynamodb, requiredEnv('TABLE_NAME')),
  queue: new SqsJobQueue(sqs, requiredEnv('QUEUE_URL')),
  knownTypes: jobTypes,
  limits: { maxDelaySeconds: queue.maxDelaySeconds, retryAfterSeconds: api.retryAfterSeconds },
  now: () => new Date(),
};

export const handler = (event: HttpEvent): Promise<HttpResult> =>
  answer(event, log, async () => {
    const job = await submitJob(deps, callerOf(event), readJsonBody(event, api.maxBodyBytes));
    return jsonResponse(202, toResource(job), {
      location: jobPath(job.id),
      'retry-after': String(Math.max(api.retryAfterSeconds, job.delaySeconds ?? 0)),
    });
  });
