/**
 * Garbage in, never a 5xx out: thousands of generated malformed requests (methods, paths, headers,
 * bodies) against the local runtime, then a normal request to show the server is still alive.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';

const REQUESTS = 5_000;

/** A small seeded PRNG (mulberry32), so a failure can be replayed with its seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

/** Percent-encodes the UTF-8 bytes of a character (lone surrogates included, as U+FFFD). */
function percentEncode(char: string): string {
  return [...Buffer.from(char)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

function generator(random: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const int = (max: number) => Math.floor(random() * max);
  const text = (length: number) => Array.from({ length }, () => String.fromCodePoint(pick([0x20 + int(95), int(0x2fff), 0xd800 + int(0x800), 0x1f600 + int(80)]))).join('');
  const json = (depth: number): unknown => {
    const roll = random();
    if (depth <= 0 || roll < 0.3) return pick<unknown>([null, true, false, int(1e6) - 5e5, random() * 1e308, -0, text(int(20)), '', 'job_AAAAAAAAAAAAAAAAAAAAAA']);
    if (roll < 0.6) return Array.from({ length: int(5) }, () => json(depth - 1));
    const keys = ['type', 'input', 'delaySeconds', 'timeoutSeconds', 'metadata', 'callbackUrl', '__proto__', 'constructor', 'toString', text(6)];
    return Object.fromEntries(Array.from({ length: int(6) }, () => [pick(keys), json(depth - 1)]));
  };
  const body = (): Buffer | undefined =>
    pick<() => Buffer | undefined>([
      () => undefined,
      () => Buffer.from(JSON.stringify(json(4))),
      () => Buffer.from(JSON.stringify({ type: pick(['echo', 'sleep', 'fail', 'flaky', 'ECHO', '', 'x'.repeat(65), text(8)]), input: json(3), delaySeconds: pick([0, -1, 1.5, 901, '5', null, Number.MAX_VALUE]), timeoutSeconds: pick([0, 1, 10_000, 'x']) })),
      () => Buffer.from(JSON.stringify(json(3)).slice(0, int(40))), // truncated
      () => Buffer.from(`${'['.repeat(5_000 + int(20_000))}${']'.repeat(5_000)}`), // deep or unbalanced
      () => Buffer.from(Array.from({ length: int(300) }, () => int(256))), // random bytes
      () => Buffer.from(JSON.stringify({ type: 'echo', input: 'x'.repeat(100_000 + int(80_000)) })), // around the limit
      () => Buffer.from(`{"type":"echo","metadata":{${Array.from({ length: 20 }, (_, i) => `"k${i}":"${'v'.repeat(int(300))}"`).join(',')}}}`),
      () => Buffer.from('\uFEFF{"type":"echo"}'),
      () => Buffer.from('{"type":"echo","delaySeconds":1e400,"timeoutSeconds":-1e-400}'),
    ])();
  const path = (): string =>
    pick<() => string>([
      () => '/jobs',
      () => '/jobs/',
      () => `/jobs/${text(int(30))}`,
      () => `/jobs/job_${'A'.repeat(int(30))}`,
      () => '/jobs/%zz%',
      () => `/jobs?${pick(['status', 'limit', 'cursor', 'x'])}=${text(int(20))}&limit=${pick(['0', '-1', '1e3', '50', 'NaN', ''])}`,
      () => `/jobs?cursor=${Buffer.from(JSON.stringify(json(2))).toString('base64url')}`,
      () => `/${text(int(10))}`,
      () => `/jobs/job_AAAAAAAAAAAAAAAAAAAAAA/${text(5)}`,
      () => `/${'a/'.repeat(int(500))}`,
      () => '/openapi.json',
    ])().replace(/[^\x21-\x7e]/gu, percentEncode);
  const headers = (): Record<string, string> => {
    const result: Record<string, string> = {};
    const contentType = pick([undefined, 'application/json', 'application/json; charset=utf-8', 'application/merge-patch+json', 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/jsonx', '', 'APPLICATION/JSON']);
    if (contentType !== undefined) result['content-type'] = contentType;
    if (random() < 0.3) result['idempotency-key'] = pick(['k', '', ' ', 'x'.repeat(300), 'key with spaces', `k-${int(20)}`, text(10).replace(/[^\x21-\x7e]/gu, percentEncode)]);
    if (random() < 0.1) result['content-encoding'] = pick(['gzip', 'br', 'identity']);
    if (random() < 0.1) result.accept = pick(['application/xml', '*/*', 'text/html']);
    return result;
  };
  return (): FuzzRequest => {
    const request: FuzzRequest = {
      method: pick(['GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND']),
      path: path(),
      headers: headers(),
    };
    const payload = body();
    if (payload) request.body = payload;
    return request;
  };
}

function send(base: URL, request: FuzzRequest): Promise<{ status: number; contentType: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method: request.method, path: request.path, headers: request.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

describe('fuzzing the API', () => {
  let runtime: LocalRuntime;
  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, onError: () => undefined, onFunctionOutput: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it(`answers ${REQUESTS} malformed requests without a single 5xx or stack trace, and stays up`, async () => {
    // Prepare
    const seed = Number(process.env.FUZZ_SEED ?? 20261123);
    const next = generator(prng(seed));
    const base = new URL(runtime.url);
    const failures: { request: string; status: number; body: string }[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    // Act
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < REQUESTS) {
          sent += 1;
          const request = next();
          const response = await send(base, request);
          statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
          const leaked = /\bat .+\.(?:ts|js|mjs):\d+/.test(response.body);
          if (response.status >= 500 || leaked) {
            failures.push({ request: `${request.method} ${request.path} ${JSON.stringify(request.headers)} ${request.body?.subarray(0, 200).toString()}`, status: response.status, body: response.body.slice(0, 300) });
          }
        }
      }),
    );
    const alive = await fetch(`${runtime.url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type":"echo","input":"still here"}' });
    // Assess
    expect(failures, `seed ${seed}`).toEqual([]);
    expect([...statuses.keys()].every((status) => status >= 200 && status < 500)).toBe(true);
    expect(statuses.get(400)).toBeGreaterThan(100);
    expect(alive.status).toBe(202);
  }, 240_000);
});
