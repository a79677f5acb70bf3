import { MetricName } from '../functions/core/telemetry.ts';

/**
 * The one place where the topology is declared: names, batch sizes, timeouts and retry counts.
 * The CDK construct, the local runtime and the handlers all read these values, so what runs on
 * one machine is what `cdk deploy` creates.
 */

/** Names of the resources. The CDK stack lets CloudFormation prefix them; the local runtime uses them as they are. */
export const names = {
  table: 'async-jobs',
  /** GSI listing one owner's jobs, newest first (partition `owner`, sort `createdAt`). */
  ownerIndex: 'by-owner',
  /** Sparse GSI of jobs the reconciler may need to act on (partition `sweepShard`, sort `sweepAt`). */
  sweepIndex: 'sweep',
  queue: 'async-jobs',
  deadLetterQueue: 'async-jobs-dlq',
  topic: 'async-jobs-events',
  webhookQueue: 'async-jobs-webhooks',
  webhookDeadLetterQueue: 'async-jobs-webhooks-dlq',
} as const;

/** The worker Lambda (`process-jobs`) and its SQS event source mapping. */
export const worker = {
  /** Lambda timeout of the worker: the longest a single job attempt can run. */
  timeoutSeconds: 120,
  memoryMb: 1024,
  /** Messages per invocation; the records of one batch run concurrently. */
  batchSize: 10,
  /** 0 keeps latency low: the poller hands over what one long poll returns. */
  maxBatchingWindowSeconds: 0,
  /** Time reserved at the end of an invocation to record a timeout before Lambda stops the container. */
  shutdownMarginMs: 3_000,
  /** Progress is written at most this often per job; the latest report always lands eventually. */
  progressIntervalMs: 1_000,
  /**
   * Most worker invocations at once (the SQS event source's maximum concurrency; Lambda allows 2 to
   * 1,000): a backlog then runs at most this many batches side by side instead of scaling the worker
   * until it takes the account's whole Lambda concurrency, throttling the API's functions with it.
   */
  maxConcurrency: 50,
  /** The same for `on-dead-letter`, which sees a trickle: dead letters are rare. */
  deadLetterMaxConcurrency: 2,
} as const;

/** Functions behind the HTTP API. */
export const api = {
  timeoutSeconds: 10,
  memoryMb: 512,
  /**
   * Largest accepted `POST /jobs` body. The input is stored in the job record, whose DynamoDB item
   * limit is 400 KB and which must also hold the result (see `maxResultBytes`); SQS messages carry only
   * the job id, so the queue does not constrain it.
   */
  maxBodyBytes: 131_072, // 128 KiB
  /** Seconds a client should wait before polling a job that has not ended. */
  retryAfterSeconds: 1,
} as const;

/**
 * The jobs queue and its dead-letter queue. Built by a call marked pure, as is `lifecycle` below: esbuild
 * keeps an object whose values read another object's properties (or multiply, hence the plain numbers of
 * `api` and `jobs`) in every bundle that imports this file, even where nothing uses it: about 1 KB of the
 * webhook deliverer's.
 */
export const queue = /* @__PURE__ */ (() => ({
  /**
   * AWS advises a visibility timeout of at least six times the function timeout plus the batching
   * window, so a message is not redelivered while a throttled or retried invocation still holds it.
   */
  visibilityTimeoutSeconds: 6 * worker.timeoutSeconds + worker.maxBatchingWindowSeconds,
  /**
   * Receives before SQS moves a message to the dead-letter queue: above `jobs.maxAttempts`, so only
   * messages whose worker kept crashing or timing out get there.
   */
  maxReceiveCount: 6,
  retentionSeconds: 4 * 24 * 3600,
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  /** SQS `DelaySeconds` bounds a submit may ask for. */
  maxDelaySeconds: 900,
}) as const)();

/** Job records. */
export const jobs = {
  /** Days a finished job stays readable before it expires (DynamoDB TTL on `expiresAt`). */
  retentionDays: 7,
  /**
   * Largest result a processor may return: the completion event carries the whole job resource and
   * SNS messages are limited to 256 KB; with the input (`api.maxBodyBytes`) the item stays under 400 KB.
   */
  maxResultBytes: 204_800, // 200 KiB
  /** Time one attempt may run unless the submit asks for another (`timeoutSeconds`). */
  defaultTimeoutSeconds: 60,
  /** Attempts before a job that keeps failing retryably ends FAILED. Below `queue.maxReceiveCount`. */
  maxAttempts: 4,
  /** Retry backoff: full jitter over min(cap, base * 2^(attempt-1)) seconds. */
  backoffBaseSeconds: 1,
  backoffCapSeconds: 120,
  /** A RUNNING job is checked for a cancel request this often. */
  cancelPollIntervalMs: 1_000,
  /** A QUEUED job still waiting this long after it could have started is enqueued again by the reconciler. */
  staleQueuedSeconds: 300,
  /** An ended job whose event was not recorded as published after this long is announced by the reconciler. */
  publishGraceSeconds: 60,
  /** Partitions of the sparse `sweep` index the reconciler reads. */
  sweepShards: 4,
  /** Most jobs the reconciler handles per shard per run. */
  sweepBatch: 100,
} as const;

/** The scheduled reconciler (`reconcile-jobs`). */
export const reconciler = {
  /** How often it runs: an EventBridge schedule when deployed, a timer locally. */
  intervalSeconds: 60,
  timeoutSeconds: 60,
  memoryMb: 256,
} as const;

