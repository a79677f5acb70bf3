/**
 * Verifying webhook deliveries, for receivers in Node (this module imports `node:crypto`; the
 * browser entry `browser.ts` leaves it out). Compatible with Standard Webhooks: the signature is
 * `v1,` + base64 HMAC-SHA256 of `${webhook-id}.${webhook-timestamp}.${body}`, keyed with the
 * base64 part of a `whsec_…` secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { AsyncJobsError } from './errors.ts';
import type { JobEvent } from './types.ts';

/** A delivery that must not be trusted: unsigned, badly signed, or signed too long ago. */
export class WebhookVerificationError extends AsyncJobsError {
  override readonly name = 'WebhookVerificationError';
}

/** Request headers as a framework hands them over: a fetch `Headers`, or Node's `req.headers`. */
export type WebhookHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /** Largest accepted distance between `webhook-timestamp` and now, either way. @default 300 (5 minutes) */
  readonly toleranceSeconds?: number;
  /** The current time. @default new Date() */
  readonly now?: Date;
}

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return typeof value === 'string' ? value : value?.[0];
  }
  return undefined;
}

/** The HMAC key of a signing secret (`whsec_` and base64, the prefix optional); throws a TypeError naming the form for another. */
export function signingKey(secret: string): Buffer {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  if (!BASE64.test(encoded)) throw new TypeError(`the webhook secret must be '${SECRET_PREFIX}' followed by base64`);
  return Buffer.from(encoded, 'base64');
}

/**
 * Checks a webhook delivery and returns its event. Pass the body exactly as received (parsing and
 * re-serializing it changes the bytes the signature covers). Throws
 * {@link WebhookVerificationError} when a header is missing, the timestamp is more than
 * `toleranceSeconds` away from now (a replay), or no `v1` signature matches; the comparison is
 * constant-time. Several space-separated signatures are accepted, as sent while a secret rotates.
 */
export function verifyWebhook(
  rawBody: string | Uint8Array,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): JobEvent {
  const key = signingKey(secret);
  const id = headerValue(headers, 'webhook-id');
  const timestamp = headerValue(headers, 'webhook-timestamp');
  const signatures = headerValue(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  }
  if (!/^\d+$/.test(timestamp)) throw new WebhookVerificationError(`webhook-timestamp '${timestamp}' is not a Unix time in seconds`);
  const nowSeconds = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(nowSeconds - Number(timestamp)) > tolerance) {
    throw new WebhookVerificationError(`webhook-timestamp is more than ${tolerance} s away from now`);
  }
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
  const matches = signatures.split(' ').some((entry) => {
    const [version, signature] = entry.split(',', 2);
    if (version !== 'v1' || !signature || !BASE64.test(signature)) return false;
    const candidate = Buffer.from(signature, 'base64');
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  });
  if (!matches) throw new WebhookVerificationError('no webhook-signature matches the body');
  try {
    return JSON.parse(body.toString('utf8')) as JobEvent;
  } catch (error) {
    throw new WebhookVerificationError('the signed body is not JSON', { cause: error });
  }
}
