/**
 * `verifyWebhook()`: the Standard Webhooks example, deliveries signed here with an independent
 * HMAC, and every way a delivery must be refused.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WebhookVerificationError, verifyWebhook } from '../../client/index.ts';

/** Signs like a sender does: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` under the decoded secret. */
function sign(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

const secret = `whsec_${randomBytes(24).toString('base64')}`;
const now = new Date('2026-11-23T22:00:00Z');
const nowSeconds = Math.floor(now.getTime() / 1000);
const event = { id: 'evt_1', type: 'job.succeeded', timestamp: now.toISOString(), data: { id: 'job_1', status: 'SUCCEEDED' } };
const body = JSON.stringify(event);

function delivery(overrides: { body?: string; timestamp?: number; signature?: string } = {}) {
  const timestamp = overrides.timestamp ?? nowSeconds;
  return {
    body: overrides.body ?? body,
    headers: {
      'webhook-id': 'evt_1',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': overrides.signature ?? sign(secret, 'evt_1', timestamp, body),
    },
  };
}

describe('verifyWebhook accepts', () => {
  it('the example of the Standard Webhooks specification', () => {
    // Prepare
    const headers = {
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    // Act
    const payload = verifyWebhook('{"test": 2432232314}', headers, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', { now: new Date(1614265330_000) });
    // Assess
    expect(payload).toEqual({ test: 2432232314 });
  });

  it.each([
    ['a string body and a plain headers object', (d: ReturnType<typeof delivery>) => ({ body: d.body, headers: d.headers })],
    ['a Buffer body and fetch Headers', (d: ReturnType<typeof delivery>) => ({ body: Buffer.from(d.body), headers: new Headers(d.headers) })],
    [
      'Node headers with other casing and array values',
      (d: ReturnType<typeof delivery>) => ({
        body: new Uint8Array(Buffer.from(d.body)),
        headers: { 'Webhook-Id': [d.headers['webhook-id']], 'WEBHOOK-TIMESTAMP': d.headers['webhook-timestamp'], 'webhook-signature': d.headers['webhook-signature'] },
      }),
    ],
  ])('a valid delivery given as %s, returning its event', (_form, shape) => {
    // Prepare
    const { body: raw, headers } = shape(delivery());
    // Act
    const verified = verifyWebhook(raw, headers, secret, { now });
    // Assess
    expect(verified).toEqual(event);
  });

  it('a signature header listing several signatures when one of them matches (a secret rotation)', () => {
    // Prepare
    const oldSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const signature = `${sign(oldSecret, 'evt_1', nowSeconds, body)} ${sign(secret, 'evt_1', nowSeconds, body)}`;
    // Act
    const verified = verifyWebhook(body, delivery({ signature }).headers, secret, { now });
    // Assess
    expect(verified.id).toBe('evt_1');
  });

  it('a timestamp just inside the 5 minutes, either way', () => {
    // Prepare
    const early = delivery({ timestamp: nowSeconds - 300 });
    const late = delivery({ timestamp: nowSeconds + 300 });
    // Act
    const verified = [verifyWebhook(early.body, early.headers, secret, { now }), verifyWebhook(late.body, late.headers, secret, { now })];
    // Assess
    expect(verified.map((payload) => payload.id)).toEqual(['evt_1', 'evt_1']);
  });
});

describe('verifyWebhook refuses', () => {
  const otherSecret = `whsec_${randomBytes(24).toString('base64')}`;
  const valid = delivery();

  it.each([
    ['a tampered body', { ...valid, body: body.replace('SUCCEEDED', 'FAILED') }, secret, /no webhook-signature matches/],
    ['the wrong secret', valid, otherSecret, /no webhook-signature matches/],
    ['a timestamp over 5 minutes old (a replay)', delivery({ timestamp: nowSeconds - 301 }), secret, /more than 300 s away/],
    ['a timestamp over 5 minutes ahead', delivery({ timestamp: nowSeconds + 301 }), secret, /more than 300 s away/],
    [
      'a signature over another timestamp than the header says',
      { ...valid, headers: { ...valid.headers, 'webhook-timestamp': String(nowSeconds - 1) } },
      secret,
      /no webhook-signature matches/,
    ],
    [
      'several signatures of which none matches',
      delivery({ signature: `${sign(otherSecret, 'evt_1', nowSeconds, body)} v1,${Buffer.alloc(32).toString('base64')}` }),
      secret,
      /no webhook-signature matches/,
    ],
    ['a matching signature under another version label', delivery({ signature: sign(secret, 'evt_1', nowSeconds, body).replace('v1,', 'v1a,') }), secret, /no webhook-signature matches/],
    ['a delivery without webhook-signature', { ...valid, headers: { 'webhook-id': 'evt_1', 'webhook-timestamp': String(nowSeconds) } }, secret, /missing/],
    ['a timestamp that is not a number', { ...valid, headers: { ...valid.headers, 'webhook-timestamp': '2026-11-23' } }, secret, /not a Unix time/],
  ])('%s', (_case, input, key, message) => {
    // Act
    const verify = () => verifyWebhook(input.body, input.headers, key, { now });
    // Assess
    expect(verify).toThrow(WebhookVerificationError);
    expect(verify).toThrow(message);
  });

  it('a secret that is not whsec_ + base64, as a configuration error', () => {
    // Act
    const verify = () => verifyWebhook(valid.body, valid.headers, 'whsec_not base64!', { now });
    // Assess
    expect(verify).toThrow(TypeError);
  });
});
