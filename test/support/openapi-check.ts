/**
 * Checks responses against the OpenAPI document: the status is documented for the operation, the
 * documented headers are there and well formed, the content type is one the document lists for that
 * status (problem+json for the API's errors), and the body validates against its schema. The schemas
 * are checked with Ajv (JSON Schema 2020-12), not with the project's own validator.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import type { FetchLike } from '../../client/client.ts';
import {
  type DocumentSchema,
  type HeaderObject,
  type HttpMethod,
  type OpenApiDocument,
  type OpenApiLimits,
  type OperationObject,
  type ResponseObject,
  openApiDocument,
} from '#core/openapi';
import { api, jobs, queue, worker } from '#infra/config';
import { maxJobTimeoutSeconds, type RouteSpec, routes } from '#infra/functions';
import { inputSchemas } from '#processors/types';

/** The limits the local runtime's functions run with (the worker's default timeout). */
export const localLimits: OpenApiLimits = {
  maxDelaySeconds: queue.maxDelaySeconds,
  defaultTimeoutSeconds: jobs.defaultTimeoutSeconds,
  maxTimeoutSeconds: maxJobTimeoutSeconds(worker.timeoutSeconds),
  retryAfterSeconds: api.retryAfterSeconds,
  maxBodyBytes: api.maxBodyBytes,
  inputSchemas,
};

/** The route of `GET /openapi.json`, for tests that describe it before infra/functions.ts routes it. */
export const openApiRoute: RouteSpec = { method: 'GET', path: '/openapi.json', function: 'route-fallback' };

/** The document the local runtime's API is described by, always including `GET /openapi.json`. */
export function localDocument(): OpenApiDocument {
  const served = routes.some((route) => route.path === openApiRoute.path) ? routes : [...routes, openApiRoute];
  return openApiDocument(localLimits, served);
}

/** What was asked. */
export interface CheckedRequest {
  readonly method: string;
  /** An absolute URL, or a path with its query. */
  readonly url: string;
}

/** What came back; `body` is the raw text. */
export interface ReceivedResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/** Where the components live for Ajv: `#/components/schemas/X` becomes `<this>#/$defs/X`. */
const COMPONENTS_ID = 'https://async-jobs.invalid/components.json';

/** The schema with its component references pointed at the components schema Ajv knows. */
function forAjv(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(forAjv);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema).map(([key, value]) => [
      key,
      key === '$ref' && typeof value === 'string' ? value.replace('#/components/schemas/', `${COMPONENTS_ID}#/$defs/`) : forAjv(value),
    ]),
  );
}

/** RFC 3339 date-time, written here again on purpose: the check must not share the validator's code. */
function isDateTime(value: string): boolean {
  const match = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(value);
  if (!match) return false;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 60;
}

/** A JSON Schema 2020-12 validator that knows the document's components. */
export function documentAjv(document: OpenApiDocument): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  ajv.addSchema({ $id: COMPONENTS_ID, $defs: forAjv(document.components.schemas) });
  return ajv;
}

