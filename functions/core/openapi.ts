/**
 * The OpenAPI 3.1 description of the HTTP API, built from what the handlers enforce: the submit body
 * schema, the list query rules, the job resource schema, the problem types and the routes the API
 * serves. Nothing in it is a hand-kept copy, so the document cannot drift from the code.
 */
import { createHash } from 'node:crypto';
import { type RouteSpec, routes } from '#infra/functions';
import { JOB_STATUSES, type JobStatus } from './job.ts';
import { jobResourceSchema, problemDetailsSchema } from './job-schema.ts';
import { LIST_LIMITS } from './list.ts';
import type { JobEvent } from './ports.ts';
import { ProblemType } from './problem.ts';
import type { Schema } from './schema.ts';
import { idempotencyKeySchema, type SubmitLimits, submitSchema } from './submit.ts';

/** The settings the document states: the same values the handlers are configured with. */
export interface OpenApiLimits extends Pick<SubmitLimits, 'maxDelaySeconds' | 'defaultTimeoutSeconds' | 'maxTimeoutSeconds' | 'retryAfterSeconds'> {
  /** Largest accepted `POST /jobs` body, in bytes. */
  readonly maxBodyBytes: number;
  /** The job types' input rules, which `POST /jobs` enforces: each is the schema `JobInput.<type>`. */
  readonly inputSchemas: Readonly<Partial<Record<string, Schema>>>;
}

/** A schema in the document: the core's {@link Schema}, where any part may refer to a component (`$ref`) and narrow it. */
export type DocumentSchema = {
  readonly [K in keyof Schema]: K extends 'items' | 'not'
    ? DocumentSchema
    : K extends 'properties'
      ? Readonly<Record<string, DocumentSchema>>
      : K extends 'oneOf'
        ? readonly DocumentSchema[]
        : K extends 'additionalProperties'
          ? boolean | DocumentSchema
          : Schema[K];
} & { readonly $ref?: string };

/** A response header. */
export interface HeaderObject {
  readonly description: string;
  readonly required?: boolean;
  readonly schema: Schema;
}

/** A parameter of an operation or path. */
export interface ParameterObject {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly description: string;
  readonly required?: boolean;
  readonly schema: Schema;
}

/** One media type of a body. */
export interface MediaTypeObject {
  readonly schema: DocumentSchema;
}

/** One response of an operation. */
export interface ResponseObject {
  readonly description: string;
  readonly headers?: Readonly<Record<string, HeaderObject>>;
  readonly content?: Readonly<Record<string, MediaTypeObject>>;
}

/** One operation (a method on a path). */
export interface OperationObject {
  readonly operationId: string;
  readonly summary: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly parameters?: readonly ParameterObject[];
  readonly requestBody?: { readonly description: string; readonly required: boolean; readonly content: Readonly<Record<string, MediaTypeObject>> };
  /** Keyed by status code, a range (`2XX`) or `default`. */
  readonly responses: Readonly<Record<string, ResponseObject>>;
  /** `[]` for an operation served without the API's authorizer. */
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
}

export type HttpMethod = 'get' | 'post' | 'delete';

/** The operations of one path. */
export type PathItemObject = { readonly parameters?: readonly ParameterObject[] } & Partial<Readonly<Record<HttpMethod, OperationObject>>>;

/** The document (the parts of OpenAPI 3.1 this API uses). */
export interface OpenApiDocument {
  readonly openapi: '3.1.0';
  readonly info: { readonly title: string; readonly version: string; readonly description: string };
  readonly tags: readonly { readonly name: string; readonly description: string }[];
  readonly paths: Readonly<Record<string, PathItemObject>>;
  readonly webhooks: Readonly<Record<string, PathItemObject>>;
  /** One of these, as the deployment chose (`auth` of the construct): SigV4 by default, or a JWT. */
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
  readonly components: {
    readonly securitySchemes: Readonly<Record<string, Readonly<Record<string, string>>>>;
    readonly schemas: Readonly<Record<string, DocumentSchema>>;
    /** Answers of the `$default` route, for requests that match no operation here. */
    readonly responses: Readonly<Record<'RouteNotFound' | 'MethodNotAllowed', ResponseObject>>;
  };
}

