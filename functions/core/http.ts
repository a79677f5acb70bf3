/**
 * The HTTP edge of the domain: reading API Gateway HTTP API (payload 2.0) events and writing their
 * results. Problems become responses here and nowhere else.
 */
import { errorFields } from './log.ts';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  type ProblemDetails,
  ProblemError,
  ProblemType,
  malformedJsonProblem,
  payloadTooLargeProblem,
  unidentifiedCallerProblem,
  unsupportedMediaTypeProblem,
} from './problem.ts';

/** The request context parts an authorizer fills in (IAM or JWT); absent when the API has none. */
interface AuthorizerContext {
  readonly iam?: {
    readonly userArn?: string;
    /** Set when the credentials came from a Cognito identity pool: then `userArn` is the pool's role, the same for every user. */
    readonly cognitoIdentity?: { readonly identityId?: string; readonly identityPoolId?: string } | null;
  };
  readonly jwt?: { readonly claims?: Readonly<Record<string, string | number | boolean | string[]>> };
}

/** An HTTP API event as the handlers receive it, with or without an authorizer. */
export type HttpEvent = APIGatewayProxyEventV2 & {
  readonly requestContext: APIGatewayProxyEventV2['requestContext'] & { readonly authorizer?: AuthorizerContext };
};
export type HttpResult = APIGatewayProxyStructuredResultV2;

/**
 * Owner of the jobs a request creates or reads: the IAM caller ARN or the JWT `sub`; `anonymous` only
 * when the API has no authorizer. An authorizer that names nobody is refused (403): API Gateway's JWT
 * authorizer accepts a valid token without `sub`, and all such callers would otherwise share one owner.
 * Credentials from a Cognito identity pool all carry the ARN of the pool's role session
 * (`…:assumed-role/<role>/CognitoIdentityCredentials`): their owner is the identity the pool vended them to.
 */
export function callerOf(event: HttpEvent): string {
  const authorizer = event.requestContext.authorizer;
  if (!authorizer) return 'anonymous';
  const identity = authorizer.iam?.cognitoIdentity;
  if (identity?.identityId) return keyable(`cognito-identity/${identity.identityPoolId ?? ''}/${identity.identityId}`);
  const arn = authorizer.iam?.userArn;
  if (arn) return keyable(arn);
  if (authorizer.jwt) {
    const sub = authorizer.jwt.claims?.sub;
    if (typeof sub === 'string' && sub) return keyable(sub);
    throw unidentifiedCallerProblem('The token names no subject (a non-empty `sub` claim), and each job belongs to the subject that created it. Use a token your identity provider issues with `sub`.');
  }
  throw unidentifiedCallerProblem('The request was authorized without an identity (no IAM caller ARN, no token subject).');
}

/**
 * Longest owner, in UTF-8 bytes: the owner keys the `by-owner` index, whose partition keys DynamoDB
 * takes up to 2,048 bytes. IAM ARNs stay well under it (about 600 bytes at most), as do OIDC subjects (255).
 */
export const MAX_OWNER_BYTES = 1_024;

function keyable(owner: string): string {
  const bytes = Buffer.byteLength(owner);
  if (bytes > MAX_OWNER_BYTES) {
    throw unidentifiedCallerProblem(`The caller's identity is ${bytes} bytes long, and jobs are kept by it, which takes at most ${MAX_OWNER_BYTES}. Use an identity provider whose subjects are shorter (OpenID Connect's are at most 255 characters).`);
  }
  return owner;
}

/** A request header; HTTP API lower-cases header names in payload 2.0. */
export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name.toLowerCase()];
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json$/i;

/** Refuses malformed UTF-8 rather than repair it; a byte order mark stays, and JSON.parse refuses it as it always did. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Parses a JSON request body after checking its media type and size; throws the matching problem. */
export function readJsonBody(event: HttpEvent, maxBytes: number): unknown {
  const contentType = header(event, 'content-type');
  const mediaType = contentType?.split(';', 1)[0]?.trim();
  if (!mediaType || !JSON_MEDIA_TYPE.test(mediaType)) throw unsupportedMediaTypeProblem(contentType);
  const raw = event.body ?? '';
  const bytes = event.isBase64Encoded ? Buffer.from(raw, 'base64') : Buffer.from(raw, 'utf8');
  if (bytes.length > maxBytes) throw payloadTooLargeProblem(bytes.length, maxBytes);
  if (bytes.length === 0) throw malformedJsonProblem('the body is empty');
  try {
    // JSON is UTF-8: bytes that are not are refused, never turned into U+FFFD and stored.
    return JSON.parse(UTF8.decode(bytes));
  } catch (error) {
    throw malformedJsonProblem(error instanceof Error ? error.message : String(error));
  }
}

/** A JSON response. */
export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}

/** An `application/problem+json` response. */
export function problemResponse(problem: ProblemDetails, headers: Readonly<Record<string, string>> = {}): HttpResult {
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', ...headers },
    body: JSON.stringify(problem),
  };
}

/** Minimal logger interface so handlers can log without the domain choosing a library. */
export interface Logger {
  error(message: string, fields: Record<string, unknown>): void;
}

/**
 * A request path as a URI reference, for a problem's `instance`. HTTP API hands functions the path
 * percent-decoded (`/jobs/a b`) but for the escapes of reserved characters (`%3F`, `%2F`), which
 * `decodeURI` keeps too: those stay as they are, and what cannot stand in a URI path is encoded again,
 * including a `%` that a decoded `%25` left (`/jobs/%2541` arrives as `/jobs/%41`). A path that is not
 * valid percent-encoding was passed on as sent, so its escapes stay as they are.
 */
export function asUriPath(path: string): string {
  const decoded = isDecodable(path);
  return path.replace(/%[0-9A-Fa-f]{2}|[^A-Za-z0-9\-._~!$&'()*+,;=:@/]/gu, (match) =>
    match.length === 3 && (!decoded || RESERVED_ESCAPE.test(match)) ? match : encodeURIComponent(match),
  );
}

/** The escape of a character `decodeURI` leaves encoded: `#$&+,/:;=?@`. */
const RESERVED_ESCAPE = /^%(?:2[346BCF]|3[ABDF]|40)$/i;

function isDecodable(path: string): boolean {
  try {
    decodeURI(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs an HTTP handler body and turns any thrown problem into its response. Anything else is a bug
 * or an outage: it is logged with the request id and answered as a 500 problem that reveals nothing.
 * A problem of the service's own (5xx, such as a 503 when the queue is down) is logged too, with the
 * error that caused it: the caller is told to retry, the operator why.
 */
export async function answer(event: HttpEvent, logger: Logger, body: () => Promise<HttpResult>): Promise<HttpResult> {
  const instance = asUriPath(event.rawPath);
  try {
    return await body();
  } catch (error) {
    if (error instanceof ProblemError) {
      if (error.problem.status >= 500) {
        logger.error(`answered ${error.problem.status}: ${error.problem.title}`, {
          requestId: event.requestContext.requestId,
          detail: error.problem.detail,
          ...(error.cause !== undefined && { error: errorFields(error.cause) }),
        });
      }
      return problemResponse({ ...error.problem, instance }, error.headers);
    }
    logger.error('unhandled error', { requestId: event.requestContext.requestId, error: errorFields(error) });
    return problemResponse({
      type: ProblemType.internal,
      title: 'Internal error',
      status: 500,
      detail: `The request failed unexpectedly; quote request id ${event.requestContext.requestId} when reporting it.`,
      instance,
    });
  }
}
