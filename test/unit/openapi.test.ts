/**
 * The OpenAPI document: valid for an independent OpenAPI validator, its schemas valid JSON Schema,
 * built from the rules the handlers enforce, served by `GET /openapi.json`; and the response checker
 * the e2e suites run every response through.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { HttpResult } from '#core/http';
import type { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SnsEventPublisher } from '#aws/event-publisher';
import { type JobRecord, type JobResource, toResource } from '#core/job';
import { jobResourceSchema } from '#core/job-schema';
import { completionEvent } from '#core/lifecycle';
import { LIST_LIMITS, parseListQuery } from '#core/list';
import { admitsNull, ifNoneMatchHits, openApiDocument } from '#core/openapi';
import { ProblemError, ProblemType } from '#core/problem';
import { type Schema, validate } from '#core/schema';
import { submitSchema } from '#core/submit';
import { routes } from '#infra/functions';
import { inputSchemas, jobTypes } from '#processors/types';
import { httpEvent, lambdaContext } from '../support/events.ts';
import { documentAjv, localDocument, localLimits, openApiRoute, ResponseChecker } from '../support/openapi-check.ts';

const document = localDocument();

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 for an independent validator', async () => {
    // Prepare: the document as a client downloads it.
    const validator = new Validator();
    const downloaded: Record<string, unknown> = JSON.parse(JSON.stringify(document));

    // Act
    const result = await validator.validate(downloaded);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has only valid JSON Schema 2020-12 in it (Ajv, strict mode)', () => {
    // Prepare
    const ajv = documentAjv(document);
    const checker = new ResponseChecker(document);

    // Act / Assess
    expect(() => checker.compileAll()).not.toThrow();
    for (const name of Object.keys(document.components.schemas)) {
      expect(ajv.getSchema(`https://async-jobs.invalid/components.json#/$defs/${name}`), name).toBeTypeOf('function');
    }
  });

  it('describes each route of infra/functions.ts under its path and method', () => {
    // Act
    const described = Object.entries(document.paths).flatMap(([path, item]) =>
      (['get', 'post', 'delete'] as const).filter((method) => item[method]).map((method) => `${method.toUpperCase()} ${path}`),
    );

    // Assess
    const served = [...routes, openApiRoute].map((route) => `${route.method} ${route.path}`);
    expect(described.sort()).toEqual([...new Set(served)].sort());
  });

  it('documents the 429 of stage throttling on every operation, as the gateway’s own answer', () => {
    // Act
    const operations = Object.entries(document.paths).flatMap(([path, item]) =>
      (['get', 'post', 'delete'] as const).flatMap((method) => (item[method] ? [[`${method} ${path}`, item[method]] as const] : [])),
    );

    // Assess
    for (const [name, operation] of operations) {
      expect(JSON.stringify(operation.responses['429']?.content), name).toContain('GatewayError');
    }
    expect(operations.length).toBeGreaterThan(4);
  });

  it('refuses to describe a route it has no description for', () => {
    // Act / Assess
    expect(() => openApiDocument(localLimits, [...routes, { method: 'GET', path: '/jobs/{id}/logs', function: 'get-job' }])).toThrow(
      'route GET /jobs/{id}/logs has no OpenAPI description',
    );
  });

  it('takes the submit body schema from the handler, limits included', () => {
    // Prepare
    const limits = { ...localLimits, maxTimeoutSeconds: 297, maxDelaySeconds: 60 };

    // Act
    const built = openApiDocument(limits, routes);

    // Assess
    expect(built.components.schemas.SubmitRequest).toEqual({ ...submitSchema(limits), title: 'SubmitRequest', oneOf: expect.any(Array) });
    expect(built.components.schemas.SubmitRequest?.properties?.timeoutSeconds?.maximum).toBe(297);
    expect(built.paths['/jobs']?.post?.requestBody?.content['application/json']?.schema).toEqual({ $ref: '#/components/schemas/SubmitRequest' });
  });

  it('states the input rule of each job type that has one, as JobInput.<type>, and no other', () => {
    // Act
    const stated = Object.keys(document.components.schemas).filter((name) => name.startsWith('JobInput.'));

    // Assess
    expect(stated.sort()).toEqual(Object.keys(inputSchemas).map((type) => `JobInput.${type}`).sort());
    for (const type of jobTypes) {
      const rule = inputSchemas[type];
      if (rule) expect(document.components.schemas[`JobInput.${type}`]).toEqual({ ...rule, title: `The input of a \`${type}\` job` });
    }
    expect(stated).toContain('JobInput.sleep');
  });

  it.each(Object.entries(inputSchemas))('requires the input of %s exactly when its rule refuses null, as the handler checks an absent input', (_, rule) => {
    // Act / Assess
    expect(admitsNull(rule)).toBe(validate(rule, null).length === 0);
  });

  it('documents the job resource with the schema of core/job.ts', () => {
    // Act / Assess
    expect(document.components.schemas.Job).toBe(jobResourceSchema);
  });

  it('names every message attribute the topic’s events carry, which subscribers filter on', async () => {
    // Prepare: what the publisher sends for a job with a callback
    const sent: PublishCommand[] = [];
    const client = { send: async (command: PublishCommand) => void sent.push(command) } as unknown as SNSClient;
    const job = record('SUCCEEDED', { callbackUrl: 'https://example.com/hook', eventId: 'evt_AAAAAAAAAAAAAAAAAAAAAA' });
    // Act
    await new SnsEventPublisher(client, 'arn:aws:sns:us-east-1:000000000000:jobs').publish(completionEvent(job));
    // Assess
    const description = (document.components.schemas.JobEvent as { description: string }).description;
    const attributes = Object.keys(sent[0]?.input.MessageAttributes ?? {});
    expect(attributes.length).toBeGreaterThan(0);
    for (const attribute of attributes) expect(description, attribute).toContain(`\`${attribute}\``);
  });

  it('names every problem type the API or a job can return, in the response or member that returns it', () => {
    // Prepare: the enums and consts of `type` in problem schemas, wherever they are.
    const named = new Set<string>();
    const collect = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(collect);
      else if (value && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key === 'type' && child && typeof child === 'object' && !Array.isArray(child)) {
            const { enum: values, const: single } = child as { enum?: unknown[]; const?: unknown };
            for (const type of [...(values ?? []), single]) if (typeof type === 'string' && type.startsWith('/problems/')) named.add(type);
          }
          collect(child);
        }
      }
    };

    // Act
    collect(document);

    // Assess: every problem type problem.ts declares is one the document names.
    const returned = Object.values(ProblemType);
    expect([...named].sort()).toEqual([...returned].sort());
  });
});

describe('the query parameters of GET /jobs', () => {
  const parameters = document.paths['/jobs']?.get?.parameters ?? [];
  const schemaOf = (name: string): Schema => parameters.find((parameter) => parameter.name === name)?.schema ?? {};
  const ajv = documentAjv(document);
  const acceptedByHandler = (params: Record<string, string>) => {
    try {
      parseListQuery(params, 'anonymous');
      return true;
    } catch (error) {
      if (error instanceof ProblemError) return false;
      throw error;
    }
  };

  it.each<[string, string]>([
    ['limit', '1'],
    ['limit', '20'],
    ['limit', String(LIST_LIMITS.max)],
    ['limit', '0'],
    ['limit', String(LIST_LIMITS.max + 1)],
    ['status', 'QUEUED'],
    ['status', 'CANCELLED'],
    ['status', 'queued'],
    ['status', 'DONE'],
  ])('%s=%s: the document and the handler agree', (name, value) => {
    // Prepare
    const schema = schemaOf(name);
    const typed = schema.type === 'integer' ? Number(value) : value;

    // Act
    const documented = ajv.validate(schema, typed);

    // Assess
    expect(documented).toBe(acceptedByHandler({ [name]: value }));
  });

  it('states the default page size', () => {
    expect(schemaOf('limit').default).toBe(LIST_LIMITS.default);
  });
});

/** A stored job in `status`, with what a job in that status has. */
function record(status: JobRecord['status'], extra: Partial<JobRecord> = {}): JobRecord {
  const final = status === 'SUCCEEDED' || status === 'FAILED' || status === 'CANCELLED';
  return {
    id: 'job_AAAAAAAAAAAAAAAAAAAAAA',
    owner: 'anonymous',
    type: 'echo',
    status,
    input: { n: 1 },
    timeoutSeconds: 60,
    attempts: status === 'QUEUED' ? 0 : 1,
    createdAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-01T12:00:01.000Z',
    ...(status !== 'QUEUED' && { startedAt: '2026-03-01T12:00:00.500Z' }),
    ...(final && { finishedAt: '2026-03-01T12:00:01.000Z', expiresAt: 1_773_000_000 }),
    ...(status === 'SUCCEEDED' && { result: { n: 1 } }),
    ...(status === 'FAILED' && { error: { type: ProblemType.jobFailed, title: 'Job failed', status: 500, detail: 'boom' } }),
    ...(status === 'CANCELLED' && { error: { type: ProblemType.jobCancelled, title: 'Job cancelled', status: 409 } }),
    ...extra,
  };
}