const PROBLEM_JSON = 'application/problem+json';
const JSON_TYPE = 'application/json';
const ref = (name: string): string => `#/components/schemas/${name}`;

/** The event `type` of each final status: completion events and webhook bodies. */
const EVENT_TYPES = {
  'job.succeeded': 'SUCCEEDED',
  'job.failed': 'FAILED',
  'job.cancelled': 'CANCELLED',
} as const satisfies Record<JobEvent['type'], JobStatus>;

function retryAfter(description: string): HeaderObject {
  return { description, required: true, schema: { type: 'integer', minimum: 0, description: 'Seconds (the delay-seconds form).' } };
}

/** A problem+json response whose `type` is one of `types` and whose `status` is the response's. */
function problem(status: number, description: string, types: readonly string[], headers?: Record<string, HeaderObject>): ResponseObject {
  return {
    description,
    ...(headers && { headers }),
    content: {
      [PROBLEM_JSON]: { schema: { $ref: ref('Problem'), properties: { type: { enum: types }, status: { const: status } } } },
    },
  };
}

/** A problem response that API Gateway itself may also give, with its own `{ "message": … }` JSON body. */
function problemOrGateway(status: number, description: string, types: readonly string[]): ResponseObject {
  const base = problem(status, description, types);
  return { ...base, content: { ...base.content, [JSON_TYPE]: { schema: { $ref: ref('GatewayError') } } } };
}

const internalError = problemOrGateway(
  500,
  'A bug or an outage. As problem+json from the function (`detail` quotes the request id for the logs), or as `{"message": "Internal Server Error"}` from API Gateway when the function itself crashed or timed out. Safe to retry a read; retry a submit with the same Idempotency-Key.',
  [ProblemType.internal],
);

const jobIdParameter: ParameterObject = {
  name: 'id',
  in: 'path',
  required: true,
  description: 'The job id, as in `Location` and `links.self`. Any other value reads as 404.',
  schema: { type: 'string' },
};

const METHODS: Readonly<Record<RouteSpec['method'], HttpMethod>> = { GET: 'get', POST: 'post', DELETE: 'delete' };

/** The path-level parameters of a route path: `{id}` is a job id; any other name is a route this file does not know. */
function pathParameters(path: string): { parameters?: readonly ParameterObject[] } {
  const names = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
  if (names.length === 0) return {};
  if (names.some((name) => name !== 'id')) throw new Error(`route path ${path} has a parameter functions/core/openapi.ts does not describe`);
  return { parameters: [jobIdParameter] };
}

