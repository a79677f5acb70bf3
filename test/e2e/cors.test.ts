/**
 * CORS on the local API, as HTTP API applies the construct's `corsOrigins`: the gateway answers a
 * preflight without credentials (the stack's OPTIONS route has no authorizer), and lets an allowed
 * page read the headers it needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalRuntime, startLocalRuntime } from '#infra/local/runtime';

describe('CORS for an allowed browser origin, with JWT auth', () => {
  let runtime: LocalRuntime;
  const origin = 'https://app.example.com';

  beforeAll(async () => {
    runtime = await startLocalRuntime({ port: 0, auth: 'jwt', corsOrigins: [origin], onFunctionOutput: () => undefined });
  }, 60_000);
  afterAll(async () => {
    await runtime?.stop();
  });

  it('answers the preflight of a POST itself, without a token, allowing the headers a client sends', async () => {
    // Act
    const preflight = await fetch(`${runtime.url}/jobs`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,idempotency-key' },
    });

    // Assess
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-methods')?.split(',')).toEqual(expect.arrayContaining(['POST', 'GET', 'DELETE']));
    expect(preflight.headers.get('access-control-allow-headers')?.split(',')).toEqual(expect.arrayContaining(['authorization', 'content-type', 'idempotency-key']));
  });

  it('lets the page read Location and Retry-After of a 202, and the problem of a 401', async () => {
    // Act
    const accepted = await fetch(`${runtime.url}/jobs`, {
      method: 'POST',
      headers: { origin, authorization: `Bearer ${runtime.auth.issueToken('browser-user')}`, 'content-type': 'application/json' },
      body: '{"type":"echo"}',
    });
    const refused = await fetch(`${runtime.url}/jobs`, { headers: { origin } });

    // Assess
    expect(accepted.status).toBe(202);
    expect(accepted.headers.get('access-control-allow-origin')).toBe(origin);
    expect(accepted.headers.get('access-control-expose-headers')?.split(',')).toEqual(expect.arrayContaining(['location', 'retry-after']));
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(origin);
  });

  it('answers a plain OPTIONS without a token with the methods of the path, as the stack’s unauthorized OPTIONS route does', async () => {
    // Act
    const options = await fetch(`${runtime.url}/jobs/job_AAAAAAAAAAAAAAAAAAAAAA`, { method: 'OPTIONS' });
    const unknown = await fetch(`${runtime.url}/nothing`, { method: 'OPTIONS' });

    // Assess
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toBe('GET, DELETE, OPTIONS');
    expect(unknown.status).toBe(404);
  });

  it('keeps `OPTIONS /` behind the authorizer, as the stack’s `/{proxy+}` OPTIONS route does not match it', async () => {
    // Act
    const root = await fetch(`${runtime.url}/`, { method: 'OPTIONS' });

    // Assess
    expect(root.status).toBe(401);
  });

  it('gives another origin no CORS headers, so its browser keeps the answer from the page', async () => {
    // Act
    const preflight = await fetch(`${runtime.url}/jobs`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    const read = await fetch(`${runtime.url}/jobs`, { headers: { origin: 'https://evil.example' } });

    // Assess
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('without corsOrigins', () => {
  it('answers a preflight as any other OPTIONS: the methods of the path, and no CORS headers', async () => {
    // Prepare
    const runtime = await startLocalRuntime({ port: 0, onFunctionOutput: () => undefined });
    try {
      // Act
      const preflight = await fetch(`${runtime.url}/jobs`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } });
      // Assess
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('allow')).toBe('POST, GET, OPTIONS');
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await runtime.stop();
    }
  }, 60_000);

  it('refuses an origin with a path before starting anything', async () => {
    await expect(startLocalRuntime({ port: 0, corsOrigins: ['https://app.example.com/'] })).rejects.toThrow(/CORS origins must be/);
  });
});
