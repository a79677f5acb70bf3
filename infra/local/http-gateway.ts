/**
 * Local API Gateway (HTTP API, payload format 2.0): matches a route, turns the request into the
 * event the function receives when deployed, and turns the function's result into the response.
 */
import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { cors } from '../config.ts';
import type { RouteSpec } from '../functions.ts';
import type { AuthDecision, AuthRequest } from './auth.ts';

/** HTTP API's payload limit. */
const MAX_PAYLOAD_BYTES = 10 * 1024 * 1024;

/** Lambda's limit on a synchronous invocation's payload (the whole event, body and headers): 6 MB. */
const MAX_INVOCATION_BYTES = 6 * 1024 * 1024;

/** Invokes the function behind a route. */
export type Invoke = (functionName: RouteSpec['function'], event: APIGatewayProxyEventV2) => Promise<unknown>;

interface CompiledRoute {
  readonly spec: RouteSpec;
  readonly pattern: RegExp;
  readonly params: readonly string[];
}

function compile(spec: RouteSpec): CompiledRoute {
  const params: string[] = [];
  const source = spec.path
    .split('/')
    .map((segment) => {
      const param = /^\{(\w+)\}$/.exec(segment);
      if (!param?.[1]) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(param[1]);
      return '([^/]+)';
    })
    .join('/');
  return { spec, pattern: new RegExp(`^${source}$`), params };
}

/** Content types HTTP API passes as text; any other body arrives base64-encoded. */
function isTextual(contentType: string | undefined): boolean {
  if (!contentType) return true;
  return /^(text\/|application\/([\w.+-]+\+)?(json|xml|javascript|x-www-form-urlencoded))/i.test(contentType);
}

/**
 * Whether a Host header names this machine's loopback, which is all the local API listens on, or one of
 * the `allowed` host names (a proxy's that forwards to it: `npm start -- --allow-host <name>`). A page
 * that rebinds its own host name to 127.0.0.1 would otherwise be same-origin with the API: its requests
 * name its host, and are refused. A request without Host (no browser sends one) passes.
 */
export function isLoopbackHost(host: string | undefined, allowed: readonly string[] = []): boolean {
  if (host === undefined) return true;
  const name = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(host.trim().toLowerCase())?.[1]?.replace(/\.$/, '');
  if (name === undefined) return false;
  if (allowed.some((other) => other.toLowerCase().replace(/\.$/, '') === name)) return true;
  // 0.0.0.0 reaches this machine's listeners too; a rebinding page's requests name its own host, never it.
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || name === '0.0.0.0' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** JSON is UTF-8: a body that is not passes on base64-encoded, as bytes, never with U+FFFD in place of what was sent. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function asText(body: Buffer): string | undefined {
  try {
    return STRICT_UTF8.decode(body);
  } catch {
    return undefined;
  }
}

function apiGatewayTime(date: Date): string {
  const [, day, month, year, time] = /^\w+, (\d+) (\w+) (\d+) (\S+)/.exec(date.toUTCString()) ?? [];
  return `${day}/${month}/${year}:${time} +0000`;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_PAYLOAD_BYTES) return 'too-large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The request target as a URL, always read as a path (`//host/x` is the path `//host/x`); undefined if unusable. */
function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  try {
    return new URL(`http://localhost${target.startsWith('/') ? '' : '/'}${target}`);
  } catch {
    return undefined;
  }
}

/**
 * The path as HTTP API passes it to a function: percent-decoded (`rawPath` and `requestContext.http.path`
 * alike, as captures of deployed APIs show), except the escapes of `/`, `?`, `#` and the other reserved
 * characters, which `decodeURI` keeps. A path that is not valid percent-encoding passes as sent.
 */
function decodedPath(pathname: string): string {
  try {
    return decodeURI(pathname);
  } catch {
    return pathname;
  }
}

