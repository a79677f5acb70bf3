/**
 * Sends one webhook delivery over HTTP(S). The host is resolved first and every address is judged
 * (outside local mode, no private, loopback or link-local target); the connection then goes to the
 * address that was judged, so a DNS answer that changes in between (rebinding) cannot redirect it.
 * Redirects are never followed.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { resolvedAddressesRefusal, type WebhookMode } from '#core/webhooks';

/** The response of an attempt, as far as the verdict needs it. */
export interface AttemptResponse {
  readonly status: number;
  readonly retryAfter?: string;
}

/** The target was refused before any connection was made. */
export class RefusedTargetError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'RefusedTargetError';
  }
}

/** Resolves, judges and posts; throws RefusedTargetError, or a network error (retryable). */
export async function postWebhook(
  target: string,
  headers: Readonly<Record<string, string>>,
  body: string,
  options: { readonly mode: WebhookMode; readonly timeoutMs: number },
): Promise<AttemptResponse> {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await dnsLookup(host, { all: true, verbatim: true });
  const refusal = resolvedAddressesRefusal(
    addresses.map((entry) => entry.address),
    options.mode,
  );
  if (refusal) throw new RefusedTargetError(refusal);
  const pinned = addresses[0] as { address: string; family: number };
  // Connect to the judged address whatever a second lookup would say; TLS still checks the host name.
  const lookup: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: 'POST',
        lookup,
        headers: { 'content-type': 'application/json', 'user-agent': 'async-jobs-webhooks/1', ...headers, 'content-length': Buffer.byteLength(body) },
        signal: AbortSignal.timeout(options.timeoutMs),
      },
      (response) => {
        // The body is not needed; drain it (bounded by the timeout) so the socket is released.
        response.resume();
        response.on('end', () => {
          const retryAfter = response.headers['retry-after'];
          resolve({ status: response.statusCode ?? 0, ...(retryAfter && { retryAfter }) });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
