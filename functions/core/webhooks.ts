/**
 * Webhooks, the Standard Webhooks way: who may be called (SSRF rules), how a delivery is signed,
 * what a response means, and when to try again.
 */
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';
import type { FieldError } from './problem.ts';

/** `local`: `npm start`, where http to loopback is allowed. `cloud`: everything else. */
export type WebhookMode = 'local' | 'cloud';

/** What the job record shows about its callback. */
export interface WebhookState {
  readonly status: 'pending' | 'retrying' | 'delivered' | 'gone' | 'failed' | 'refused';
  readonly attempts: number;
  readonly lastStatusCode?: number;
  readonly lastError?: string;
  readonly lastAttemptAt?: string;
  /** The event being delivered (the `webhook-id`). */
  readonly eventId?: string;
}

// ---------------------------------------------------------------- addresses

function ipv4Bytes(address: string): number[] | undefined {
  const parts = address.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((byte, i) => Number.isInteger(byte) && byte >= 0 && byte <= 255 && /^\d{1,3}$/.test(parts[i] ?? '')) ? bytes : undefined;
}

/** The 16 bytes of an IPv6 address (with an embedded dotted IPv4 tail, if any). */
function ipv6Bytes(address: string): number[] | undefined {
  let text = address.toLowerCase().replace(/^\[|\]$/g, '').split('%')[0] ?? '';
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  let tailWords: string[] = [];
  if (tail?.[1]) {
    const v4 = ipv4Bytes(tail[1]);
    if (!v4) return undefined;
    tailWords = [((v4[0] ?? 0) * 256 + (v4[1] ?? 0)).toString(16), ((v4[2] ?? 0) * 256 + (v4[3] ?? 0)).toString(16)];
    text = text.slice(0, -tail[1].length) + tailWords.join(':');
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - rest.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) return undefined;
  const words = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  if (words.length !== 8 || !words.every((word) => /^[0-9a-f]{1,4}$/.test(word))) return undefined;
  return words.flatMap((word) => [Number.parseInt(word, 16) >> 8, Number.parseInt(word, 16) & 0xff]);
}

function v4Reason(b: readonly number[]): string | undefined {
  const [a = 0, c = 0] = b;
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && c >= 16 && c <= 31) || (a === 192 && c === 168)) return 'private (RFC 1918)';
  if (a === 169 && c === 254) return 'link-local';
  if (a === 100 && c >= 64 && c <= 127) return 'carrier-grade NAT (RFC 6598)';
  if (a === 0) return 'unspecified ("this network")';
  const [, , d = 0] = b;
  if ((a === 192 && c === 0 && (d === 0 || d === 2)) || (a === 198 && c === 51 && d === 100) || (a === 203 && c === 0 && d === 113)) return 'reserved (RFC 6890)';
  if (a === 198 && (c === 18 || c === 19)) return 'reserved (benchmarking, RFC 2544)';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  return undefined;
}

/**
 * Why an IP address may not receive webhooks, or undefined when it may: loopback, private (RFC 1918,
 * RFC 4193), link-local (169.254.0.0/16 with the cloud metadata service, fe80::/10), unspecified,
 * multicast, carrier-grade NAT, reserved (the special-purpose blocks of RFC 6890); IPv6 forms that carry
 * an IPv4 address (mapped, compatible, SIIT, NAT64, 6to4) are judged by it, and local-use NAT64 and
 * Teredo, which reach addresses this cannot see, are refused.
 */
export function forbiddenAddressReason(address: string): string | undefined {
  const v4 = ipv4Bytes(address);
  if (v4) return v4Reason(v4);
  const v6 = ipv6Bytes(address);
  if (!v6) return 'not an IP address';
  const zeroes = (from: number, to: number) => v6.slice(from, to).every((byte) => byte === 0);
  if (zeroes(0, 15) && v6[15] === 1) return 'loopback';
  if (zeroes(0, 16)) return 'unspecified';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible), 64:ff9b::a.b.c.d (NAT64): the IPv4 address decides.
  const embedded = v6.slice(12);
  if (zeroes(0, 10) && v6[10] === 0xff && v6[11] === 0xff) return v4Reason(embedded) ?? undefined;
  if (zeroes(0, 12)) return v4Reason(embedded) ?? 'reserved';
  // ::ffff:0:a.b.c.d (SIIT) and 64:ff9b::a.b.c.d (NAT64) translate to the IPv4 address, and 2002:a.b.c.d:: (6to4) tunnels to it.
  if (zeroes(0, 8) && v6[8] === 0xff && v6[9] === 0xff && zeroes(10, 12)) return v4Reason(embedded);
  const prefix = ((v6[0] ?? 0) << 8) | (v6[1] ?? 0);
  const second = ((v6[2] ?? 0) << 8) | (v6[3] ?? 0);
  if (prefix === 0x64 && second === 0xff9b && zeroes(4, 12)) return v4Reason(embedded);
  if (prefix === 0x64 && second === 0xff9b && v6[4] === 0 && v6[5] === 1) return 'local-use NAT64 (RFC 8215)';
  if (prefix === 0x2002) return v4Reason(v6.slice(2, 6));
  if (prefix === 0x2001 && second === 0) return 'Teredo tunnel';
  if (prefix === 0x2001 && second === 0x0db8) return 'reserved (documentation)';
  if (prefix === 0x0100 && zeroes(2, 8)) return 'reserved (discard-only)';
  const first = v6[0] ?? 0;
  if ((first & 0xfe) === 0xfc) return 'private (RFC 4193)';
  if (first === 0xfe && ((v6[1] ?? 0) & 0xc0) === 0x80) return 'link-local';
  if (first === 0xfe && ((v6[1] ?? 0) & 0xc0) === 0xc0) return 'site-local';
  if (first === 0xff) return 'multicast';
  return undefined;
}