describe('the job resource schema', () => {
  const ajv = documentAjv(document);
  const both = (resource: unknown) => ({ ours: validate(jobResourceSchema, resource), ajv: ajv.validate('https://async-jobs.invalid/components.json#/$defs/Job', resource) });

  it.each<[string, JobRecord]>([
    ['QUEUED', record('QUEUED')],
    ['QUEUED with a delay and metadata', record('QUEUED', { delaySeconds: 30, metadata: { team: 'a' } })],
    ['RUNNING with progress', record('RUNNING', { progress: { completed: 1, total: 2, percent: 50, message: 'half' } })],
    ['RUNNING asked to stop', record('RUNNING', { cancelRequestedAt: '2026-03-01T12:00:00.700Z' })],
    ['SUCCEEDED', record('SUCCEEDED')],
    ['SUCCEEDED with a null result', record('SUCCEEDED', { result: null })],
    ['FAILED', record('FAILED')],
    ['CANCELLED', record('CANCELLED')],
  ])('accepts what toResource makes of a %s job, as Ajv does', (_, job) => {
    // Act
    const verdict = both(toResource(job));

    // Assess
    expect(verdict).toEqual({ ours: [], ajv: true });
  });

  it.each<[string, JobResource | Record<string, unknown>, string]>([
    ['done true while QUEUED', { ...toResource(record('QUEUED')), done: true }, ''],
    ['a result while RUNNING', { ...toResource(record('RUNNING')), result: 1 }, ''],
    ['SUCCEEDED without a result', (({ result: _result, ...rest }) => rest)(toResource(record('SUCCEEDED'))), ''],
    ['FAILED with the cancelled problem', { ...toResource(record('FAILED')), error: { type: ProblemType.jobCancelled, title: 'x', status: 409 } }, ''],
    ['an unknown status', { ...toResource(record('QUEUED')), status: 'PAUSED' }, '/status'],
    ['an unknown member', { ...toResource(record('QUEUED')), owner: 'anonymous' }, '/owner'],
    ['a createdAt that is not a date-time', { ...toResource(record('QUEUED')), createdAt: '1 March 2026' }, '/createdAt'],
    ['a percent over 100', { ...toResource(record('RUNNING')), progress: { completed: 3, total: 2, percent: 150 } }, '/progress/percent'],
    ['cancelRequested false', { ...toResource(record('RUNNING')), cancelRequested: false }, '/cancelRequested'],
  ])('refuses a resource with %s, as Ajv does', (_, resource, field) => {
    // Act
    const verdict = both(resource);

    // Assess
    expect(verdict.ajv).toBe(false);
    expect(verdict.ours.map((error) => error.field)).toContain(field);
  });
});

