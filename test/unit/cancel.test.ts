/**
 * What a cancelled QUEUED job says of itself: a job waiting out a retry's backoff is QUEUED too, and
 * its error must not claim it never started.
 */
import { describe, expect, it } from 'vitest';
import { type CancelDeps, cancelJob } from '#core/cancel';
import { newJobId } from '#core/ids';
import type { JobRecord } from '#core/job';
import { ProblemType } from '#core/problem';
import { TEST_LIFECYCLE as LIFECYCLE, RecordingQueue, silentLogger as silent } from '../support/core-fakes.ts';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const OWNER = 'arn:aws:iam::1:user/alice';

describe('cancelling a QUEUED job', () => {
  it.each([
    [0, 'The job was cancelled at its owner’s request before it started.'],
    [1, 'The job was cancelled at its owner’s request while it waited to retry, after 1 attempt.'],
    [2, 'The job was cancelled at its owner’s request while it waited to retry, after 2 attempts.'],
  ])('after %i attempts ends it CANCELLED with an error that says when', async (attempts, detail) => {
    // Prepare
    const store = new InMemoryJobStore();
    const now = new Date();
    const job: JobRecord = { id: newJobId(), owner: OWNER, type: 'echo', status: 'QUEUED', input: null, timeoutSeconds: 5, attempts, createdAt: now.toISOString(), updatedAt: now.toISOString() };
    await store.create(job, now);
    const deps: CancelDeps = { store, queue: new RecordingQueue(), lifecycle: LIFECYCLE, now: () => now, logger: silent };

    // Act
    const { outcome, job: cancelled } = await cancelJob(deps, OWNER, job.id);

    // Assess
    expect(outcome).toBe('cancelled');
    expect(cancelled).toMatchObject({ status: 'CANCELLED', attempts, error: { type: ProblemType.jobCancelled, status: 409, detail } });
  });
});
