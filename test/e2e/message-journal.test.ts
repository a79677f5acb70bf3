/**
 * The journal `npm start --data-dir` keeps of the jobs-queue messages a function holds: what a restart
 * reads from it decides which ended jobs get their message again.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageJournal } from '#infra/local/message-journal';

let dir: string;
let file: string;
const errors: unknown[] = [];

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'async-jobs-journal-'));
  file = path.join(dir, 'held-job-messages');
  errors.length = 0;
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A batch of job messages, message `m<n>` carrying job `job-<n>`. */
function batch(...numbers: number[]): SQSEvent {
  return { Records: numbers.map((n) => ({ messageId: `m${n}`, body: JSON.stringify({ jobId: `job-${n}`, type: 'echo' }) })) } as unknown as SQSEvent;
}

/** Opens the journal, as a start does, and reads what the last run left held. */
async function reopened(): Promise<string[]> {
  const journal = await MessageJournal.open(file, (error) => errors.push(error));
  return [...journal.jobIds()].sort();
}

describe('MessageJournal', () => {
  it('holds a batch while the function runs; after it answers, only the messages it asked to retry stay held', async () => {
    // Prepare
    const journal = await MessageJournal.open(file, (error) => errors.push(error));
    let heldDuringTheCall: string[] = [];

    // Act
    await journal.around(batch(1, 2, 3), async () => {
      heldDuringTheCall = await reopened();
      return { batchItemFailures: [{ itemIdentifier: 'm2' }] };
    });
    await journal.close();

    // Assess
    expect(heldDuringTheCall).toEqual(['job-1', 'job-2', 'job-3']);
    expect(await reopened()).toEqual(['job-2']);
    expect(errors).toEqual([]);
  });

  it.each([
    ['throws (a function error or a timeout)', () => Promise.reject(new Error('Sandbox.Timedout'))],
    ['answers with a malformed batch response', () => Promise.resolve({ batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] })],
  ])('keeps the whole batch held when the function %s', async (_, invoke) => {
    // Prepare
    const journal = await MessageJournal.open(file, (error) => errors.push(error));

    // Act
    await journal.around(batch(1, 2), invoke).catch(() => undefined);
    await journal.close();

    // Assess
    expect(await reopened()).toEqual(['job-1', 'job-2']);
  });

  it('starts a run over from the messages sent again at the restart', async () => {
    // Prepare: the last run left two jobs held
    const last = await MessageJournal.open(file, (error) => errors.push(error));
    await last.around(batch(1, 2), async () => ({ batchItemFailures: [{ itemIdentifier: 'm1' }, { itemIdentifier: 'm2' }] }));
    await last.close();

    // Act
    const journal = await MessageJournal.open(file, (error) => errors.push(error));
    const before = [...journal.jobIds()].sort();
    await journal.restart(new Map([['m9', 'job-2']]));
    await journal.close();

    // Assess
    expect(before).toEqual(['job-1', 'job-2']);
    expect(await reopened()).toEqual(['job-2']);
    expect((await readFile(file, 'utf8')).trim()).toBe('+m9 job-2');
  });

  it('rewrites its file with only what it holds once it has grown long, and reads back the same', async () => {
    // Prepare
    const journal = await MessageJournal.open(file, (error) => errors.push(error));
    await journal.around(batch(0), async () => ({ batchItemFailures: [{ itemIdentifier: 'm0' }] }));

    // Act: 5,001 batches that succeed, 10,002 more lines
    for (let n = 1; n <= 5_001; n++) await journal.around(batch(n), async () => undefined);
    await journal.close();

    // Assess
    const lines = (await readFile(file, 'utf8')).trim().split('\n');
    expect(lines.length).toBeLessThan(100);
    expect(await reopened()).toEqual(['job-0']);
    expect(errors).toEqual([]);
  }, 60_000);
});
