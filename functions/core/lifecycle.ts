/**
 * What every path that ends a job shares (the worker, cancel, the dead-letter handler and the
 * reconciler): the final write's fields, and announcing the end exactly once per transition.
 */
import { isFinal, type JobRecord, toResource } from './job.ts';
import { newEventId } from './ids.ts';
import type { EventPublisher, JobEvent, JobStore, TransitionChanges } from './ports.ts';
import { eventTypeFor } from './state-machine.ts';

/** Timing and retry settings of the lifecycle (from infra/config.ts). */
export interface LifecycleSettings {
  readonly retentionDays: number;
  readonly maxAttempts: number;
  readonly backoffBaseSeconds: number;
  readonly backoffCapSeconds: number;
  readonly staleQueuedSeconds: number;
  readonly publishGraceSeconds: number;
  readonly sweepShards: number;
}

function plusSeconds(date: Date, seconds: number): string {
  return new Date(date.getTime() + seconds * 1000).toISOString();
}

/** When the reconciler should look at a job that becomes runnable at `runnableAt`. */
export function queuedSweepAt(settings: LifecycleSettings, runnableAt: Date): string {
  return plusSeconds(runnableAt, settings.staleQueuedSeconds);
}

/**
 * Fields of a final transition: when it ended, when it expires, and the id of its one completion
 * event. Announcing it is the job of whoever holds its message (the worker, until it is published).
 */
export function finalChanges(settings: LifecycleSettings, now: Date): TransitionChanges {
  return {
    finishedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + settings.retentionDays * 86_400,
    eventId: newEventId(),
    clear: ['runDeadline', 'cancelRequestedAt', 'lastError', 'retryAt', 'sweepAt', 'sweepShard'],
  };
}

/** When the reconciler should announce an ended job whose announcement could not be handed over. */
export function announceSweepAt(settings: LifecycleSettings, now: Date): string {
  return plusSeconds(now, settings.publishGraceSeconds);
}

/** Seconds before retry number `attempt` (1 = the first retry): full jitter over an exponential, capped. */
export function backoffSeconds(settings: LifecycleSettings, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.backoffCapSeconds, settings.backoffBaseSeconds * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(random() * ceiling));
}

/**
 * The completion event of an ended job: the job resource as it ended. Not its `webhook` member, which
 * tells how this very event's delivery goes and changes after the end: an event published again (a
 * retry, a duplicate delivery) must carry the same content under the same id.
 */
export function completionEvent(job: JobRecord): JobEvent {
  const type = eventTypeFor(job.status);
  if (!type || !job.eventId || !job.finishedAt) throw new Error(`job ${job.id} has not ended`);
  const { webhook: _delivery, ...data } = toResource(job);
  return { id: job.eventId, type: type as JobEvent['type'], timestamp: job.finishedAt, data };
}

/**
 * True when the publish of an ended job must be written down: when it is in the reconciler's sweep.
 * The paths after which another message may come put it there (a job cancelled while QUEUED, whose
 * own message may still arrive), as do the failure paths; recording takes it out of the sweep, and
 * keeps the later message from announcing it again.
 */
export function publishNeedsRecord(job: JobRecord): boolean {
  return job.sweepAt !== undefined;
}

/**
 * Publishes the end of a job. Whoever announces holds a message for the job (a jobs-queue or
 * dead-letter message) and deletes it only once this returns, so on the happy path the deleted
 * message is the record that the event went out and no write follows the publish. Where another
 * message may follow (`publishNeedsRecord`), the publish is recorded. Publishing again, after a
 * failure or a duplicate delivery, sends the same event id, so subscribers can drop the duplicate.
 */
export async function announce(store: JobStore, publisher: EventPublisher, job: JobRecord, now: () => Date): Promise<void> {
  if (!isFinal(job.status) || job.publishedAt) return;
  const event = completionEvent(job);
  await publisher.publish(event);
  if (publishNeedsRecord(job)) await store.markPublished(job.id, event.id, now().toISOString());
}
