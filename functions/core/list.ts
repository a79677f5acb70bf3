/** Listing a caller's jobs, newest first, a page at a time. */
import { isJobId } from './ids.ts';
import { JOB_STATUSES, type JobRecord, type JobResource, type JobStatus, toResource } from './job.ts';
import { type JobStore, LIST_KEY_FIELDS, type ListKey } from './ports.ts';
import { invalidParameterProblem } from './problem.ts';

/** A page as the API returns it. */
export interface ListResult {
  readonly jobs: readonly JobResource[];
  readonly nextCursor?: string;
}

/** Bounds of `limit`. */
export const LIST_LIMITS = { default: 20, max: 100 } as const;

/** A time as jobs record it (`Date.prototype.toISOString`). */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The cursor is the store's position, base64url-encoded; opaque to clients, checked when it comes back. */
function encodeCursor(key: ListKey): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

function decodeCursor(cursor: string, owner: string): ListKey {
  const invalid = () => invalidParameterProblem('cursor', 'is not a cursor this API returned; start again without it');
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof key !== 'object' || key === null || Array.isArray(key)) throw invalid();
  // Exactly the fields a store returns, each a non-empty string: anything else the table would refuse (a 500).
  const entries = Object.entries(key);
  const names = entries.map(([name]) => name).sort();
  if (names.join() !== LIST_KEY_FIELDS.join() || entries.some(([, value]) => typeof value !== 'string' || value === '')) throw invalid();
  // A cursor names a position in one owner's list; another owner's cannot be used to read it.
  if ((key as Record<string, string>).owner !== owner) throw invalid();
  // And each the shape the API writes: a forged id or time of any length would reach the table's key limits (a 500).
  const { id = '', createdAt = '' } = key as ListKey;
  if (!isJobId(id) || !ISO_TIME.test(createdAt)) throw invalid();
  return key as ListKey;
}

/** Parses the query string parameters of `GET /jobs`, throwing a 400 problem naming the bad one. */
export function parseListQuery(params: Readonly<Record<string, string | undefined>>, owner: string): { limit: number; status?: JobStatus; after?: ListKey } {
  const { status, limit, cursor } = params;
  const allowed = new Set(['status', 'limit', 'cursor']);
  for (const name of Object.keys(params)) if (!allowed.has(name)) throw invalidParameterProblem(name, 'is not a known query parameter (status, limit, cursor)');
  if (status !== undefined && !(JOB_STATUSES as readonly string[]).includes(status)) {
    throw invalidParameterProblem('status', `must be one of ${JOB_STATUSES.join(', ')}`);
  }
  let parsedLimit: number = LIST_LIMITS.default;
  if (limit !== undefined) {
    parsedLimit = /^\d{1,3}$/.test(limit) ? Number(limit) : Number.NaN;
    if (!(parsedLimit >= 1 && parsedLimit <= LIST_LIMITS.max)) throw invalidParameterProblem('limit', `must be an integer from 1 to ${LIST_LIMITS.max}`);
  }
  return {
    limit: parsedLimit,
    ...(status !== undefined && { status: status as JobStatus }),
    ...(cursor !== undefined && { after: decodeCursor(cursor, owner) }),
  };
}

/**
 * Most bytes of jobs one page carries, counted as the function returns them (the page's JSON is a
 * string inside the JSON of its response): well under Lambda's 6 MB response limit, which a page
 * of 100 jobs with large results would otherwise exceed.
 */
export const MAX_PAGE_BYTES = 5 * 1024 * 1024;

/** A job's position in its owner's list, as a store names it. */
function listKeyOf(job: JobRecord): ListKey {
  const key: Record<(typeof LIST_KEY_FIELDS)[number], string> = { createdAt: job.createdAt, id: job.id, owner: job.owner };
  return key;
}

/** One page of the owner's jobs: `limit` of them at most, fewer when their size calls for it (the cursor then goes on from the last). */
export async function listJobs(
  store: JobStore,
  owner: string,
  params: Readonly<Record<string, string | undefined>>,
  now: Date,
  maxPageBytes = MAX_PAGE_BYTES,
): Promise<ListResult> {
  const query = parseListQuery(params, owner);
  const page = await store.list(owner, { ...query, now, maxBytes: maxPageBytes });
  const jobs: JobResource[] = [];
  let bytes = 0;
  for (const job of page.jobs) {
    const resource = toResource(job);
    const size = Buffer.byteLength(JSON.stringify(JSON.stringify(resource)));
    if (jobs.length > 0 && bytes + size > maxPageBytes) return { jobs, nextCursor: encodeCursor(listKeyOf(page.jobs[jobs.length - 1] as JobRecord)) };
    bytes += size;
    jobs.push(resource);
  }
  return { jobs, ...(page.next && { nextCursor: encodeCursor(page.next) }) };
}