/** Builds the payload 2.0 event of a request, as HTTP API does. */
export function toEvent(req: IncomingMessage, url: URL, body: Buffer, route: CompiledRoute, match: RegExpExecArray, requestId: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') cookies.push(...value.split(/;\s*/).filter(Boolean));
    else headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const pathParameters: Record<string, string> = {};
  route.params.forEach((name, index) => {
    const raw = match[index + 1] ?? '';
    try {
      pathParameters[name] = decodeURIComponent(raw);
    } catch {
      pathParameters[name] = raw; // not valid percent-encoding: passed on as sent
    }
  });
  const text = body.length > 0 && isTextual(headers['content-type']) ? asText(body) : undefined;
  const now = new Date();
  const routeKey = route.spec.path === '$default' ? '$default' : `${route.spec.method} ${route.spec.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: decodedPath(url.pathname),
    rawQueryString: url.search.slice(1),
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(url.search && { queryStringParameters: query }),
    ...(route.params.length > 0 && { pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: (headers.host ?? 'localhost').split('.')[0] ?? 'localhost',
      http: {
        method: req.method ?? 'GET',
        path: decodedPath(url.pathname),
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: apiGatewayTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 && { body: text ?? body.toString('base64') }),
    isBase64Encoded: body.length > 0 && text === undefined,
  };
}

/** Writes a function result as HTTP API does for payload 2.0. */
function writeResult(res: ServerResponse, result: unknown, requestId: string): void {
  const base = { 'apigw-requestid': requestId };
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    // A result without statusCode is taken as a 200 JSON body.
    send(res, 200, typeof result === 'string' ? result : JSON.stringify(result), { ...base, 'content-type': 'application/json' });
    return;
  }
  const { statusCode, headers = {}, body = '', isBase64Encoded, cookies } = result as {
    statusCode: number;
    headers?: Record<string, string | number | boolean>;
    body?: string;
    isBase64Encoded?: boolean;
    cookies?: string[];
  };
  const bytes = isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  res.statusCode = statusCode;
  for (const [name, value] of Object.entries({ ...headers, ...base })) res.setHeader(name, String(value));
  if (cookies?.length) res.setHeader('set-cookie', cookies);
  res.setHeader('content-length', bytes.length);
  res.end(bytes);
}

/**
 * CORS as HTTP API applies it when the API has a CORS configuration: a preflight (OPTIONS with
 * Origin and Access-Control-Request-Method) is answered by the gateway, without credentials (the
 * stack gives OPTIONS a route without authorization); any other answer to an allowed origin gets
 * Access-Control-Allow-Origin and Access-Control-Expose-Headers.
 */
export class CorsPolicy {
  constructor(private readonly origins: readonly string[]) {}

  /** The Access-Control-Allow-Origin value for `origin`, if it is allowed. */
  private allowed(origin: string | undefined): string | undefined {
    if (!origin) return undefined;
    if (this.origins.includes('*')) return '*';
    return this.origins.includes(origin) ? origin : undefined;
  }

  isPreflight(req: IncomingMessage): boolean {
    return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
  }

  preflightHeaders(req: IncomingMessage): Record<string, string> {
    const allowOrigin = this.allowed(req.headers.origin);
    if (!allowOrigin) return {};
    return {
      'access-control-allow-origin': allowOrigin,
      'access-control-allow-methods': cors.allowMethods.join(','),
      'access-control-allow-headers': cors.allowHeaders.join(','),
      'access-control-max-age': String(cors.maxAgeSeconds),
    };
  }

  responseHeaders(req: IncomingMessage): Record<string, string> {
    const allowOrigin = this.allowed(req.headers.origin);
    if (!allowOrigin) return {};
    return { 'access-control-allow-origin': allowOrigin, 'access-control-expose-headers': cors.exposeHeaders.join(',') };
  }
}

/** The local API: an HTTP server that routes like the deployed HTTP API. */
export function createGateway(
  routes: readonly RouteSpec[],
  fallback: RouteSpec['function'],
  invoke: Invoke,
  onError: (error: unknown) => void,
  authorize: (request: AuthRequest) => Promise<AuthDecision> = async () => ({ allowed: true }),
  corsPolicy?: CorsPolicy,
  allowedHosts: readonly string[] = [],
): http.Server {
  const compiled = routes.map(compile);
  // The `$default` route: its event has routeKey `$default` and no path parameters.
  const defaultRoute: CompiledRoute = { spec: { method: 'GET', path: '$default', function: fallback }, pattern: /^/, params: [] };
  return http.createServer(async (req, res) => {
    const requestId = randomUUID();
    if (!isLoopbackHost(req.headers.host, allowedHosts)) {
      req.resume();
      const message = `Forbidden: the local API answers requests for localhost and 127.0.0.1 only, not for the host ${JSON.stringify(req.headers.host)} (a proxy's host name: npm start -- --allow-host <name>)`;
      return send(res, 403, JSON.stringify({ message }), { 'content-type': 'application/json', 'apigw-requestid': requestId, connection: 'close' });
    }
    if (corsPolicy) {
      if (corsPolicy.isPreflight(req)) {
        req.resume();
        return send(res, 204, '', { ...corsPolicy.preflightHeaders(req), 'apigw-requestid': requestId });
      }
      for (const [name, value] of Object.entries(corsPolicy.responseHeaders(req))) res.setHeader(name, value);
    }
    try {
      const url = requestUrl(req);
      if (!url) {
        req.resume();
        return send(res, 400, '{"message":"Bad Request"}', { 'content-type': 'application/json', 'apigw-requestid': requestId });
      }
      const path = url.pathname;
      let found: { route: CompiledRoute; match: RegExpExecArray } | undefined;
      for (const route of compiled) {
        const match = route.spec.method === req.method ? route.pattern.exec(path) : null;
        if (match) {
          found = { route, match };
          break;
        }
      }
      if (!found) found = { route: defaultRoute, match: /^/.exec('') as RegExpExecArray };
      const body = await readBody(req);
      if (body === 'too-large') {
        return send(res, 413, '{"message":"Request Entity Too Large"}', { 'content-type': 'application/json', connection: 'close' });
      }
      const event = toEvent(req, url, body, found.route, found.match, requestId);
      // Every route but the public ones (and the $default route) is behind the API's authorizer. With CORS
      // on, the stack adds an OPTIONS route without authorization, which the fallback function serves. Its
      // path is `/{proxy+}`, which a greedy variable matches only with at least one segment: `/` is not its.
      const unauthorizedOptions = corsPolicy !== undefined && req.method === 'OPTIONS' && path !== '/';
      if (!found.route.spec.public && !unauthorizedOptions) {
        const decision = await authorize({ method: req.method ?? 'GET', url, headers: event.headers as Record<string, string>, body });
        if (!decision.allowed) {
          return send(res, decision.status, JSON.stringify({ message: decision.message }), { 'content-type': 'application/json', 'apigw-requestid': requestId });
        }
        if (decision.context) Object.assign(event.requestContext, { authorizer: decision.context });
      }
      // A body HTTP API accepts may still make an event Lambda refuses: the function never runs.
      if (Buffer.byteLength(JSON.stringify(event)) > MAX_INVOCATION_BYTES) {
        return send(res, 413, '{"message":"Request Too Long"}', { 'content-type': 'application/json', 'apigw-requestid': requestId });
      }
      const result = await invoke(found.route.spec.function, event);
      writeResult(res, result, requestId);
    } catch (error) {
      onError(error);
      if (!res.headersSent) send(res, 500, '{"message":"Internal Server Error"}', { 'content-type': 'application/json', 'apigw-requestid': requestId });
      else res.destroy();
    }
  });
}