describe('schema keywords beyond the submit schema', () => {
  it.each<[string, Schema, unknown, { field: string; message: string }[]]>([
    ['enum, a listed value', { enum: ['A', 'B'] }, 'B', []],
    ['enum, another value', { enum: ['A', 'B'] }, 'C', [{ field: '', message: 'must be one of "A", "B"' }]],
    ['const, the value', { const: true }, true, []],
    ['const, another value', { const: true }, false, [{ field: '', message: 'must be true' }]],
    ['const null, a string', { const: null }, 'x', [{ field: '', message: 'must be null' }]],
    ['items, each checked at its index', { type: 'array', items: { type: 'integer' } }, [1, 'two', 3, 4.5], [
      { field: '/1', message: 'must be an integer, got string' },
      { field: '/3', message: 'must be an integer, got number' },
    ]],
    ['format date-time, a timestamp', { type: 'string', format: 'date-time' }, '2026-03-01T12:00:00.123Z', []],
    ['format date-time, an offset', { type: 'string', format: 'date-time' }, '2026-03-01T12:00:00+01:00', []],
    ['format date-time, a date alone', { type: 'string', format: 'date-time' }, '2026-03-01', [{ field: '', message: 'must be a date-time' }]],
    ['format date-time, month 13', { type: 'string', format: 'date-time' }, '2026-13-01T00:00:00Z', [{ field: '', message: 'must be a date-time' }]],
    ['oneOf, one match', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, 5, []],
    ['oneOf, no match', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, true, [{ field: '', message: 'matches none of the allowed shapes' }]],
    ['oneOf, two matches', { oneOf: [{ type: 'number' }, { type: 'integer' }] }, 5, [{ field: '', message: 'matches more than one of the allowed shapes' }]],
    ['not {}, a present property', { properties: { result: { not: {} } } }, { result: 1 }, [{ field: '/result', message: 'is not allowed here' }]],
    ['not {}, an absent property', { properties: { result: { not: {} } } }, {}, []],
  ])('%s', (_, schema, value, expected) => {
    // Act
    const errors = validate(schema, value);

    // Assess
    expect(errors).toEqual(expected);
  });
});