/** Every operation the API can serve, keyed `METHOD path` as in the route declarations. */
function operations(limits: OpenApiLimits): Readonly<Record<string, OperationObject>> {
  const pollAfter = retryAfter('Seconds to wait before polling `Location` again.');
  const job = (narrowing: Readonly<Record<string, DocumentSchema>> = {}): Readonly<Record<string, MediaTypeObject>> => ({
    [JSON_TYPE]: { schema: Object.keys(narrowing).length > 0 ? { $ref: ref('Job'), properties: narrowing } : { $ref: ref('Job') } },
  });
  return {
    'POST /jobs': {
      operationId: 'submitJob',
      summary: 'Submit a job',
      description:
        'Accepts the job and answers `202` at once; the work runs later. `202` is not success: poll `Location` (waiting `Retry-After` seconds between polls) until it answers `200`, or wait for the completion event or webhook.',
      tags: ['jobs'],
      parameters: [
        {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes retries safe: a repeat with the same key and the same body (same JSON, whatever the key order) answers the first job again (`Idempotent-Replayed: true`); the same key with another body is `422`. Keys belong to the caller and last as long as the job.',
          schema: idempotencyKeySchema,
        },
      ],
      requestBody: {
        description: `The job. At most ${limits.maxBodyBytes} bytes, nested at most 32 levels; \`application/json\` (or another \`application/*+json\`).`,
        required: true,
        content: { [JSON_TYPE]: { schema: { $ref: ref('SubmitRequest') } } },
      },
      responses: {
        '202': {
          description:
            'Accepted, not done: the job is recorded and will reach a final state. The body is the job as it is now (`QUEUED`, or for a replayed Idempotency-Key, as the first job is now).',
          headers: {
            Location: { description: 'The job resource to poll.', required: true, schema: { type: 'string', pattern: '^/jobs/' } },
            'Retry-After': retryAfter('Seconds to wait before the first poll (at least the start delay asked for).'),
            'Idempotent-Replayed': {
              description: 'Present when the Idempotency-Key was seen before with the same body: this is the job the first request created.',
              required: false,
              schema: { type: 'string', enum: ['true'] },
            },
          },
          content: job(),
        },
        '400': problem(400, 'The body is not JSON, or breaks the schema (`errors[]` names each field), or the Idempotency-Key is malformed.', [
          ProblemType.malformedJson,
          ProblemType.validation,
        ]),
        '413': problemOrGateway(413, `The body is over ${limits.maxBodyBytes} bytes, as sent or as stored (parsed and written as JSON again; a body too large for an invocation, over about 6 MB, API Gateway answers itself).`, [ProblemType.payloadTooLarge]),
        '415': problem(415, 'The content type is not `application/json`.', [ProblemType.unsupportedMediaType]),
        '422': problem(422, 'No processor handles `type`, or the Idempotency-Key was used before with another body.', [
          ProblemType.unknownJobType,
          ProblemType.idempotencyKeyReused,
        ]),
        '500': internalError,
        '503': problem(
          503,
          'The job could not be queued. Without an Idempotency-Key nothing was created; with one, retry with the same key. Retry after `Retry-After`.',
          [ProblemType.unavailable],
          { 'Retry-After': retryAfter('Seconds to wait before retrying.') },
        ),
      },
    },
    'GET /jobs': {
      operationId: 'listJobs',
      summary: "List the caller's jobs",
      description:
        'Newest first, a page at a time. With `status`, the filter applies within each page, so a page may hold fewer than `limit` jobs (even none) and still have a `nextCursor`: follow it until it is absent. A page also ends early when the results of its jobs reach about 5 MB (the response limit of Lambda is 6 MB). Unknown query parameters are refused (`400`).',
      tags: ['jobs'],
      parameters: [
        { name: 'status', in: 'query', required: false, description: 'Only jobs in this status.', schema: { type: 'string', enum: JOB_STATUSES } },
        {
          name: 'limit',
          in: 'query',
          required: false,
          description: 'Jobs per page.',
          schema: { type: 'integer', minimum: 1, maximum: LIST_LIMITS.max, default: LIST_LIMITS.default },
        },
        { name: 'cursor', in: 'query', required: false, description: 'The `nextCursor` of the previous page.', schema: { type: 'string' } },
      ],
      responses: {
        '200': { description: 'One page.', content: { [JSON_TYPE]: { schema: { $ref: ref('JobPage') } } } },
        '400': problem(400, 'A query parameter is invalid or unknown; `errors[0].field` names it.', [ProblemType.validation]),
        '500': internalError,
      },
    },
    'GET /jobs/{id}': {
      operationId: 'getJob',
      summary: 'Read a job',
      description: '`202` while the job is `QUEUED` or `RUNNING` (poll again after `Retry-After`), `200` once it has ended. Both carry the whole job.',
      tags: ['jobs'],
      responses: {
        '200': {
          description: 'The job has ended: `SUCCEEDED` (read `result`), `FAILED` or `CANCELLED` (read `error`). A `FAILED` job is a final answer too, not an error of this call.',
          content: job({ done: { const: true } }),
        },
        '202': {
          description: 'The job has not ended yet; `progress` says how far it got.',
          headers: { 'Retry-After': pollAfter },
          content: job({ done: { const: false } }),
        },
        '404': problem(404, 'No such job for this caller: an unknown or malformed id, another caller’s job, or a finished job past `expiresAt`.', [
          ProblemType.notFound,
        ]),
        '500': internalError,
      },
    },
    'DELETE /jobs/{id}': {
      operationId: 'cancelJob',
      summary: 'Cancel a job',
      description: 'A `QUEUED` job becomes `CANCELLED` at once (`200`). A `RUNNING` job is asked to stop (`202`): its processor’s signal fires within about a second and it ends `CANCELLED`, or as it ended if it finished first.',
      tags: ['jobs'],
      responses: {
        '200': { description: 'The job is `CANCELLED`.', content: job({ status: { const: 'CANCELLED' } }) },
        '202': {
          description: 'The job is running and was asked to stop (`cancelRequested: true`); poll it until it ends.',
          headers: { 'Retry-After': pollAfter },
          content: job(),
        },
        '404': problem(404, 'No such job for this caller.', [ProblemType.notFound]),
        '409': problem(409, 'The job has already ended; there is nothing to cancel.', [ProblemType.alreadyFinished]),
        '500': internalError,
      },
    },
    'GET /openapi.json': {
      operationId: 'getOpenApi',
      summary: 'This document',
      description: 'The OpenAPI 3.1 description of the API, generated from the schemas the handlers validate with.',
      tags: ['meta'],
      parameters: [
        { name: 'If-None-Match', in: 'header', required: false, description: 'An `ETag` seen before: `304` when the document is unchanged.', schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'The document.',
          headers: {
            'Cache-Control': { description: 'How long the document may be cached.', required: true, schema: { type: 'string' } },
            ETag: { description: 'Names this version of the document.', required: true, schema: { type: 'string' } },
          },
          content: { [JSON_TYPE]: { schema: { type: 'object', required: ['openapi', 'info', 'paths'] } } },
        },
        '304': { description: 'Unchanged since the `ETag` given in `If-None-Match`.' },
        '500': internalError,
      },
    },
  };
}

