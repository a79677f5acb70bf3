/** Reading a job as its owner sees it. */
import { isJobId } from './ids.ts';
import { type JobRecord, isExpired } from './job.ts';
import type { JobStore } from './ports.ts';
import { jobNotFoundProblem } from './problem.ts';

/**
 * The caller's job, or a 404 problem. A malformed id, another caller's job and an expired job all
 * read as "not found", so the answer reveals nothing about jobs the caller does not own.
 */
export async function readJob(store: Pick<JobStore, 'get'>, owner: string, id: string, now: Date): Promise<JobRecord> {
  if (!isJobId(id)) throw jobNotFoundProblem(id);
  const job = await store.get(id);
  if (!job || job.owner !== owner) throw jobNotFoundProblem(id);
  // DynamoDB deletes expired items lazily (up to days later); an expired job is gone to the caller at once.
  if (isExpired(job, now)) throw jobNotFoundProblem(id);
  return job;
}
