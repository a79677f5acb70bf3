/**
 * A JobStore over a Map with the same conditional semantics as the DynamoDB store, for unit tests
 * of the domain's races. The integration suites run the real store against the emulators.
 */
import type { JobRecord, JobStatus, Progress } from '#core/job';
import type { JobPage, JobStore, ListKey, SweepGuard, TransitionChanges, TransitionGuard } from '#core/ports';
import { assertTransition } from '#core/state-machine';
import type { WebhookState } from '#core/webhooks';

export class InMemoryJobStore implements JobStore {
  readonly jobs = new Map<string, JobRecord>();

  async create(job: JobRecord, now: Date): Promise<boolean> {
    const existing = this.jobs.get(job.id);
    if (existing && !(existing.expiresAt !== undefined && existing.expiresAt * 1000 <= now.getTime())) return false;
    this.jobs.set(job.id, structuredClone(job));
    return true;
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    return job && structuredClone(job);
  }

  async transition(id: string, from: JobStatus, to: JobStatus, changes: TransitionChanges, guard: TransitionGuard = {}): Promise<JobRecord | undefined> {
    assertTransition(from, to);
    const job = this.jobs.get(id);
    if (job?.status !== from) return undefined;
    if (guard.runDeadline !== undefined && job.runDeadline !== guard.runDeadline) return undefined;
    if (guard.cancelRequested === false && job.cancelRequestedAt !== undefined) return undefined;
    if (guard.retryDueBy !== undefined && job.retryAt !== undefined && job.retryAt > guard.retryDueBy) return undefined;
    const { countAttempt, clear = [], ...fields } = changes;
    const next: Record<string, unknown> = {
      ...job,
      ...Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined)),
      status: to,
      updatedAt: new Date().toISOString(),
      attempts: job.attempts + (countAttempt ? 1 : 0),
    };
    for (const name of clear) delete next[name];
    this.jobs.set(id, next as unknown as JobRecord);
    return structuredClone(next as unknown as JobRecord);
  }

  async reportProgress(id: string, progress: Progress, at: string): Promise<boolean> {
    const job = this.jobs.get(id);
    if (job?.status !== 'RUNNING') return false;
    this.jobs.set(id, { ...job, progress, updatedAt: at });
    return true;
  }

  async requestCancel(id: string, at: string): Promise<JobRecord | undefined> {
    const job = this.jobs.get(id);
    if (job?.status !== 'RUNNING') return undefined;
    const asked = { ...job, cancelRequestedAt: at, updatedAt: at };
    this.jobs.set(id, asked);
    return asked;
  }

  async isCancelRequested(id: string, _signal?: AbortSignal): Promise<boolean> {
    return this.jobs.get(id)?.cancelRequestedAt !== undefined;
  }

  async markPublished(id: string, eventId: string, at: string): Promise<void> {
    const job = this.jobs.get(id);
    if (job?.eventId !== eventId) return;
    const { sweepAt: _at, sweepShard: _shard, ...rest } = job;
    this.jobs.set(id, { ...rest, publishedAt: at });
  }

  async discard(id: string, status: JobStatus): Promise<boolean> {
    const job = this.jobs.get(id);
    if (job?.status !== status || job.attempts !== 0) return false;
    this.jobs.delete(id);
    return true;
  }

  async list(owner: string, query: { limit: number; status?: JobStatus; after?: ListKey; now: Date }): Promise<JobPage> {
    const all = [...this.jobs.values()]
      .filter((job) => job.owner === owner)
      .sort((a, b) => (a.createdAt === b.createdAt ? b.id.localeCompare(a.id) : b.createdAt.localeCompare(a.createdAt)));
    const start = query.after ? all.findIndex((job) => job.id === query.after?.id) + 1 : 0;
    const page = all.slice(start, start + query.limit);
    const visible = page.filter(
      (job) => (!query.status || job.status === query.status) && !(job.expiresAt !== undefined && job.expiresAt * 1000 <= query.now.getTime()),
    );
    const last = page.at(-1);
    const more = start + query.limit < all.length;
    return { jobs: visible.map((job) => structuredClone(job)), ...(more && last && { next: { id: last.id, owner, createdAt: last.createdAt } }) };
  }

  async dueForSweep(shard: string, now: Date, limit: number): Promise<JobRecord[]> {
    return [...this.jobs.values()]
      .filter((job) => job.sweepShard === shard && job.sweepAt !== undefined && job.sweepAt <= now.toISOString())
      // Oldest entry first, as the sweep index's sort key orders a query.
      .sort((a, b) => ((a.sweepAt as string) < (b.sweepAt as string) ? -1 : (a.sweepAt as string) > (b.sweepAt as string) ? 1 : 0))
      .slice(0, limit)
      .map((job) => structuredClone(job));
  }

  async recordWebhook(id: string, state: WebhookState): Promise<void> {
    const job = this.jobs.get(id);
    if (job) this.jobs.set(id, { ...job, webhook: state });
  }

  async scheduleSweep(id: string, status: JobStatus, sweepAt: string, sweepShard: string, guard: SweepGuard = {}): Promise<boolean> {
    const job = this.jobs.get(id);
    if (job?.status !== status || job.publishedAt !== undefined) return false;
    if (guard.neverStarted && job.attempts !== 0) return false;
    if (guard.seenSweepAt !== undefined && job.sweepAt !== guard.seenSweepAt) return false;
    if (guard.noEntry && job.sweepAt !== undefined) return false;
    this.jobs.set(id, { ...job, sweepAt, sweepShard });
    return true;
  }
}