/** The value of a header as its schema types it (OpenAPI's `simple` style). */
function headerValue(raw: string, header: HeaderObject): unknown {
  if ((header.schema.type === 'integer' || header.schema.type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** Checks responses against one document. */
export class ResponseChecker {
  private readonly ajv: Ajv2020;
  private readonly compiled = new Map<object, ValidateFunction>();
  private readonly paths: readonly { readonly pattern: RegExp; readonly item: OpenApiDocument['paths'][string] }[];

  constructor(readonly document: OpenApiDocument) {
    this.ajv = documentAjv(document);
    this.paths = Object.entries(document.paths).map(([path, item]) => ({
      pattern: new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{\w+\}/g, '[^/]+')}$`),
      item,
    }));
  }

  /** Compiles every schema of every response, so a schema Ajv refuses fails at once, not on first use. */
  compileAll(): void {
    const responses = [
      ...Object.values(this.document.components.responses),
      ...Object.values(this.document.paths).flatMap((item) => (['get', 'post', 'delete'] as const).flatMap((method) => Object.values(item[method]?.responses ?? {}))),
    ];
    for (const response of responses) {
      for (const media of Object.values(response.content ?? {})) this.validator(media.schema);
      for (const header of Object.values(response.headers ?? {})) this.validator(header.schema);
    }
  }

  private validator(schema: DocumentSchema): ValidateFunction {
    let validate = this.compiled.get(schema);
    if (!validate) {
      validate = this.ajv.compile(forAjv(schema) as object);
      this.compiled.set(schema, validate);
    }
    return validate;
  }

  private schemaErrors(schema: DocumentSchema, value: unknown, what: string): string[] {
    const validate = this.validator(schema);
    if (validate(value)) return [];
    return (validate.errors ?? []).map((error) => `${what}${error.instancePath} ${error.message ?? 'is invalid'}${error.params ? ` ${JSON.stringify(error.params)}` : ''}`);
  }

  /** The documented response for this request and status, or why there is none. */
  private documented(method: string, pathname: string, status: number): { response: ResponseObject; name: string } | string {
    const path = this.paths.find((candidate) => candidate.pattern.test(pathname));
    const { responses } = this.document.components;
    if (!path) return { response: responses.RouteNotFound, name: `${method} ${pathname} (no such path)` };
    const operation: OperationObject | undefined = path.item[method.toLowerCase() as HttpMethod];
    if (!operation) return { response: responses.MethodNotAllowed, name: `${method} ${pathname} (no such method)` };
    const response = operation.responses[String(status)] ?? operation.responses[`${Math.floor(status / 100)}XX`] ?? operation.responses.default;
    if (!response) return `${operation.operationId}: status ${status} is not documented (documented: ${Object.keys(operation.responses).join(', ')})`;
    return { response, name: operation.operationId };
  }

  /** Every way the response departs from the document; empty when it conforms. */
  violations(request: CheckedRequest, received: ReceivedResponse): string[] {
    const url = new URL(request.url, 'http://localhost');
    const found = this.documented(request.method.toUpperCase(), url.pathname, received.status);
    if (typeof found === 'string') return [found];
    const { response, name } = found;
    const problems: string[] = [];
    const where = `${name} ${received.status}`;

    for (const [headerName, header] of Object.entries(response.headers ?? {})) {
      const raw = received.headers.get(headerName);
      if (raw === null) {
        if (header.required) problems.push(`${where}: header ${headerName} is missing`);
        continue;
      }
      problems.push(...this.schemaErrors(header.schema, headerValue(raw, header), `${where}: header ${headerName}`));
    }

    const mediaType = received.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
    if (!response.content) {
      if (received.body !== '') problems.push(`${where}: a body was sent where the document has none`);
      return problems;
    }
    const media = mediaType === undefined ? undefined : response.content[mediaType];
    if (!media) {
      problems.push(`${where}: content type ${mediaType ?? '(none)'} is not documented (documented: ${Object.keys(response.content).join(', ')})`);
      return problems;
    }
    let body: unknown;
    try {
      body = JSON.parse(received.body);
    } catch {
      problems.push(`${where}: the body is not JSON: ${received.body.slice(0, 200)}`);
      return problems;
    }
    problems.push(...this.schemaErrors(media.schema, body, `${where}: body`));
    if (mediaType === 'application/problem+json') {
      const status = (body as { status?: unknown } | null)?.status;
      if (status !== received.status) problems.push(`${where}: the problem's status ${String(status)} is not the HTTP status`);
    }
    return problems;
  }

  /** Throws an error listing every violation, with the request and the body for context. */
  assert(request: CheckedRequest, received: ReceivedResponse): void {
    const problems = this.violations(request, received);
    if (problems.length > 0) {
      throw new Error(`${request.method} ${request.url} answered against the OpenAPI document:\n- ${problems.join('\n- ')}\nbody: ${received.body.slice(0, 500)}`);
    }
  }
}

/**
 * A `fetch` that checks every response against the document and returns it unread. Violations are
 * collected rather than thrown, since a client would take a throwing fetch for a network error and
 * retry: take them with {@link CheckingFetch.takeViolations} (e.g. in `afterEach`).
 */
export interface CheckingFetch {
  readonly fetch: FetchLike;
  /** Violations seen since the last call, and how many responses were checked. */
  takeViolations(): { readonly violations: readonly string[]; readonly checked: number };
}

export function checkingFetch(checker: ResponseChecker, base: FetchLike = (url, init) => fetch(url, init)): CheckingFetch {
  let violations: string[] = [];
  let checked = 0;
  return {
    fetch: async (url, init) => {
      const response = await base(url, init);
      const body = await response.clone().text();
      checked += 1;
      const method = init.method ?? 'GET';
      const found = checker.violations({ method, url }, { status: response.status, headers: response.headers, body });
      violations.push(...found.map((violation) => `${method} ${url}: ${violation}`));
      return response;
    },
    takeViolations: () => {
      const taken = { violations, checked };
      violations = [];
      checked = 0;
      return taken;
    },
  };
}
