/**
 * Fakes of the core's ports that several unit tests share: lifecycle settings with short backoffs, a
 * logger that says nothing, and a queue that keeps what it was sent (or fails when told to).
 */
import type { LifecycleSettings } from '#core/lifecycle';
import type { JobMessage, JobQueue } from '#core/ports';

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
