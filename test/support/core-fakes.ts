/**
 * Fakes of the core's ports that several unit tests share: lifecycle settings with short backoffs, a
 * logger that says nothing, a queue that keeps what it was sent (or fails when told to), a topic that
 * keeps what was published, and a worker that notices progress and cancels quickly.
 */
import type { LifecycleSettings } from '#core/lifecycle';
import type { EventPublisher, JobEvent, JobMessage, JobQueue, JobStore } from '#core/ports';
import type { Processor } from '#core/processor';
import type { WorkerDeps } from '#core/worker';

export const TEST_LIFECYCLE: LifecycleSettings = {
  retentionDays: 7,
  maxAttempts: 3,
  backoffBaseSeconds: 1,
  backoffCapSeconds: 10,
  staleQueuedSeconds: 300,
  publishGraceSeconds: 60,
  sweepShards: 4,
};

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A jobs queue that keeps the messages it was sent; `failing` makes SendMessage fail. */
export class RecordingQueue implements JobQueue {
  readonly sent: JobMessage[] = [];
  failing = false;
  async enqueue(message: JobMessage): Promise<string> {
    if (this.failing) throw new Error('SendMessage failed');
    this.sent.push(message);
    return `message-${this.sent.length}`;
  }
}

/** A topic that keeps the events published to it. */
export class RecordingTopic implements EventPublisher {
  readonly events: JobEvent[] = [];
  async publish(event: JobEvent): Promise<void> {
    this.events.push(event);
  }
}

/** A worker on the real clock, noticing progress and cancels within 10 ms. */
export function quickWorker(store: JobStore, publisher: EventPublisher, processors: Record<string, Processor>): WorkerDeps {
  return {
    store,
    publisher,
    processors,
    logger: silentLogger,
    now: () => new Date(),
    lifecycle: TEST_LIFECYCLE,
    progressIntervalMs: 10,
    cancelPollIntervalMs: 10,
    maxResultBytes: 10_000,
  };
}
