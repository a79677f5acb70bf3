/** Job and event identifiers: 128 random bits, URL-safe. */
import { randomBytes } from 'node:crypto';

const JOB_ID = /^job_[A-Za-z0-9_-]{22}$/;

/** A new job id: `job_` + 22 base64url characters (128 bits of randomness). */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

/** A new completion event id: `evt_` + 128 random bits. */
export function newEventId(): string {
  return `evt_${randomBytes(16).toString('base64url')}`;
}

/** True when `id` has the shape of a job id; anything else cannot exist and reads as 404 without a lookup. */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}
