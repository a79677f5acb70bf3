/**
 * The API's authorizers, locally: SigV4 (IAM) verified against local access keys, or JWTs verified
 * against a local RSA key. What they pass on is what API Gateway puts in the event's
 * `requestContext.authorizer`, so the handlers see the same owner either way.
 */
import { createHash, createSign, createVerify, generateKeyPairSync, type KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/** A local IAM user the API accepts SigV4 signatures from. */
export interface LocalIamUser {
  readonly name: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The ARN a local IAM user is known by: the job owner in IAM mode. */
export function localUserArn(user: LocalIamUser): string {
  return `arn:aws:iam::000000000000:user/${user.name}`;
}

/** Makes a local IAM user with a fresh key pair. */
export function newLocalIamUser(name: string): LocalIamUser {
  return {
    name,
    accessKeyId: `AKIALOCAL${randomBytes(6).toString('hex').toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString('base64url'),
  };
}

/** A local JWT issuer: RS256 keys, issuer and audience, as an OIDC provider would have. */
export interface LocalJwtIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function newLocalJwtIssuer(): LocalJwtIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { issuer: 'https://local.async-jobs.invalid', audience: 'async-jobs', privateKey, publicKey };
}

/** Issues a token for `sub` (undefined: a token without one), valid for `ttlSeconds`. */
export function issueToken(issuer: LocalJwtIssuer, sub: string | undefined, ttlSeconds = 12 * 3600, now = Date.now()): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const issuedAt = Math.floor(now / 1000);
  const unsigned = `${encode({ alg: 'RS256', typ: 'JWT' })}.${encode({ iss: issuer.issuer, aud: issuer.audience, sub, iat: issuedAt, exp: issuedAt + ttlSeconds })}`;
  const signature = createSign('RSA-SHA256').update(unsigned).sign(issuer.privateKey).toString('base64url');
  return `${unsigned}.${signature}`;
}

/** How the local API authorizes requests. */
export type LocalAuth =
  | { readonly type: 'none' }
  | { readonly type: 'iam'; readonly users: readonly LocalIamUser[] }
  | { readonly type: 'jwt'; readonly issuer: LocalJwtIssuer };

/** The request as the authorizer needs it. */
export interface AuthRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** Allowed, with the authorizer context for the event; or refused, with API Gateway's answer. */
export type AuthDecision =
  | { readonly allowed: true; readonly context?: Record<string, unknown> }
  | { readonly allowed: false; readonly status: 401 | 403; readonly message: string };

const FORBIDDEN = { allowed: false, status: 403, message: 'Forbidden' } as const;
const UNAUTHORIZED = { allowed: false, status: 401, message: 'Unauthorized' } as const;

/** Decides a request as the API's authorizer would. */
export async function authorize(auth: LocalAuth, request: AuthRequest): Promise<AuthDecision> {
  if (auth.type === 'none') return { allowed: true };
  if (auth.type === 'jwt') return authorizeJwt(auth.issuer, request.headers.authorization);
  return authorizeSigV4(auth.users, request);
}

function authorizeJwt(issuer: LocalJwtIssuer, header: string | undefined): AuthDecision {
  // As API Gateway's JWT authorizer: the header holds the token, or the token after `Bearer `.
  const token = /^(?:Bearer )?(.+)$/i.exec(header ?? '')?.[1];
  if (!token) return UNAUTHORIZED;
  const [head, body, signature, ...rest] = token.split('.');
  if (!head || !body || !signature || rest.length > 0) return UNAUTHORIZED;
  try {
    const header = JSON.parse(Buffer.from(head, 'base64url').toString()) as { alg?: string };
    if (header.alg !== 'RS256') return UNAUTHORIZED;
    const valid = createVerify('RSA-SHA256').update(`${head}.${body}`).verify(issuer.publicKey, Buffer.from(signature, 'base64url'));
    if (!valid) return UNAUTHORIZED;
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const now = Date.now() / 1000;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (claims.iss !== issuer.issuer || !audiences.includes(issuer.audience)) return UNAUTHORIZED;
    if (typeof claims.exp !== 'number' || claims.exp <= now) return UNAUTHORIZED;
    if (typeof claims.nbf === 'number' && claims.nbf > now) return UNAUTHORIZED;
    // As API Gateway's JWT authorizer: a valid token without `sub` passes, and the function refuses it (403).
    // HTTP API passes claims as strings.
    const stringClaims = Object.fromEntries(Object.entries(claims).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]));
    return { allowed: true, context: { jwt: { claims: stringClaims, scopes: null } } };
  } catch {
    return UNAUTHORIZED;
  }
}

/** How far a signature's date may be from the gateway's clock, either way: API Gateway's 5 minutes. */
const MAX_SKEW_MS = 5 * 60_000;

/** `20261124T230000Z`, as SigV4 writes dates. */
function amzDateOf(date: Date): string {
  return date.toISOString().replace(/[-:]|\.\d{3}/g, '');
}

/** API Gateway's answer to a signature dated too far from `now`; undefined when it is within the window. */
export function signatureSkew(signedAt: Date, now: Date): string | undefined {
  const at = amzDateOf(signedAt);
  if (signedAt.getTime() < now.getTime() - MAX_SKEW_MS) {
    return `Signature expired: ${at} is now earlier than ${amzDateOf(new Date(now.getTime() - MAX_SKEW_MS))} (${amzDateOf(now)} - 5 min.)`;
  }
  if (signedAt.getTime() > now.getTime() + MAX_SKEW_MS) {
    return `Signature not yet current: ${at} is still later than ${amzDateOf(new Date(now.getTime() + MAX_SKEW_MS))} (${amzDateOf(now)} + 5 min.)`;
  }
  return undefined;
}

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/;

async function authorizeSigV4(users: readonly LocalIamUser[], request: AuthRequest): Promise<AuthDecision> {
  const match = AUTHORIZATION.exec(request.headers.authorization ?? '');
  if (!match) return FORBIDDEN;
  const [, accessKeyId, , region, service, signedHeaders = '', signature = ''] = match;
  const user = users.find((candidate) => candidate.accessKeyId === accessKeyId);
  const amzDate = request.headers['x-amz-date'] ?? '';
  const signedAt = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  // Any region: locally there is none to get wrong, and a client signing for its profile's region (as the
  // project's CLI does when the URL names none) works as it does against a deployed API in that region.
  if (!user || service !== 'execute-api' || !region || !signedAt) return FORBIDDEN;
  const date = new Date(Date.UTC(Number(signedAt[1]), Number(signedAt[2]) - 1, Number(signedAt[3]), Number(signedAt[4]), Number(signedAt[5]), Number(signedAt[6])));
  const skew = signatureSkew(date, new Date());
  if (skew) return { allowed: false, status: 403, message: skew };
  // SigV4 requires both signed: a signature over neither the host nor the date would pass for any of them.
  const names = signedHeaders.split(';');
  if (!names.includes('host') || !names.includes('x-amz-date')) return FORBIDDEN;
  // The body must be the one that was signed: a declared payload hash must match what arrived.
  const declaredHash = request.headers['x-amz-content-sha256'];
  if (declaredHash !== undefined && declaredHash !== createHash('sha256').update(request.body).digest('hex')) return FORBIDDEN;
  // Sign the same request again with the user's secret, over exactly the headers the caller signed.
  const headers = Object.fromEntries(names.map((name) => [name, request.headers[name] ?? '']));
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of request.url.searchParams) {
    const existing = query[name];
    query[name] = existing === undefined ? value : ([] as string[]).concat(existing, value);
  }
  // No x-amz-content-sha256 of the verifier's own: it is signed only when the caller sent and signed it
  // (the AWS SDK does; curl --aws-sigv4, awscurl and botocore sign host and x-amz-date alone).
  const signer = new SignatureV4({ service, region, credentials: user, sha256: Sha256, applyChecksum: false });
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: 'http:',
      hostname: request.url.hostname,
      path: request.url.pathname,
      query,
      headers,
      body: request.body.length > 0 ? request.body : undefined,
    },
    { signingDate: date, signableHeaders: new Set(names), unsignableHeaders: new Set() },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) return FORBIDDEN;
  return {
    allowed: true,
    context: {
      iam: {
        accessKey: user.accessKeyId,
        accountId: '000000000000',
        callerId: `AIDALOCAL${user.name.toUpperCase()}`,
        cognitoIdentity: null,
        principalOrgId: null,
        userArn: localUserArn(user),
        userId: `AIDALOCAL${user.name.toUpperCase()}`,
      },
    },
  };
}
