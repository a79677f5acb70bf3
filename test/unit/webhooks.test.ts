/**
 * Webhook rules: which targets are refused (IPv4, IPv6 and their mapped forms), how deliveries are
 * signed (checked with the reference implementation, not our own code), what responses mean, and
 * the retry schedule.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import {
  activeSecrets,
  callbackUrlErrors,
  forbiddenAddressReason,
  judgeResponse,
  maxAttempts,
  resolvedAddressesRefusal,
  retryAfterSeconds,
  retryDelaySeconds,
  webhookHeaders,
} from '#core/webhooks';
import { webhooks } from '#infra/config';
import { verifyWebhook } from '../../client/index.ts';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;

describe('forbiddenAddressReason', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.0.0.1', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['169.254.169.254', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT (RFC 6598)'],
    ['100.127.255.254', 'carrier-grade NAT (RFC 6598)'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fc00::1', 'private (RFC 4193)'],
    ['fd12:3456:789a::1', 'private (RFC 4193)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.1.2.3', 'private (RFC 1918)'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::10.0.0.1', 'private (RFC 1918)'],
    ['[::1]', 'loopback'],
    ['192.0.0.1', 'reserved (RFC 6890)'],
    ['192.0.2.1', 'reserved (RFC 6890)'],
    ['198.51.100.7', 'reserved (RFC 6890)'],
    ['203.0.113.9', 'reserved (RFC 6890)'],
    ['198.18.0.1', 'reserved (benchmarking, RFC 2544)'],
    ['198.19.255.254', 'reserved (benchmarking, RFC 2544)'],
    ['::ffff:0:a9fe:a9fe', 'link-local'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local'],
    ['2002:7f00:1::', 'loopback'],
    ['64:ff9b:1::a9fe:a9fe', 'local-use NAT64 (RFC 8215)'],
    ['2001::53aa:64c:0:0', 'Teredo tunnel'],
    ['2001:db8::1', 'reserved (documentation)'],
    ['100::1', 'reserved (discard-only)'],
  ])('refuses %s as %s', (address, reason) => {
    expect(forbiddenAddressReason(address)).toBe(reason);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '169.255.0.1', '2606:4700:4700::1111', '::ffff:93.184.216.34', '64:ff9b::8.8.8.8', '2002:5db8:d822::1', '2001:4860:4860::8888', '198.20.0.1', '192.0.3.1'])(
    'allows the public address %s',
    (address) => {
      expect(forbiddenAddressReason(address)).toBeUndefined();
    },
  );

  it.each(['999.1.1.1', '1.2.3', 'example.com', '1::2::3', '12345::1'])('does not take %s for an address', (address) => {
    expect(forbiddenAddressReason(address)).toBe('not an IP address');
  });
});

describe('callbackUrlErrors', () => {
  it.each([
    ['cloud', 'https://hooks.example.com/jobs', true],
    ['cloud', 'https://93.184.216.34/x', true],
    ['cloud', 'http://hooks.example.com/jobs', false],
    ['cloud', 'http://127.0.0.1:3001/', false],
    ['cloud', 'https://localhost/', false],
    ['cloud', 'https://api.localhost/', false],
    ['cloud', 'https://127.0.0.1/', false],
    ['cloud', 'https://2130706433/', false],
    ['cloud', 'https://0x7f.1/', false],
    ['cloud', 'https://[::1]/', false],
    ['cloud', 'https://[::ffff:127.0.0.1]/', false],
    ['cloud', 'https://10.0.0.5/', false],
    ['cloud', 'https://169.254.169.254/latest/meta-data', false],
    ['cloud', 'https://[fe80::1]/', false],
    ['cloud', 'https://user:pw@hooks.example.com/', false],
    ['cloud', 'ftp://hooks.example.com/', false],
    ['cloud', 'not a url', false],
    ['local', 'http://127.0.0.1:3001/', true],
    ['local', 'http://localhost:3001/hook', true],
    ['local', 'http://[::1]:3001/', true],
    ['local', 'https://localhost:3001/', true],
    ['local', 'http://10.0.0.5/', false],
    ['local', 'http://hooks.example.com/', false],
    ['local', 'https://10.0.0.5/', false],
  ] as const)('in %s mode, %s is acceptable: %s', (mode, url, acceptable) => {
    // Act
    const errors = callbackUrlErrors(url, mode);
    // Assess
    expect(errors.length === 0).toBe(acceptable);
    for (const error of errors) expect(error.field).toBe('/callbackUrl');
  });

  it('judges what a host resolves to, every address of it', () => {
    expect(resolvedAddressesRefusal(['93.184.216.34'], 'cloud')).toBeUndefined();
    expect(resolvedAddressesRefusal(['93.184.216.34', '10.0.0.1'], 'cloud')).toContain('private');
    expect(resolvedAddressesRefusal(['127.0.0.1'], 'cloud')).toContain('loopback');
    expect(resolvedAddressesRefusal(['127.0.0.1'], 'local')).toBeUndefined();
    expect(resolvedAddressesRefusal([], 'cloud')).toBe('the host does not resolve');
  });
});

describe('signing', () => {
  it('signs deliveries that the Standard Webhooks reference implementation verifies', () => {
    // Prepare
    const body = JSON.stringify({ id: 'evt_1', type: 'job.succeeded', data: { id: 'job_1' } });
    const timestamp = Math.floor(Date.now() / 1000);
    // Act
    const headers = webhookHeaders([SECRET], 'evt_1', timestamp, body);
    // Assess
    expect(new Webhook(SECRET).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  });

  it('is refused by the reference implementation when the body or the secret differs', () => {
    // Prepare
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = webhookHeaders([SECRET], 'evt_1', timestamp, '{"a":1}');
    const other = `whsec_${Buffer.from('another secret, another key').toString('base64')}`;
    // Assess
    expect(() => new Webhook(SECRET).verify('{"a":2}', headers)).toThrow();
    expect(() => new Webhook(other).verify('{"a":1}', headers)).toThrow();
  });

  it('sends both signatures during a rotation, each verifiable with its own secret', () => {
    // Prepare
    const previous = `whsec_${Buffer.from('the previous secret key bytes..').toString('base64')}`;
    const stored = JSON.stringify({ current: SECRET, previous, previousUntil: '2026-11-24T12:00:00Z' });
    const timestamp = Math.floor(Date.now() / 1000);
    // Act
    const during = activeSecrets(stored, new Date('2026-11-24T11:00:00Z'));
    const after = activeSecrets(stored, new Date('2026-11-24T13:00:00Z'));
    const headers = webhookHeaders(during, 'evt_2', timestamp, '{}');
    // Assess
    expect(during).toEqual([SECRET, previous]);
    expect(after).toEqual([SECRET]);
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(new Webhook(SECRET).verify('{}', headers)).toEqual({});
    expect(new Webhook(previous).verify('{}', headers)).toEqual({});
    expect(activeSecrets(`  ${SECRET}\n`, new Date())).toEqual([SECRET]);
  });

  it('gives receivers the generated deployed secret re-encoded: canonical base64 that strict decoders take, keying what the deliverer signs', () => {
    // Prepare: a value as Secrets Manager generates it for the stack (43 letters and digits, infra/async-jobs.ts),
    // whose last character carries stray bits (B = 000001: the last 2 bits are not part of the key)
    const generated = 'Qx7Lr2Vb9Kd4Tn8Wc1Hy6Fp3Zs5Mg0Ja2Ue7Ri9Ok4B';
    // What the README's `printf '%s=' "$VALUE" | base64 -d | base64` prints
    const receiver = `whsec_${Buffer.from(`${generated}=`, 'base64').toString('base64')}`;
    /** As Python's base64.b64decode and Go's StdEncoding judge it: whole 4-character groups, padding at the end. */
    const padded = (encoded: string) => /^[A-Za-z0-9+/]*={0,2}$/.test(encoded) && encoded.length % 4 === 0;
    /** As Rust's base64 crate (STANDARD) judges it besides: no stray bits, so decoding and encoding give it back. */
    const canonical = (encoded: string) => padded(encoded) && Buffer.from(encoded, 'base64').toString('base64') === encoded;
    const timestamp = Math.floor(Date.now() / 1000);
    // Act: the deliverer signs with the stored value as it reads it
    const headers = webhookHeaders(activeSecrets(generated, new Date()), 'evt_3', timestamp, '{}');
    // Assess
    expect(generated).toMatch(/^[A-Za-z0-9]{43}$/);
    expect(padded(generated)).toBe(false);
    expect(canonical(`${generated}=`)).toBe(false);
    expect(receiver).toBe('whsec_Qx7Lr2Vb9Kd4Tn8Wc1Hy6Fp3Zs5Mg0Ja2Ue7Ri9Ok4A=');
    expect(canonical(receiver.slice('whsec_'.length))).toBe(true);
    expect(new Webhook(receiver).verify('{}', headers)).toEqual({});
    expect(verifyWebhook('{}', headers, receiver)).toEqual({});
  });
});

