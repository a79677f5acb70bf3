/**
 * A job record as the DynamoDB store writes and reads it: every field comes back as it was written,
 * so no part of the lifecycle works only on the in-memory store the other unit tests use.
 */
import { describe, expect, it } from 'vitest';
import { fromItem, toItem } from '#aws/job-store';
import type { JobRecord } from '#core/job';

/** Every field of a record set: a field added to JobRecord fails to compile here until it is added. */
const EVERY_FIELD: Required<JobRecord> = {
  id: 'job_AAAAAAAAAAAAAAAAAAAAAA',
  owner: 'arn:aws:iam::1:user/alice',
  type: 'echo',
  status: 'QUEUED',
  input: { text: 'café', list: [1, 2.5, null], nested: { ok: true } },
  metadata: { order: 'A-1' },
  delaySeconds: 30,
  timeoutSeconds: 60,
  callbackUrl: 'https://hooks.example.com/jobs',
  webhook: { status: 'retrying', attempts: 2, lastStatusCode: 503, lastError: 'HTTP 503', lastAttemptAt: '2026-11-24T12:00:03.000Z', eventId: 'evt_A' },
  requestHash: 'a'.repeat(64),
  result: ['done', 1],
  error: { type: 'https://example.com/problems/x', title: 'X', status: 500, detail: 'went wrong' },
  progress: { completed: 1, total: 2, percent: 50, message: 'half' },
  attempts: 2,
  createdAt: '2026-11-24T12:00:00.000Z',
  updatedAt: '2026-11-24T12:00:02.000Z',
  startedAt: '2026-11-24T12:00:01.000Z',
  finishedAt: '2026-11-24T12:00:02.000Z',
  expiresAt: 1_795_000_000,
  eventId: 'evt_AAAAAAAAAAAAAAAAAAAAAA',
  publishedAt: '2026-11-24T12:00:02.500Z',
  cancelRequestedAt: '2026-11-24T12:00:01.500Z',
  runDeadline: 1_795_000_100_000,
  runId: 'run_A',
  lastError: { type: 'https://example.com/problems/y', title: 'Y', status: 503 },
  retryAt: '2026-11-24T12:01:00.000Z',
  sweepAt: '2026-11-24T12:05:00.000Z',
  sweepShard: '2',
};

describe('the DynamoDB item of a job', () => {
  it('holds every field of the record, and gives each back as written', () => {
    // Act
    const read = fromItem(toItem(EVERY_FIELD));

    // Assess
    expect(read).toEqual(EVERY_FIELD);
  });
});
