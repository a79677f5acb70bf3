/**
 * The local HTTP API in front of the functions: which requests reach a function, and the event it gets.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGateway, isLoopbackHost } from '#infra/local/http-gateway';

/** A gateway whose one route records the events it is invoked with. */
describe('the local HTTP API', () => {
  const invoked: APIGatewayProxyEventV2[] = [];
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    server = createGateway(
      [{ method: 'POST', path: '/jobs', function: 'submit-job' }],
      'route-fallback',
      async (_name, event) => {
        invoked.push(event);
        return { statusCode: 202, body: '{}' };
      },
      () => undefined,
      undefined,
      undefined,
      ['dev.example.test'],
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    invoked.length = 0;
  });

  /** A raw request, so that Host and the body's bytes are exactly what the test says. */
  function post(host: string, body: Buffer, contentType = 'application/json'): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const request = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/jobs', headers: { host, 'content-type': contentType, 'content-length': body.length } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      request.on('error', reject);
      request.end(body);
    });
  }

  it('refuses a request for another host name with 403, before any function runs: a page that rebinds its name to 127.0.0.1 cannot use the API', async () => {
    // Act
    const answer = await post(`attacker.example:${port}`, Buffer.from('{"type":"echo"}'));
    // Assess
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body)).toEqual({
      message: `Forbidden: the local API answers requests for localhost and 127.0.0.1 only, not for the host "attacker.example:${port}" (a proxy's host name: npm start -- --allow-host <name>)`,
    });
    expect(invoked).toEqual([]);
  });

  it.each(['127.0.0.1', 'localhost', 'api.localhost', 'dev.example.test'])('serves requests for %s (the last allowed as a proxy’s)', async (name) => {
    // Act
    const answer = await post(`${name}:${port}`, Buffer.from('{"type":"echo"}'));
    // Assess
    expect(answer.status).toBe(202);
    expect(invoked).toHaveLength(1);
  });

  it('passes a JSON body that is not UTF-8 on base64-encoded, byte for byte, rather than with U+FFFD in place of the bytes sent', async () => {
    // Prepare
    const bytes = Buffer.concat([Buffer.from('{"type":"echo","input":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    // Act
    await post(`127.0.0.1:${port}`, bytes);
    // Assess
    expect(invoked[0]).toMatchObject({ isBase64Encoded: true, body: bytes.toString('base64') });
  });

  it('passes a UTF-8 JSON body on as text', async () => {
    // Act
    await post(`127.0.0.1:${port}`, Buffer.from('{"type":"echo","input":"café ✓"}'));
    // Assess
    expect(invoked[0]).toMatchObject({ isBase64Encoded: false, body: '{"type":"echo","input":"café ✓"}' });
  });
});

describe('isLoopbackHost', () => {
  it.each([
    ['dev.example.test:443', true],
    ['DEV.example.test.', true],
    ['other.example.test', false],
  ])('with --allow-host dev.example.test: %s → %s', (host, answered) => {
    // Act / Assess
    expect(isLoopbackHost(host, ['dev.example.test'])).toBe(answered);
  });

  it.each([
    ['127.0.0.1:3000', true],
    ['127.1.2.3', true],
    ['LOCALHOST:3000', true],
    ['sqs.us-east-1.localhost:9324', true],
    ['[::1]:3000', true],
    ['localhost.:3000', true],
    ['0.0.0.0:3000', true],
    [undefined, true],
    ['attacker.example', false],
    ['127.0.0.1.attacker.example', false],
    ['localhost.attacker.example:3000', false],
    ['[::ffff:7f00:1]:3000', false],
    ['10.0.0.5:3000', false],
    ['', false],
  ])('%s → %s', (host, loopback) => {
    // Act / Assess
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
