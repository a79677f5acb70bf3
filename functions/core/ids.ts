/** Job and event identifiers, idempotency-derived ids, and request fingerprints. */
import { createHash, createHmac, randomBytes } from 'node:crypto';

const JOB_ID = /^job_[A-Za-z0-9_-]{22}$/;

/** A new job id: `job_` + 22 base64url characters (128 bits of randomness). */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

/**
 * The id of the job a caller creates with an Idempotency-Key: 128 bits of a keyed hash (HMAC-SHA256
 * with a deployment secret) of caller and key, so the same caller and key always name the same job,
 * and knowing a key reveals nothing about the id.
 */
export function idempotentJobId(secret: string, owner: string, key: string): string {
  const digest = createHmac('sha256', secret).update(owner).update('\0').update(key).digest();
  return `job_${digest.subarray(0, 16).toString('base64url')}`;
}

/** A new completion event id: `evt_` + 128 random bits. */
export function newEventId(): string {
  return `evt_${randomBytes(16).toString('base64url')}`;
}

/** A fresh id for one start of a job, so the worker that made the start can tell it is its own. */
export function newRunId(): string {
  return `run_${randomBytes(12).toString('base64url')}`;
}

/** True when `id` has the shape of a job id; anything else cannot exist and reads as 404 without a lookup. */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/** JSON with object keys sorted, so equal values have one text whatever the key order. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 fingerprint of a request body; key order and whitespace do not change it. */
export function requestFingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('base64url');
}

/** The `sweep` index partition of a job: spreads index writes over `shards` partitions. */
export function sweepShardOf(id: string, shards: number): string {
  return String((createHash('sha256').update(id).digest()[0] ?? 0) % shards);
}
