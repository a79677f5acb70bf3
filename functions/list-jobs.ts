/** `GET /jobs?status=&limit=&cursor=`: the caller's jobs, newest first. */
import { tracedHandler } from '#aws/tracing';
import { instrumented, log } from '#aws/observability';
import { dynamodb } from '#aws/clients/dynamodb';
import { jobStoreFrom } from '#aws/wiring';
import { type HttpEvent, type HttpResult, answer, callerOf, jsonResponse } from '#core/http';
import { listJobs } from '#core/list';

const store = jobStoreFrom(dynamodb);

export const handler = tracedHandler(
  instrumented(
    (event: HttpEvent): Promise<HttpResult> =>
      answer(event, log, async () => {
        const page = await listJobs(store, callerOf(event), event.queryStringParameters ?? {}, new Date());
        return jsonResponse(200, page);
      }),
    (event) => event.requestContext.requestId,
  ),
);
