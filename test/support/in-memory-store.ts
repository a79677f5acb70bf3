/**
 * A JobStore over a Map with the same conditional semantics as the DynamoDB store, for unit tests
 * of the domain's races. The integration suites run the real store against the emulators.
 */
import type { JobRecord, JobStatus, Progress } from '#core/job';
import type { JobStore, TransitionChanges } from '#core/ports';
import { assertTransition } from '#core/state-machine';

export class InMemoryJobStore implements JobStore {
  readonly jobs = new Map<string, JobRecord>();

  async create(job: JobRecord): Promise<boolean> {
    if (this.jobs.has(job.id)) return false;
    this.jobs.set(job.id, structuredClone(job));
    return true;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    return job && structuredClone(job);
  }

  async transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges): Promise<JobRecord | undefined> {
    assertTransition(from, to);
    const job = this.jobs.get(id);
    if (!job || job.status !== from) return undefined;
    const { countAttempt, ...fields } = changes;
    const defined = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
    const next: JobRecord = {
      ...job,
      ...defined,
      status: to,
      updatedAt: new Date().toISOString(),
      attempts: job.attempts + (countAttempt ? 1 : 0),
    };
    this.jobs.set(id, next);
    return structuredClone(next);
  }

  async reportProgress(id: string, progress: Progress, at: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (!job || job.status !== 'RUNNING') return false;
    this.jobs.set(id, { ...job, progress, updatedAt: at });
    return true;
  }

  async markPublished(id: string, eventId: string, at: string): Promise<void> {
    const job = this.jobs.get(id);
    if (job && job.eventId === eventId) this.jobs.set(id, { ...job, publishedAt: at });
  }

  async discard(id: string, status: JobStatus): Promise<void> {
    if (this.jobs.get(id)?.status === status) this.jobs.delete(id);
  }
}
