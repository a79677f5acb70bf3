/** `GET /jobs/{id}`: 202 while the job runs, 200 once it has ended; the job resource either way. */
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { dynamodb } from '#aws/clients/dynamodb';
import { jobItemsFrom } from '#aws/wiring';
import { type HttpEvent, type HttpResult, answer, callerOf, jsonResponse } from '#core/http';
import { isFinal, pollAfterSeconds, toResource } from '#core/job';
import { readJob } from '#core/read';
import { api } from '#infra/config';

const store = jobItemsFrom(dynamodb);

export const handler = tracedHandler(
  instrumented(
    (event: HttpEvent): Promise<HttpResult> =>
      answer(event, log, async () => {
        const job = await readJob(store, callerOf(event), event.pathParameters?.id ?? '', new Date());
        if (isFinal(job.status)) return jsonResponse(200, toResource(job));
        return jsonResponse(202, toResource(job), { 'retry-after': String(pollAfterSeconds(job, new Date(), api.retryAfterSeconds)) });
      }),
    (event) => event.requestContext.requestId,
  ),
);