/** The webhook a job submitted with `callbackUrl` delivers when it ends. */
function jobCompletedWebhook(): OperationObject {
  const header = (name: string, description: string): ParameterObject => ({ name, in: 'header', required: true, description, schema: { type: 'string' } });
  return {
    operationId: 'jobCompleted',
    summary: 'A job ended (sent to its callbackUrl)',
    description:
      'Sent once the job reaches a final state, signed the Standard Webhooks way, at least once: retried with exponential backoff and jitter for about a day, then given up (the job’s `webhook` member shows how delivery is going). Redirects are never followed. Verify the signature over the raw body before trusting it, and use `webhook-id` to drop duplicates.',
    tags: ['webhooks'],
    parameters: [
      header('webhook-id', 'The event id (`evt_…`): the same on every retry of this event.'),
      header('webhook-timestamp', 'Seconds since the epoch when this attempt was signed; refuse old ones (replays).'),
      header('webhook-signature', 'Space-separated `v1,<base64>` signatures: HMAC-SHA256 of `<webhook-id>.<webhook-timestamp>.<body>` under the base64 key of the `whsec_…` secret. More than one during a secret rotation; one match is enough.'),
    ],
    requestBody: { description: 'The completion event.', required: true, content: { [JSON_TYPE]: { schema: { $ref: ref('JobEvent') } } } },
    responses: {
      '2XX': { description: 'Delivered: not sent again.' },
      '410': { description: 'Gone: not sent again.' },
      default: {
        description: 'Failed (so is a 3xx, and no answer within the attempt timeout): retried later; a `Retry-After` on 429 and 5xx is honoured.',
      },
    },
  };
}

/**
 * The OpenAPI 3.1 document of the API as deployed with these limits. It describes exactly the
 * routes served (`served`, by default those of `infra/functions.ts`), and fails when one of them has
 * no description, so a new route cannot go undocumented.
 */
