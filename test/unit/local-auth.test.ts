/**
 * The local authorizers decide as API Gateway's do: what the deployed API refuses is refused locally,
 * and what it accepts is accepted, so a client that works against `npm start --auth …` works deployed.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { localRegion } from '#infra/config';
import { type AuthRequest, authorize, issueToken, localUserArn, newLocalIamUser, newLocalJwtIssuer } from '#infra/local/auth';

const HOST = '127.0.0.1:3000';
const alice = newLocalIamUser('alice');
const iam = { type: 'iam', users: [alice] } as const;

/** A GET of /jobs signed by alice at `signedAt`, over `signed` headers (as the AWS SDK signs: host and x-amz-date at least). */
async function signedRequest(signedAt: Date, signed: readonly string[] = ['host', 'x-amz-date'], region = localRegion): Promise<AuthRequest> {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: alice, sha256: Sha256, applyChecksum: false });
  const request = await signer.sign(
    { method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 3000, path: '/jobs', query: {}, headers: { host: HOST } },
    { signingDate: signedAt, signableHeaders: new Set(signed), unsignableHeaders: new Set(['host', 'x-amz-date'].filter((name) => !signed.includes(name))) },
  );
  const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), String(value)]));
  return { method: 'GET', url: new URL(`http://${HOST}/jobs`), headers, body: Buffer.alloc(0) };
}

describe('the local IAM (SigV4) authorizer', () => {
  it('accepts a signature made within 5 minutes either way of its clock', async () => {
    // Prepare
    const requests = await Promise.all([signedRequest(new Date(Date.now() - 4 * 60_000)), signedRequest(new Date(Date.now() + 4 * 60_000))]);
    // Act
    const decisions = await Promise.all(requests.map((request) => authorize(iam, request)));
    // Assess
    for (const decision of decisions) expect(decision).toMatchObject({ allowed: true, context: { iam: { userArn: localUserArn(alice) } } });
  });

  it('accepts a signature for another region: locally there is none, and a client signs for its profile’s', async () => {
    // Prepare
    const request = await signedRequest(new Date(), undefined, 'eu-west-1');
    // Act
    const decision = await authorize(iam, request);
    // Assess
    expect(decision).toMatchObject({ allowed: true });
  });

  it.each([
    ['6 minutes old', -6, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/],
    ['dated 6 minutes ahead', 6, /^Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 5 min\.\)$/],
  ])('refuses a signature %s with 403 and API Gateway’s message', async (_case, minutes, message) => {
    // Prepare
    const request = await signedRequest(new Date(Date.now() + minutes * 60_000));
    // Act
    const decision = await authorize(iam, request);
    // Assess
    expect(decision).toMatchObject({ allowed: false, status: 403 });
    expect(decision.allowed === false && decision.message).toMatch(message);
  });

  it.each([
    ['the host', ['x-amz-date']],
    ['the date', ['host']],
  ])('refuses a signature that does not cover %s, as SigV4 requires', async (_case, signed) => {
    // Prepare
    const request = await signedRequest(new Date(), signed);
    // Act
    const decision = await authorize(iam, request);
    // Assess
    expect(decision).toEqual({ allowed: false, status: 403, message: 'Forbidden' });
  });
});

describe('the local JWT authorizer', () => {
  const issuer = newLocalJwtIssuer();
  const jwt = { type: 'jwt', issuer } as const;
  const request = (authorization: string): AuthRequest => ({ method: 'GET', url: new URL(`http://${HOST}/jobs`), headers: { authorization }, body: Buffer.alloc(0) });

  it.each([
    ['after `Bearer `', (token: string) => `Bearer ${token}`],
    ['alone, as API Gateway also takes it', (token: string) => token],
  ])('accepts the token %s', async (_case, header) => {
    // Act
    const decision = await authorize(jwt, request(header(issueToken(issuer, 'local-user'))));
    // Assess
    expect(decision).toMatchObject({ allowed: true, context: { jwt: { claims: { sub: 'local-user' } } } });
  });

  it('refuses a header that holds no token', async () => {
    // Act
    const decisions = await Promise.all(['', 'Bearer ', 'Basic dXNlcjpwYXNz'].map((header) => authorize(jwt, request(header))));
    // Assess
    for (const decision of decisions) expect(decision).toEqual({ allowed: false, status: 401, message: 'Unauthorized' });
  });
});
