/** `GET /openapi.json`: the OpenAPI 3.1 description of the API, built once per container. */
import { requiredEnv } from '#aws/env';
import { instrumented, log } from '#aws/observability';
import { type HttpEvent, type HttpResult, answer, header } from '#core/http';
import { ifNoneMatchHits, servedDocument } from '#core/openapi';
import { api, queue } from '#infra/config';
import { inputSchemas } from '#processors/types';

const document = servedDocument({
  maxDelaySeconds: queue.maxDelaySeconds,
  retryAfterSeconds: api.retryAfterSeconds,
  maxBodyBytes: api.maxBodyBytes,
  // Set by the construct, as for submit-job: the document states the real default and limit.
  defaultTimeoutSeconds: Number(requiredEnv('DEFAULT_JOB_TIMEOUT_SECONDS')),
  maxTimeoutSeconds: Number(requiredEnv('MAX_JOB_TIMEOUT_SECONDS')),
  inputSchemas,
});

/** It changes only with a deployment; caches may keep it a while and revalidate with the ETag. */
const caching = { 'cache-control': 'public, max-age=300', etag: document.etag };

export const handler = instrumented(
  (event: HttpEvent): Promise<HttpResult> =>
    answer(event, log, async () => {
      if (ifNoneMatchHits(header(event, 'if-none-match'), document.etag)) return { statusCode: 304, headers: caching };
      return { statusCode: 200, headers: { 'content-type': 'application/json', ...caching }, body: document.body };
    }),
  (event) => event.requestContext.requestId,
);