/** Webhook delivery (`deliver-webhooks`, fed by the topic through the webhook queue). */
export const webhooks = {
  /** Each delivery attempt gives up after this long. */
  attemptTimeoutSeconds: 10,
  timeoutSeconds: 30,
  memoryMb: 256,
  /** Deliveries handled per invocation, concurrently. */
  batchSize: 10,
  /**
   * Most `deliver-webhooks` invocations at once (the SQS event source's maximum concurrency): with
   * the batch size, at most 50 deliveries in flight, so a burst of completions does not flood the receivers.
   */
  maxConcurrency: 5,
  /**
   * Seconds to wait after failed attempt n before attempt n+1 (each ±20% jitter): about a day in all,
   * every step within SQS's 12-hour visibility limit. After the last, the message goes to the webhook DLQ.
   */
  retryScheduleSeconds: [10, 60, 300, 1_800, 3_600, 7_200, 14_400, 21_600, 21_600, 21_600],
  /** The same shape compressed to seconds for `npm start`, so the whole retry path fits in a minute. */
  localRetryScheduleSeconds: [1, 1, 1, 1, 2, 4, 8, 12, 12, 12],
  jitter: 0.2,
  /**
   * A 429 or 5xx's Retry-After is honoured up to this: the schedule's longest step. A wait of 12 h
   * would be refused by SQS (its visibility limit counts from the receive), and eleven long waits
   * would outlive the queue's retention, losing the event without a dead letter.
   */
  maxRetryAfterSeconds: 6 * 3600,
  /** How long the webhook queue keeps a delivery: the whole schedule at its longest, with room. */
  queueRetentionSeconds: 4 * 86_400,
  /** How long the signing keys are cached by a function instance (so a rotation applies soon). */
  keyCacheSeconds: 300,
  /** How long a replaced signing key is still used beside the new one. */
  rotationWindowHours: 24,
} as const;

/**
 * CORS, when a deployment lets browser pages of other origins call the API (the construct's
 * `corsOrigins`, `npm start -- --cors-origin`): API Gateway then answers preflights itself (they reach it
 * through an OPTIONS route without authorization the stack adds), and adds these to the answers of allowed origins.
 */
export const cors = {
  allowMethods: ['GET', 'POST', 'DELETE'],
  /** What a browser client sends: a bearer token or a SigV4 signature, JSON, an idempotency key, a cache validator. */
  allowHeaders: ['authorization', 'content-type', 'idempotency-key', 'if-none-match', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token'],
  /** What a browser client must read: where the job is, when to poll, whether it was a replay. */
  exposeHeaders: ['etag', 'idempotent-replayed', 'location', 'retry-after'],
  maxAgeSeconds: 3600,
} as const;

/** True for `*` and for an origin as browsers send it (scheme and host, no path); CORS never matches anything else. */
export function isCorsOrigin(origin: string): boolean {
  return origin === '*' || /^https?:\/\/[^/\s]+$/.test(origin);
}

/**
 * The HTTP API's `$default` stage: API Gateway throttling, applied to each route of the stage (a route
 * over its limit answers `429`). The construct's `throttle` prop overrides these.
 */
export const apiStage = {
  /** Steady requests per second a route admits. */
  rateLimit: 100,
  /** Requests a route admits at once above the steady rate (the token bucket's size). */
  burstLimit: 200,
} as const;

/**
 * The custom metrics the handlers emit in CloudWatch embedded metric format (Powertools Metrics) and
 * the dashboard reads: one namespace, one dimension `service`, these names.
 */
export const metrics = {
  namespace: 'AsyncJobs',
  /** Value of the `service` dimension (Powertools' `serviceName`). */
  service: 'async-jobs',
  /** The one dimension every metric carries, as Powertools names it. */
  serviceDimension: 'service',
  /** The names the handlers emit (functions/core/telemetry.ts, one list for both sides). */
  names: MetricName,
} as const;

/** Alarm thresholds (the alarms themselves are in infra/monitoring.ts). */
export const alarms = {
  /** Period over which each alarm's metric is aggregated. */
  periodSeconds: 300,
  /**
   * Age of the oldest message on the jobs queue that means jobs are stuck: longer than any job can
   * legitimately wait: its longest delay (`queue.maxDelaySeconds`), plus every attempt at the worker's
   * timeout, plus the longest backoff between attempts (900 + 4 × 120 + 3 × 120 = 1,740 s by default).
   * A construct with a longer `workerTimeout` raises it to its own longest wait, in whole 5 minutes.
   */
  oldestJobMessageAgeSeconds: 1_800,
  /** Percentage of API requests answered 5xx, over one period, that fires the alarm. */
  api5xxRatePercent: 1,
  /**
   * Failed runs of the reconciler (it runs every minute), over one period, above which it alarms: a run
   * that fails now and then is made up by the next one; one that keeps failing leaves lost messages unsent.
   */
  reconcilerFailedRuns: 2,
  /** Fewest runs of the reconciler in a period (it runs every minute: 5) below which it is not running. */
  reconcilerMinRuns: 3,
  /**
   * Age of the oldest message on the jobs DLQ past which it counts as unread (on-dead-letter takes each
   * within seconds; one it keeps failing on is counted as failed, and SQS's age leaves such a message out
   * after three receives anyway).
   */
  deadLetterUnreadSeconds: 900,
} as const;

/** The lifecycle settings the handlers use, from the values above (a pure call: see `queue`). */
export const lifecycle = /* @__PURE__ */ (() => ({
  retentionDays: jobs.retentionDays,
  maxAttempts: jobs.maxAttempts,
  backoffBaseSeconds: jobs.backoffBaseSeconds,
  backoffCapSeconds: jobs.backoffCapSeconds,
  staleQueuedSeconds: jobs.staleQueuedSeconds,
  publishGraceSeconds: jobs.publishGraceSeconds,
  sweepShards: jobs.sweepShards,
}) as const)();

/** Region the local runtime reports to the SDK and writes into ARNs. */
export const localRegion = 'us-east-1';