export function openApiDocument(limits: OpenApiLimits, served: readonly RouteSpec[] = routes): OpenApiDocument {
  const known = operations(limits);
  const paths: Record<string, { parameters?: readonly ParameterObject[] } & Partial<Record<HttpMethod, OperationObject>>> = {};
  for (const route of served) {
    const described = known[`${route.method} ${route.path}`];
    if (!described) throw new Error(`route ${route.method} ${route.path} has no OpenAPI description in functions/core/openapi.ts`);
    // The stage throttles every route; behind the authorizer, API Gateway also refuses a caller it cannot authenticate.
    const throttled = { '429': gatewayAnswer('Throttled: the stage admits so many requests a second per route (see the README). Retry with backoff.') };
    const operation: OperationObject = route.public
      ? { ...described, responses: { ...described.responses, ...throttled }, security: [] }
      : {
          ...described,
          responses: {
            ...described.responses,
            ...throttled,
            '401': gatewayAnswer('No valid token (JWT auth): API Gateway refused the request.'),
            '403': problemOrGateway(
              403,
              'No valid SigV4 signature, or no permission (IAM auth): API Gateway refused the request with `{"message": …}`. Or a valid token that names no subject (no `sub` claim), or an identity over 1,024 bytes: jobs belong to the subject that created them.',
              [ProblemType.unidentifiedCaller],
            ),
          },
        };
    const item = paths[route.path] ?? { ...pathParameters(route.path) };
    item[METHODS[route.method]] = operation;
    paths[route.path] = item;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'async-jobs',
      version: '1',
      description: [
        'The asynchronous request-reply pattern: `POST /jobs` answers `202 Accepted` at once, the work runs behind a queue, and the caller learns the outcome by polling `GET /jobs/{id}` (following `Retry-After`), from the completion event on the SNS topic, or from a signed webhook to its `callbackUrl`.',
        '',
        '`202` is never success: it means accepted, or not finished yet. A `200` whose job is `FAILED` or `CANCELLED` is a final answer; `done` is true exactly for the final states.',
        '',
        `Every error is \`${PROBLEM_JSON}\` (RFC 9457). A path the API does not serve answers \`404\`, a served path with another method \`405\` with \`Allow\` (see components.responses; \`HEAD\` is not served), and \`OPTIONS\` on a served path \`204\` with the same \`Allow\`. API Gateway itself may answer \`429\`, \`500\`, \`503\` or \`504\` with \`{"message": …}\` when throttling or when a function fails.`,
      ].join('\n'),
    },
    tags: [
      { name: 'jobs', description: 'Submit, read, cancel and list jobs.' },
      { name: 'meta', description: 'About the API itself.' },
      { name: 'webhooks', description: 'What the API sends to a callbackUrl.' },
    ],
    paths,
    webhooks: { jobCompleted: { post: jobCompletedWebhook() } },
    security: [{ sigv4: [] }, { jwt: [] }],
    components: {
      securitySchemes: {
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'AWS Signature Version 4 for the service `execute-api` (the default: IAM auth). The job owner is the caller’s IAM principal ARN (for Cognito identity pool credentials, the identity: `cognito-identity/<pool id>/<identity id>`).',
        },
        jwt: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A JWT from the issuer the deployment names (JWT auth). The job owner is its `sub`.',
        },
      },
      schemas: {
        SubmitRequest: submitRequestSchema(limits),
        ...Object.fromEntries(ruledInputs(limits).map(({ type, rule }) => [`JobInput.${type}`, { ...rule, title: `The input of a \`${type}\` job` }])),
        Job: jobResourceSchema,
        JobPage: {
          type: 'object',
          title: 'JobPage',
          required: ['jobs'],
          additionalProperties: false,
          properties: {
            jobs: { type: 'array', items: { $ref: ref('Job') }, description: 'Newest first.' },
            nextCursor: { type: 'string', description: 'Pass it as `cursor` for the next page; absent on the last page.' },
          },
        },
        JobEvent: {
          type: 'object',
          title: 'JobEvent',
          description:
            'The completion event: published once per final transition (at least once; a retry carries the same `id`) to the SNS topic, with message attributes `type`, `status`, `jobType` and `callback` (`true` when the job has a `callbackUrl`), and delivered to the `callbackUrl` as a webhook.',
          required: ['id', 'type', 'timestamp', 'data'],
          additionalProperties: false,
          properties: {
            id: { type: 'string', description: 'The event id (`evt_…`); the webhook-id of its deliveries.' },
            type: { type: 'string', enum: Object.keys(EVENT_TYPES) },
            timestamp: { type: 'string', format: 'date-time', description: 'When the job ended.' },
            data: {
              $ref: ref('Job'),
              description: 'The job as it ended, without its `webhook` member (which reports on this event’s own delivery): every publication of an event carries the same content.',
              properties: { done: { const: true } },
              not: { required: ['webhook'] },
            },
          },
          oneOf: Object.entries(EVENT_TYPES).map(([type, status]) => ({ properties: { type: { const: type }, data: { properties: { status: { const: status } } } } })),
        },
        Problem: problemDetailsSchema,
        GatewayError: {
          type: 'object',
          title: 'GatewayError',
          description: 'An answer of API Gateway itself, not of the API’s functions.',
          required: ['message'],
          properties: { message: { type: 'string' } },
        },
      },
      responses: {
        RouteNotFound: problem(404, 'No resource at this path.', [ProblemType.routeNotFound]),
        MethodNotAllowed: problem(405, 'The path exists, not with this method.', [ProblemType.methodNotAllowed], {
          Allow: { description: 'The methods the path has, comma-separated.', required: true, schema: { type: 'string', pattern: '^[A-Z]+(, [A-Z]+)*$' } },
        }),
      },
    },
  };
}

