/**
 * The browser-safe entry: everything except {@link verifyWebhook}, which needs `node:crypto` and
 * belongs on a server anyway. Bundle this file for browsers; Node code can use `index.ts`.
 */
export { fullJitterDelay, parseRetryAfter } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { AsyncJobsClient } from './client.ts';
export type { AsyncJobsClientOptions, FetchLike, ListOptions, RequestOptions, RetryOptions, SubmitOptions, WaitOptions } from './client.ts';
export { ApiError, AsyncJobsError, JobCancelledError, JobFailedError, NetworkError, RequestNotSentError, WaitTimeoutError } from './errors.ts';
export { FINAL_STATUSES } from './types.ts';
export type { FieldError, Job, JobEvent, JobPage, JobStatus, ProblemDetails, Progress, SubmitRequest, WebhookDelivery } from './types.ts';
