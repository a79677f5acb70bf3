/**
 * Delivering one completion event to its job's callback URL: sign, send, judge the answer, record
 * it on the job, and say when to try again. Runs off the request path, fed by the topic.
 */
import { isFinal } from './job.ts';
import { completionEvent } from './lifecycle.ts';
import { errorText } from './log.ts';
import type { JobEvent, JobStore } from './ports.ts';
import { MetricName, noTelemetry, type Telemetry } from './telemetry.ts';
import { type AttemptVerdict, judgeResponse, maxAttempts, retryDelaySeconds, type WebhookState, webhookHeaders } from './webhooks.ts';

/** What a delivery needs. */
export interface DeliveryDeps {
  readonly store: Pick<JobStore, 'get' | 'recordWebhook'>;
  /** Posts; resolves with the response or the reason the target was refused; rejects on a network error. */
  send(target: string, headers: Record<string, string>, body: string): Promise<{ status: number; retryAfter?: string } | { refused: string }>;
  /** The signing secrets in force (one, or two during a rotation). */
  secrets(): Promise<readonly string[]>;
  readonly schedule: readonly number[];
  readonly jitter: number;
  readonly maxRetryAfterSeconds: number;
  readonly now: () => Date;
  readonly random?: () => number;
  readonly logger: { info(message: string, fields?: Record<string, unknown>): void; warn(message: string, fields?: Record<string, unknown>): void };
  /** @default noTelemetry */
  readonly telemetry?: Telemetry;
}

/** `done`: delete the message. `retry`: deliver it again after `delaySeconds` (0 after the last attempt: to the DLQ). */
export type DeliveryOutcome = { readonly kind: 'done' } | { readonly kind: 'retry'; readonly delaySeconds: number };

/**
 * One receive of a delivery message: its attempt ({@link deliverEvent}), and, when the receive is the
 * last the webhook queue allows (its redrive then moves the message to the DLQ), the count of a dead
 * letter, whatever ended the attempt: a failed delivery, or an error on the way (a store or secret
 * that could not be read).
 */
export async function handleDelivery(deps: DeliveryDeps, rawEvent: string, attempt: number): Promise<DeliveryOutcome> {
  const last = attempt >= maxAttempts(deps.schedule);
  const deadLettered = () => (deps.telemetry ?? noTelemetry).count(MetricName.webhooksDeadLettered);
  try {
    const outcome = await deliverEvent(deps, rawEvent, attempt);
    if (outcome.kind === 'retry' && last) deadLettered();
    return outcome;
  } catch (error) {
    if (last) {
      deadLettered();
      deps.logger.warn('webhook failed for good; the message goes to the DLQ', {
        ...eventIdsOf(rawEvent),
        attempt,
        reason: errorText(error),
      });
    }
    throw error;
  }
}

/** The job and event ids of a delivery message, for its log lines; whatever of them it has. */
export function eventIdsOf(rawEvent: string): { jobId?: string; eventId?: string } {
  try {
    const event = JSON.parse(rawEvent) as Partial<JobEvent> | null;
    const jobId = event?.data?.id;
    return { ...(typeof jobId === 'string' && { jobId }), ...(typeof event?.id === 'string' && { eventId: event.id }) };
  } catch {
    return {};
  }
}

/**
 * One attempt. `attempt` is the delivery's receive count (1 for the first). The body sent is the
 * job's completion event as published, built again from the job's record; `webhook-id` is the event
 * id, the same on every attempt; each attempt is signed with its own timestamp.
 */
export async function deliverEvent(deps: DeliveryDeps, rawEvent: string, attempt: number): Promise<DeliveryOutcome> {
  const event = JSON.parse(rawEvent) as JobEvent;
  const job = await deps.store.get(event.data.id);
  if (!job?.callbackUrl) return { kind: 'done' };
  // Only the one completion event the job's final write fixed is ever signed: the topic takes publishes
  // from the worker alone, and this keeps a message from anywhere else from reaching a receiver as ours.
  if (!isFinal(job.status) || job.eventId !== event.id) {
    deps.logger.warn('not the completion event of its job; not delivered', { jobId: job.id, eventId: event.id, status: job.status });
    return { kind: 'done' };
  }
  const settled = job.webhook?.eventId === event.id && ['delivered', 'gone', 'refused'].includes(job.webhook.status);
  if (settled) return { kind: 'done' };
  // Nor is any body but the one the record makes: whoever may send to the delivery queue could otherwise
  // have a body of their own signed under the id of a real event.
  const body = JSON.stringify(completionEvent(job));
  if (body !== rawEvent) deps.logger.warn('the queued event differs from its job; the job’s own event is sent', { jobId: job.id, eventId: event.id });

  const now = deps.now();
  const timestamp = Math.floor(now.getTime() / 1000);
  const base = { attempts: attempt, lastAttemptAt: now.toISOString(), eventId: event.id };
  let verdict: AttemptVerdict;
  let statusCode: number | undefined;
  try {
    const headers = webhookHeaders(await deps.secrets(), event.id, timestamp, body);
    const response = await deps.send(job.callbackUrl, headers, body);
    if ('refused' in response) {
      await deps.store.recordWebhook(job.id, { ...base, status: 'refused', lastError: response.refused });
      deps.logger.warn('webhook target refused', { jobId: job.id, eventId: event.id, reason: response.refused });
      return { kind: 'done' };
    }
    statusCode = response.status;
    verdict = judgeResponse(response.status, response.retryAfter, now, deps.maxRetryAfterSeconds);
  } catch (error) {
    verdict = { kind: 'retry', reason: errorText(error) };
  }
  const code = statusCode !== undefined ? { lastStatusCode: statusCode } : {};
  const telemetry = deps.telemetry ?? noTelemetry;
  if (verdict.kind === 'delivered') telemetry.count(MetricName.webhookDeliveries);
  else telemetry.count(MetricName.webhookFailures);
  if (verdict.kind !== 'retry') {
    const state: WebhookState = { ...base, ...code, status: verdict.kind };
    await deps.store.recordWebhook(job.id, state);
    deps.logger.info('webhook settled', { jobId: job.id, eventId: event.id, status: state.status, attempts: attempt });
    return { kind: 'done' };
  }
  const last = attempt >= maxAttempts(deps.schedule);
  await deps.store.recordWebhook(job.id, { ...base, ...code, status: last ? 'failed' : 'retrying', lastError: verdict.reason });
  deps.logger.warn(last ? 'webhook failed for good; the message goes to the DLQ' : 'webhook attempt failed; will retry', {
    jobId: job.id,
    eventId: event.id,
    attempt,
    reason: verdict.reason,
  });
  if (last) return { kind: 'retry', delaySeconds: 0 };
  const delay = Math.max(verdict.minDelaySeconds ?? 0, retryDelaySeconds(deps.schedule, attempt, deps.jitter, deps.random));
  return { kind: 'retry', delaySeconds: delay };
}