function gatewayAnswer(description: string): ResponseObject {
  return { description, content: { [JSON_TYPE]: { schema: { $ref: ref('GatewayError') } } } };
}

/**
 * Whether a rule names `null` as one of its shapes. The handler checks an absent input as `null`, so the
 * document requires `input` for a rule that does not (a test holds this to the validator's answer for
 * every rule: the validator itself stays out of this function's bundle).
 */
export function admitsNull(rule: Schema): boolean {
  return rule.type === 'null' || (rule.oneOf ?? []).some(admitsNull);
}

/** The job types that have an input rule, with it. */
function ruledInputs(limits: OpenApiLimits): { readonly type: string; readonly rule: Schema }[] {
  return Object.entries(limits.inputSchemas).flatMap(([type, rule]) => (rule ? [{ type, rule }] : []));
}

/**
 * The `POST /jobs` body as the handler takes it: the submit schema and, for each type with an input rule,
 * that rule on `input` (required unless the rule admits `null`: an absent input is checked as `null`).
 */
function submitRequestSchema(limits: OpenApiLimits): DocumentSchema {
  const base: DocumentSchema = { ...submitSchema(limits), title: 'SubmitRequest' };
  const ruled = ruledInputs(limits);
  if (ruled.length === 0) return base;
  return {
    ...base,
    oneOf: [
      ...ruled.map(({ type, rule }) => ({
        properties: { type: { const: type }, input: { $ref: ref(`JobInput.${type}`) } },
        required: admitsNull(rule) ? ['type'] : ['type', 'input'],
      })),
      { properties: { type: { not: { enum: ruled.map(({ type }) => type) } } } },
    ],
  };
}

/** The document as served: its JSON text and an ETag naming that text. */
export function servedDocument(limits: OpenApiLimits): { readonly body: string; readonly etag: string } {
  const body = JSON.stringify(openApiDocument(limits));
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** True when an `If-None-Match` header names `etag` (or `*`); weak and strong forms compare equal, as RFC 9110 asks for GET. */
export function ifNoneMatchHits(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag.replace(/^W\//, '') === etag;
  });
}