describe('responses', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  it.each([
    [200, undefined, { kind: 'delivered' }],
    [204, undefined, { kind: 'delivered' }],
    [410, undefined, { kind: 'gone' }],
    [301, undefined, { kind: 'retry', reason: 'redirect 301 not followed' }],
    [302, undefined, { kind: 'retry', reason: 'redirect 302 not followed' }],
    [400, '5', { kind: 'retry', reason: 'HTTP 400' }],
    [404, undefined, { kind: 'retry', reason: 'HTTP 404' }],
    [429, '120', { kind: 'retry', reason: 'HTTP 429', minDelaySeconds: 120 }],
    [503, 'Mon, 23 Nov 2026 12:05:00 GMT', { kind: 'retry', reason: 'HTTP 503', minDelaySeconds: 300 }],
    [500, '999999', { kind: 'retry', reason: 'HTTP 500', minDelaySeconds: 21_600 }],
    [503, 'Tue, 24 Nov 2026 12:00:00 GMT', { kind: 'retry', reason: 'HTTP 503', minDelaySeconds: 21_600 }],
    [502, 'soon', { kind: 'retry', reason: 'HTTP 502' }],
  ])('judges %s (Retry-After %s)', (status, retryAfter, verdict) => {
    expect(judgeResponse(status, retryAfter, now, webhooks.maxRetryAfterSeconds)).toEqual(verdict);
  });

  it('reads Retry-After as seconds or as a date, never negative', () => {
    expect(retryAfterSeconds('7', now, 100)).toBe(7);
    expect(retryAfterSeconds('Mon, 23 Nov 2026 11:00:00 GMT', now, 100)).toBe(0);
    expect(retryAfterSeconds(undefined, now, 100)).toBeUndefined();
  });
});