/** True for loopback addresses (allowed over http in local mode). */
export function isLoopback(address: string): boolean {
  return forbiddenAddressReason(address) === 'loopback';
}

function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Checks a callback URL before any DNS lookup: shape, scheme, and literal addresses. Returns field
 * errors for `/callbackUrl` (empty when acceptable so far; resolution is checked separately).
 */
export function callbackUrlErrors(raw: string, mode: WebhookMode): FieldError[] {
  const field = '/callbackUrl';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return [{ field, message: 'must be an absolute URL' }];
  }
  if (url.username || url.password) return [{ field, message: 'must not carry credentials' }];
  const host = hostOf(url);
  const loopbackName = host === 'localhost' || host.endsWith('.localhost');
  const literal = isIP(host) !== 0;
  const loopback = loopbackName || (literal && isLoopback(host));
  if (url.protocol === 'http:') {
    if (mode === 'local' && loopback) return [];
    return [{ field, message: mode === 'local' ? 'must be https, or http to a loopback address' : 'must be https' }];
  }
  if (url.protocol !== 'https:') return [{ field, message: 'must be an https URL' }];
  if (loopback) return mode === 'local' ? [] : [{ field, message: 'must not point at this host (loopback)' }];
  if (literal) {
    const reason = forbiddenAddressReason(host);
    if (reason) return [{ field, message: `must not point at a ${reason} address` }];
  }
  return [];
}

/** Judges the addresses a host resolved to; the reason the target is refused, or undefined. */
export function resolvedAddressesRefusal(addresses: readonly string[], mode: WebhookMode): string | undefined {
  if (addresses.length === 0) return 'the host does not resolve';
  for (const address of addresses) {
    if (mode === 'local' && isLoopback(address)) continue;
    const reason = forbiddenAddressReason(address);
    if (reason) return `the host resolves to a ${reason} address (${address})`;
  }
  return undefined;
}

// ---------------------------------------------------------------- signing

/** The key bytes of a `whsec_…` secret (the prefix is optional). */
export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` for one secret. */
export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', secretKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** The three Standard Webhooks headers; one signature per active secret, space-separated (rotation). */
export function webhookHeaders(secrets: readonly string[], id: string, timestamp: number, body: string): Record<string, string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': secrets.map((secret) => sign(secret, id, timestamp, body)).join(' '),
  };
}

/**
 * The signing secrets in force now, from the stored value: a plain `whsec_…` string, or
 * `{"current": "whsec_…", "previous": "whsec_…", "previousUntil": "<ISO time>"}` during a rotation.
 */
export function activeSecrets(stored: string, now: Date): string[] {
  const text = stored.trim();
  if (!text.startsWith('{')) return [text];
  const value = JSON.parse(text) as { current?: unknown; previous?: unknown; previousUntil?: unknown };
  if (typeof value.current !== 'string' || !value.current) throw new Error('the signing secret has no "current" key');
  const secrets = [value.current];
  const until = typeof value.previousUntil === 'string' ? Date.parse(value.previousUntil) : Number.NaN;
  if (typeof value.previous === 'string' && value.previous && (Number.isNaN(until) || until > now.getTime())) secrets.push(value.previous);
  return secrets;
}

// ---------------------------------------------------------------- responses and retries

/** What an attempt's outcome means. */
export type AttemptVerdict =
  | { readonly kind: 'delivered' }
  | { readonly kind: 'gone' }
  | { readonly kind: 'retry'; readonly minDelaySeconds?: number; readonly reason: string };

/** Parses Retry-After (seconds or an HTTP date) into seconds from now, capped. */
export function retryAfterSeconds(header: string | undefined, now: Date, cap: number): number | undefined {
  if (!header) return undefined;
  const seconds = /^\d+$/.test(header.trim()) ? Number(header.trim()) : (Date.parse(header) - now.getTime()) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  return Math.min(cap, Math.max(0, Math.ceil(seconds)));
}

/** 2xx delivered; 410 gone for good; anything else (3xx included: redirects are not followed) retried. */
export function judgeResponse(status: number, retryAfter: string | undefined, now: Date, cap: number): AttemptVerdict {
  if (status >= 200 && status < 300) return { kind: 'delivered' };
  if (status === 410) return { kind: 'gone' };
  const reason = status >= 300 && status < 400 ? `redirect ${status} not followed` : `HTTP ${status}`;
  if (status === 429 || status >= 500) {
    const wait = retryAfterSeconds(retryAfter, now, cap);
    return { kind: 'retry', reason, ...(wait !== undefined && { minDelaySeconds: wait }) };
  }
  return { kind: 'retry', reason };
}

/** Attempts in all: the first, and one after each step of the schedule. */
export function maxAttempts(schedule: readonly number[]): number {
  return schedule.length + 1;
}

/** Seconds to wait after failed attempt `attempt` (1-based): the schedule's step with ±jitter, at least 1. */
export function retryDelaySeconds(schedule: readonly number[], attempt: number, jitter: number, random: () => number = Math.random): number {
  const base = schedule[Math.min(schedule.length, Math.max(1, attempt)) - 1] ?? 1;
  return Math.max(1, Math.round(base * (1 - jitter + 2 * jitter * random())));
}