describe('GET /openapi.json (functions/get-openapi.ts)', () => {
  type Handler = (event: ReturnType<typeof httpEvent>, context: ReturnType<typeof lambdaContext>) => Promise<HttpResult>;
  let handler: Handler;

  beforeAll(async () => {
    vi.stubEnv('MAX_JOB_TIMEOUT_SECONDS', String(localLimits.maxTimeoutSeconds));
    vi.stubEnv('DEFAULT_JOB_TIMEOUT_SECONDS', String(localLimits.defaultTimeoutSeconds));
    ({ handler } = (await import('../../functions/get-openapi.ts')) as { handler: Handler });
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  const get = (headers: Record<string, string> = {}) => handler(httpEvent('GET', '/openapi.json', '/openapi.json', { headers }), lambdaContext());
  const asReceived = (result: HttpResult) => ({
    status: result.statusCode ?? 200,
    headers: new Headers(Object.entries(result.headers ?? {}).map(([name, value]): [string, string] => [name, String(value)])),
    body: result.body ?? '',
  });

  it('answers the document as cacheable JSON', async () => {
    // Act
    const result = await get();

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.headers).toMatchObject({ 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
    expect(result.headers?.etag).toMatch(/^"[\w-]{22}"$/);
    expect(JSON.parse(result.body ?? '')).toEqual(JSON.parse(JSON.stringify(openApiDocument(localLimits))));
  });

  it('answers 304 without a body when If-None-Match names its ETag', async () => {
    // Prepare
    const etag = String((await get()).headers?.etag);

    // Act
    const result = await get({ 'if-none-match': `W/${etag}` });

    // Assess
    expect(result.statusCode).toBe(304);
    expect(result.body ?? '').toBe('');
    expect(result.headers?.etag).toBe(etag);
  });

  it('answers as the document says it does', async () => {
    // Prepare
    const checker = new ResponseChecker(document);
    const etag = String((await get()).headers?.etag);

    // Act
    const answers = [await get(), await get({ 'if-none-match': etag })];

    // Assess
    for (const answer of answers) expect(checker.violations({ method: 'GET', url: '/openapi.json' }, asReceived(answer))).toEqual([]);
  });

  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", "abc"', true],
    ['*', true],
    ['"abcd"', false],
  ])('If-None-Match %s hits "abc": %s', (header, hit) => {
    expect(ifNoneMatchHits(header, '"abc"')).toBe(hit);
  });
});

describe('the response checker', () => {
  const checker = new ResponseChecker(document);
  const job = toResource(record('QUEUED'));
  const json = (status: number, body: unknown, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers({ 'content-type': 'application/json', ...headers }),
    body: JSON.stringify(body),
  });
  const problemJson = (status: number, type: string, headers: Record<string, string> = {}) => ({
    status,
    headers: new Headers({ 'content-type': 'application/problem+json', ...headers }),
    body: JSON.stringify({ type, title: 't', status }),
  });
  const submit = { method: 'POST', url: 'http://127.0.0.1:3000/jobs' };
  const read = { method: 'GET', url: `/jobs/${job.id}` };

  it.each<[string, { method: string; url: string }, ReturnType<typeof json>]>([
    ['a submit answered 202 with Location and Retry-After', submit, json(202, job, { location: job.links.self, 'retry-after': '1' })],
    ['a poll of a running job', read, json(202, job, { 'retry-after': '1' })],
    ['a poll of a finished job', read, json(200, toResource(record('FAILED')))],
    ['an unknown job', read, problemJson(404, ProblemType.notFound)],
    ['an unknown path', { method: 'GET', url: '/nothing' }, problemJson(404, ProblemType.routeNotFound)],
    ['another method on a known path', { method: 'PUT', url: '/jobs' }, problemJson(405, ProblemType.methodNotAllowed, { allow: 'POST, GET, OPTIONS' })],
    ['API Gateway failing the call', read, json(500, { message: 'Internal Server Error' })],
  ])('passes %s', (_, request, response) => {
    expect(checker.violations(request, response)).toEqual([]);
  });

  it.each<[string, { method: string; url: string }, ReturnType<typeof json>, string]>([
    ['a 202 without Retry-After', submit, json(202, job, { location: job.links.self }), 'header Retry-After is missing'],
    ['a 200 for a job not done', read, json(200, job), 'body/done must be equal to constant'],
    ['an undocumented status', read, json(418, {}), 'status 418 is not documented'],
    ['an error as plain JSON', read, json(404, { type: ProblemType.notFound, title: 't', status: 404 }), 'content type application/json is not documented'],
    ['a problem type the response does not name', read, problemJson(404, ProblemType.routeNotFound), 'body/type must be equal to one of the allowed values'],
    ['a 405 without Allow', { method: 'PUT', url: '/jobs' }, problemJson(405, ProblemType.methodNotAllowed), 'header Allow is missing'],
    ['a Retry-After that is not a number', read, json(202, job, { 'retry-after': 'soon' }), 'header Retry-After must be integer'],
  ])('flags %s', (_, request, response, message) => {
    expect(checker.violations(request, response).join('\n')).toContain(message);
  });
});