describe('the retry schedule', () => {
  it('spans about a day, each wait within SQS’s 12-hour visibility limit even with jitter', () => {
    // Act
    const total = webhooks.retryScheduleSeconds.reduce((sum, seconds) => sum + seconds, 0);
    // Assess
    expect(total / 3600).toBeGreaterThan(20);
    expect(total / 3600).toBeLessThan(30);
    expect(Math.max(...webhooks.retryScheduleSeconds) * (1 + webhooks.jitter)).toBeLessThanOrEqual(12 * 3600);
    expect(maxAttempts(webhooks.retryScheduleSeconds)).toBe(webhooks.retryScheduleSeconds.length + 1);
  });

  it('keeps every wait, even one a Retry-After asks for, within SQS’s 12-hour visibility limit, and all of them within the queue’s retention', () => {
    // Prepare: the longest a step can be, by jitter or by an honoured Retry-After
    const longest = (step: number) => Math.max(step * (1 + webhooks.jitter), webhooks.maxRetryAfterSeconds);
    // Act
    const waits = webhooks.retryScheduleSeconds.map(longest);
    // Assess: the visibility is set during an invocation of up to timeoutSeconds after the receive
    expect(Math.max(...waits) + webhooks.timeoutSeconds).toBeLessThan(12 * 3600);
    expect(waits.reduce((sum, seconds) => sum + seconds + webhooks.timeoutSeconds, 0)).toBeLessThan(webhooks.queueRetentionSeconds);
  });

  it('grows step by step, and the local schedule has the same number of steps, in seconds', () => {
    const steps = webhooks.retryScheduleSeconds;
    for (let i = 1; i < steps.length; i += 1) expect(steps[i]).toBeGreaterThanOrEqual(steps[i - 1] ?? 0);
    expect(webhooks.localRetryScheduleSeconds).toHaveLength(steps.length);
    expect(webhooks.localRetryScheduleSeconds.reduce((sum, seconds) => sum + seconds, 0)).toBeLessThanOrEqual(60);
  });

  it.each([
    [1, 0, 8],
    [1, 1, 12],
    [3, 0.5, 300],
    [10, 0, 17_280],
    [10, 1, 25_920],
    [99, 0.5, 21_600],
  ])('waits after attempt %s (random %s) %s s: the step with ±20% jitter', (attempt, random, expected) => {
    expect(retryDelaySeconds(webhooks.retryScheduleSeconds, attempt, webhooks.jitter, () => random)).toBe(expected);
  });
});
