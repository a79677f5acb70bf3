import { describe, expect, it } from 'vitest';
import type { JobRecord } from '#core/job';
import { listJobs } from '#core/list';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const NOW = new Date('2026-03-01T12:00:00.000Z');

async function seedSucceeded(store: InMemoryJobStore, owner: string, count: number, resultChars: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const at = new Date(NOW.getTime() - (count - i) * 1000).toISOString();
    const job: JobRecord = {
      id: `job_${String(i).padStart(22, '0')}`,
      owner,
      type: 'echo',
      status: 'SUCCEEDED',
      input: null,
      result: 'r'.repeat(resultChars),
      timeoutSeconds: 60,
      attempts: 1,
      createdAt: at,
      updatedAt: at,
    };
    await store.create(job, NOW);
    ids.push(job.id);
  }
  return ids.reverse();
}

describe('listJobs', () => {
  it('ends a page early when its jobs would not fit the response, and goes on from there with the cursor', async () => {
    // Prepare: five jobs of about 1 KB each, a budget of about two
    const store = new InMemoryJobStore();
    const newestFirst = await seedSucceeded(store, 'alice', 5, 1_000);

    // Act
    const pages: string[][] = [];
    let cursor: string | undefined;
    do {
      const page = await listJobs(store, 'alice', { limit: '100', ...(cursor && { cursor }) }, NOW, 2_600);
      pages.push(page.jobs.map((job) => job.id));
      cursor = page.nextCursor;
    } while (cursor && pages.length < 10);

    // Assess
    expect(pages.map((page) => page.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual(newestFirst);
  });

  it('returns a job larger than the budget alone on its page rather than none', async () => {
    // Prepare
    const store = new InMemoryJobStore();
    const newestFirst = await seedSucceeded(store, 'alice', 2, 10_000);

    // Act
    const first = await listJobs(store, 'alice', { limit: '10' }, NOW, 1_000);

    // Assess
    expect(first.jobs.map((job) => job.id)).toEqual(newestFirst.slice(0, 1));
    expect(first.nextCursor).toBeTypeOf('string');
  });

  it('keeps the default budget under Lambda’s 6 MB response for a full page of the largest results', async () => {
    // Prepare: 100 jobs whose results are at the 200 KiB limit, full of characters JSON escapes twice
    const store = new InMemoryJobStore();
    await seedSucceeded(store, 'alice', 100, 200 * 1024);
    for (const job of store.jobs.values()) (job as { result?: unknown }).result = '"'.repeat(100 * 1024);

    // Act
    const page = await listJobs(store, 'alice', { limit: '100' }, NOW);

    // Assess: the response as Lambda serializes it (the body is a JSON string inside the response's JSON)
    const response = JSON.stringify({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jobs: page.jobs, nextCursor: page.nextCursor }) });
    expect(page.jobs.length).toBeGreaterThan(0);
    expect(page.jobs.length).toBeLessThan(100);
    expect(Buffer.byteLength(response)).toBeLessThan(6 * 1024 * 1024);
  });
});
