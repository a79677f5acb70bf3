/**
 * For `npm start --data-dir`: which jobs-queue messages a function holds, kept beside the data so a
 * restart can send again what SQS would still hold (fauxqs keeps messages in memory only).
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import type { SQSEvent } from 'aws-lambda';
import { parseJobMessage } from '../../functions/core/worker.ts';
import { failedIds } from './sqs-poller.ts';

/** The journal's file in the data folder. */
export const MESSAGE_JOURNAL_FILE = 'held-job-messages';

/** Lines appended before the journal is rewritten with only what it holds. */
const JOURNAL_COMPACTION_LINES = 10_000;

/**
 * The jobs-queue messages a function was handed and has not finished with (SQS deletes a message
 * only once its function succeeded with it), kept in the data folder as `+<messageId> <jobId>` and
 * `-<messageId>` lines. It is what tells, after a restart, an ended job whose event may not have gone
 * out from one that was announced: on the happy path the worker writes nothing after the publish
 * (the deleted message is the record), so the job record looks the same either way.
 */
export class MessageJournal {
  private readonly held = new Map<string, string>();
  private lines = 0;
  private writing: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly file: string,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Reads what the last run left. */
  static async open(file: string, onError: (error: unknown) => void): Promise<MessageJournal> {
    const journal = new MessageJournal(file, onError);
    let text = '';
    try {
      text = await readFile(file, 'utf8');
    } catch {
      // First start with this folder: no message was held.
    }
    for (const line of text.split('\n')) {
      const [messageId = '', jobId] = line.slice(1).split(' ');
      if (line.startsWith('+') && jobId) journal.held.set(messageId, jobId);
      else if (line.startsWith('-')) journal.held.delete(messageId);
    }
    return journal;
  }

  /** The jobs whose messages were held when the last run stopped. */
  jobIds(): ReadonlySet<string> {
    return new Set(this.held.values());
  }

  /** Starts over from the messages just sent again (replacing the file only once they are out). */
  async restart(held: ReadonlyMap<string, string>): Promise<void> {
    this.held.clear();
    for (const [messageId, jobId] of held) this.held.set(messageId, jobId);
    await this.write(() => this.rewrite());
  }

  /** Invokes a function with a batch: its messages are held until it answers, and stay held for those it asks to retry. */
  async around(event: SQSEvent, invoke: () => Promise<unknown>): Promise<unknown> {
    const taken: [string, string][] = [];
    for (const record of event.Records) {
      const message = parseJobMessage(record.body);
      if (message) taken.push([record.messageId, message.jobId]);
    }
    for (const [messageId, jobId] of taken) this.held.set(messageId, jobId);
    await this.append(taken.map(([messageId, jobId]) => `+${messageId} ${jobId}`));
    const result = await invoke();
    const retried = failedIds(result, event.Records);
    const done = event.Records.map((record) => record.messageId).filter((messageId) => !retried.has(messageId) && this.held.has(messageId));
    for (const messageId of done) this.held.delete(messageId);
    // Not waited for, as the poller's delete is not: a stop in between only means one more announcement.
    void this.append(done.map((messageId) => `-${messageId}`));
    return result;
  }

  /** Waits for the writes in flight; later ones are dropped (the runtime is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    await this.writing;
  }

  private append(lines: readonly string[]): Promise<void> {
    if (lines.length === 0) return this.writing;
    return this.write(async () => {
      await appendFile(this.file, `${lines.join('\n')}\n`);
      this.lines += lines.length;
      if (this.lines >= JOURNAL_COMPACTION_LINES) await this.rewrite();
    });
  }

  private async rewrite(): Promise<void> {
    const lines = [...this.held].map(([messageId, jobId]) => `+${messageId} ${jobId}\n`);
    await writeFile(`${this.file}.next`, lines.join(''));
    await rename(`${this.file}.next`, this.file);
    this.lines = lines.length;
  }

  /** Writes one after another; a failed write is reported, and the journal goes on. */
  private write(task: () => Promise<void>): Promise<void> {
    if (this.closed) return this.writing;
    this.writing = this.writing.then(task).catch(this.onError);
    return this.writing;
  }
}
