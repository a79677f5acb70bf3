import { describe, expect, it, vi } from 'vitest';
import { type HttpEvent, answer, asUriPath, callerOf, jsonResponse, readJsonBody } from '#core/http';
import {
  ProblemError,
  ProblemType,
  jobNotFoundProblem,
  unavailableProblem,
  unknownJobTypeProblem,
  validationProblem,
} from '#core/problem';
import { getEvent, httpEvent, submitEvent } from '../support/events.ts';

const LIMIT = 64;

/** A `POST /jobs` event with exactly this content type (or none) and raw body. */
function postWith(contentType: string | undefined, body: string | undefined, base64 = false): HttpEvent {
  const event = httpEvent('POST', '/jobs', '/jobs', {
    headers: contentType === undefined ? {} : { 'content-type': contentType },
    ...(body !== undefined && { body }),
  });
  return { ...event, isBase64Encoded: base64 };
}

/** The problem a call throws, or a failure when it throws nothing or something else. */
function problemOf(call: () => unknown): ProblemError {
  try {
    call();
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('expected a problem to be thrown');
}

describe('readJsonBody', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/json;charset=UTF-8',
    'Application/JSON',
    'application/merge-patch+json',
    'application/vnd.api+json',
    ' application/json ',
  ])('accepts content type %j', (contentType) => {
    // Act
    const body = readJsonBody(postWith(contentType, '{"type":"echo"}'), LIMIT);

    // Assess
    expect(body).toEqual({ type: 'echo' });
  });

  it.each<[string, string | undefined]>([
    ['no content type', undefined],
    ['an empty content type', ''],
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
    ['text/json', 'text/json'],
    ['application/jsonp', 'application/jsonp'],
    ['application/xml', 'application/xml'],
    ['multipart', 'multipart/form-data; boundary=x'],
  ])('answers 415 for %s', (_, contentType) => {
    // Act
    const error = problemOf(() => readJsonBody(postWith(contentType, '{"type":"echo"}'), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.unsupportedMediaType, status: 415, title: 'Unsupported media type' });
    expect(error.problem.detail).toContain(contentType ? `'${contentType}'` : 'no content-type');
  });

  it('checks the media type before the size', () => {
    // Act
    const error = problemOf(() => readJsonBody(postWith('text/plain', 'x'.repeat(LIMIT + 1)), LIMIT));

    // Assess
    expect(error.problem.status).toBe(415);
  });

  it.each<[string, string, number]>([
    ['ASCII at the limit', `"${'a'.repeat(LIMIT - 2)}"`, LIMIT],
    ['multi-byte characters at the limit', `"${'é'.repeat((LIMIT - 2) / 2)}"`, LIMIT],
  ])('accepts a body of %s', (_, raw, bytes) => {
    // Prepare
    expect(Buffer.byteLength(raw)).toBe(bytes);

    // Act
    const body = readJsonBody(postWith('application/json', raw), LIMIT);

    // Assess
    expect(body).toBe(JSON.parse(raw));
  });

  it.each<[string, string]>([
    ['one ASCII byte over the limit', `"${'a'.repeat(LIMIT - 1)}"`],
    // 34 characters: under the limit in characters, 66 bytes in UTF-8.
    ['multi-byte characters over the limit in bytes only', `"${'é'.repeat(LIMIT / 2)}"`],
  ])('answers 413 for %s', (_, raw) => {
    // Act
    const error = problemOf(() => readJsonBody(postWith('application/json', raw), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({
      type: ProblemType.payloadTooLarge,
      status: 413,
      detail: `The request body is ${Buffer.byteLength(raw)} bytes; the limit is ${LIMIT} bytes.`,
    });
  });

  it.each<[string, string | undefined]>([
    ['an absent body', undefined],
    ['an empty body', ''],
  ])('answers 400 for %s', (_, raw) => {
    // Act
    const error = problemOf(() => readJsonBody(postWith('application/json', raw), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({
      type: ProblemType.malformedJson,
      status: 400,
      detail: 'The request body is not valid JSON: the body is empty',
    });
  });

  it.each(['{"type":', '{type: "echo"}', "{'type':'echo'}", 'echo', '{"type":"echo"} trailing'])('answers 400 for malformed JSON %j', (raw) => {
    // Act
    const error = problemOf(() => readJsonBody(postWith('application/json', raw), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.malformedJson, status: 400, title: 'Malformed JSON' });
    expect(error.problem.detail).toMatch(/^The request body is not valid JSON: ./);
  });

  it('answers 400 for a base64 body whose bytes are not UTF-8, rather than alter them', () => {
    // Prepare: bytes as a JSON media type API Gateway treats as binary (a +json one) passes them
    const raw = Buffer.concat([Buffer.from('{"type":"echo","input":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);

    // Act
    const error = problemOf(() => readJsonBody(postWith('application/vnd.api+json', raw.toString('base64'), true), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({ type: ProblemType.malformedJson, status: 400 });
    expect(error.problem.detail).toMatch(/^The request body is not valid JSON: .*(encoded|UTF-8|utf-8)/);
  });

  it('decodes a base64 body', () => {
    // Prepare
    const raw = JSON.stringify({ type: 'echo', input: { text: 'grüße' } });

    // Act
    const body = readJsonBody(postWith('application/json', Buffer.from(raw).toString('base64'), true), LIMIT);

    // Assess
    expect(body).toEqual({ type: 'echo', input: { text: 'grüße' } });
  });

  it('counts the decoded bytes of a base64 body against the limit', () => {
    // Prepare: the encoded text is longer than the limit, the decoded body is not.
    const raw = `"${'a'.repeat(LIMIT - 2)}"`;
    const encoded = Buffer.from(raw).toString('base64');
    expect(encoded.length).toBeGreaterThan(LIMIT);

    // Act
    const body = readJsonBody(postWith('application/json', encoded, true), LIMIT);

    // Assess
    expect(body).toBe('a'.repeat(LIMIT - 2));
  });

  it('refuses a base64 body whose decoded size is over the limit', () => {
    // Prepare
    const encoded = Buffer.from(`"${'a'.repeat(LIMIT)}"`).toString('base64');

    // Act
    const error = problemOf(() => readJsonBody(postWith('application/json', encoded, true), LIMIT));

    // Assess
    expect(error.problem).toMatchObject({ status: 413, detail: `The request body is ${LIMIT + 2} bytes; the limit is ${LIMIT} bytes.` });
  });
});

describe('answer', () => {
  const quietLogger = () => ({ error: vi.fn<(message: string, fields: Record<string, unknown>) => void>() });

  it('passes a successful result through untouched', async () => {
    // Prepare
    const logger = quietLogger();
    const result = jsonResponse(202, { id: 'job_1' }, { location: '/jobs/job_1' });

    // Act
    const response = await answer(submitEvent({ type: 'echo' }), logger, async () => result);

    // Assess
    expect(response).toBe(result);
    expect(response.headers).toEqual({ 'content-type': 'application/json', location: '/jobs/job_1' });
    expect(logger.error).not.toHaveBeenCalled();
  });

  it.each<[string, ProblemError, string, Record<string, string>]>([
    ['a validation problem', validationProblem([{ field: '/type', message: 'is required' }]), '/jobs', {}],
    ['an unknown job type', unknownJobTypeProblem('nope', ['echo', 'sleep']), '/jobs', {}],
    ['a missing job', jobNotFoundProblem('job_x'), '/jobs/job_x', {}],
  ])('answers %s as application/problem+json, and logs nothing (the caller is at fault)', async (_, problem, path, extraHeaders) => {
    // Prepare
    const logger = quietLogger();
    const event = httpEvent('POST', '/jobs', path);

    // Act
    const response = await answer(event, logger, async () => {
      throw problem;
    });

    // Assess
    expect(response.statusCode).toBe(problem.problem.status);
    expect(response.headers).toEqual({ 'content-type': 'application/problem+json', ...extraHeaders });
    expect(JSON.parse(String(response.body))).toEqual({ ...problem.problem, instance: path });
    expect(logger.error).not.toHaveBeenCalled();
  });

  it('answers an outage as a 503 problem with Retry-After, and logs the error behind it', async () => {
    // Prepare
    const logger = quietLogger();
    const event = submitEvent({ type: 'echo' });
    const cause = new Error('User is not authorized to perform: kms:GenerateDataKey');

    // Act
    const response = await answer(event, logger, async () => {
      throw unavailableProblem('The job could not be queued right now.', 3, cause);
    });

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toEqual({ 'content-type': 'application/problem+json', 'retry-after': '3' });
    expect(response.body).not.toContain('kms:');
    expect(logger.error).toHaveBeenCalledOnce();
    expect(logger.error.mock.calls[0]?.[1]).toMatchObject({
      requestId: event.requestContext.requestId,
      detail: 'The job could not be queued right now.',
      error: { name: 'Error', message: cause.message },
    });
  });

  it.each<[string, unknown]>([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.1:443 secret-table')],
    ['a thrown string', 'connect ECONNREFUSED 10.0.0.1:443 secret-table'],
  ])('answers %s as a 500 problem that reveals nothing, and logs it', async (_, thrown) => {
    // Prepare
    const logger = quietLogger();
    const event = getEvent('job_abc');

    // Act
    const response = await answer(event, logger, async () => {
      throw thrown;
    });

    // Assess
    const body: unknown = JSON.parse(String(response.body));
    expect(response.statusCode).toBe(500);
    expect(response.headers).toEqual({ 'content-type': 'application/problem+json' });
    expect(body).toEqual({
      type: ProblemType.internal,
      title: 'Internal error',
      status: 500,
      detail: `The request failed unexpectedly; quote request id ${event.requestContext.requestId} when reporting it.`,
      instance: '/jobs/job_abc',
    });
    expect(response.body).not.toContain('ECONNREFUSED');
    expect(response.body).not.toMatch(/\bat .+:\d+:\d+/);
    expect(logger.error).toHaveBeenCalledOnce();
    expect(logger.error.mock.calls[0]?.[1]).toMatchObject({ requestId: event.requestContext.requestId });
    expect(JSON.stringify(logger.error.mock.calls[0]?.[1])).toContain('ECONNREFUSED');
  });

  it('logs the stack of an unexpected error', async () => {
    // Prepare
    const logger = quietLogger();
    const error = new TypeError('boom');

    // Act
    await answer(getEvent('job_abc'), logger, async () => {
      throw error;
    });

    // Assess
    expect(logger.error.mock.calls[0]?.[1]).toMatchObject({ error: { name: 'TypeError', message: 'boom', stack: error.stack } });
  });
});

describe('problems', () => {
  it('summarises field errors in the detail, naming the body itself "(body)"', () => {
    // Act
    const error = validationProblem([
      { field: '', message: 'must be of type object, got null' },
      { field: '/type', message: 'is required' },
    ]);

    // Assess
    expect(error.problem).toEqual({
      type: ProblemType.validation,
      title: 'Invalid request',
      status: 400,
      detail: '(body): must be of type object, got null; /type: is required',
      errors: [
        { field: '', message: 'must be of type object, got null' },
        { field: '/type', message: 'is required' },
      ],
    });
  });
});

describe('callerOf', () => {
  it.each<[string, HttpEvent, string]>([
    ['an IAM caller', getEvent('job_1', { callerArn: 'arn:aws:iam::123456789012:user/alice' }), 'arn:aws:iam::123456789012:user/alice'],
    ['a JWT subject', getEvent('job_1', { jwtSub: 'user-42' }), 'user-42'],
    ['a JWT subject as long as the jobs table can key by', getEvent('job_1', { jwtSub: 'é'.repeat(512) }), 'é'.repeat(512)],
    ['no authorizer', getEvent('job_1'), 'anonymous'],
    [
      'both, preferring IAM',
      withAuthorizer({ iam: { userArn: 'arn:aws:iam::1:role/r' }, jwt: { claims: { sub: 'user-42' } } }),
      'arn:aws:iam::1:role/r',
    ],
    [
      'an IAM caller whose event has no Cognito identity',
      withAuthorizer({ iam: { userArn: 'arn:aws:sts::1:assumed-role/ci/build-7', cognitoIdentity: null } }),
      'arn:aws:sts::1:assumed-role/ci/build-7',
    ],
    [
      'a Cognito identity pool user, by the identity rather than the role all its users share',
      withAuthorizer({ iam: { userArn: COGNITO_ROLE_ARN, cognitoIdentity: { identityPoolId: 'eu-west-1:pool-1', identityId: 'eu-west-1:alice' } } }),
      'cognito-identity/eu-west-1:pool-1/eu-west-1:alice',
    ],
  ])('names the owner for %s', (_, event, owner) => {
    // Act / Assess
    expect(callerOf(event)).toBe(owner);
  });

  it('gives two users of one Cognito identity pool two owners, so neither sees the other\'s jobs', () => {
    // Arrange: API Gateway reports the same role session ARN for every user of an identity pool
    const user = (identityId: string) => withAuthorizer({ iam: { userArn: COGNITO_ROLE_ARN, cognitoIdentity: { identityPoolId: 'eu-west-1:pool-1', identityId } } });

    // Act
    const owners = [callerOf(user('eu-west-1:alice')), callerOf(user('eu-west-1:mallory'))];

    // Assess
    expect(new Set(owners).size).toBe(2);
    expect(owners).not.toContain(COGNITO_ROLE_ARN);
  });

  it.each<[string, HttpEvent]>([
    ['a JWT without a subject', withAuthorizer({ jwt: { claims: { email: 'a@example.com' } } })],
    ['a JWT with an empty subject', withAuthorizer({ jwt: { claims: { sub: '' } } })],
    ['a JWT with a numeric subject', withAuthorizer({ jwt: { claims: { sub: 42 } } })],
    ['a JWT context without claims', withAuthorizer({ jwt: {} })],
    ['an IAM context without a user ARN', withAuthorizer({ iam: {} })],
    ['an empty authorizer context', withAuthorizer({})],
    ['a JWT subject longer than the jobs table can key by', withAuthorizer({ jwt: { claims: { sub: 'x'.repeat(2_049) } } })],
  ])('refuses %s with 403 rather than share the owner anonymous, or fail the request', (_, event) => {
    // Act
    const refusal = (() => {
      try {
        return callerOf(event);
      } catch (error) {
        return error;
      }
    })();

    // Assess
    expect(refusal).toBeInstanceOf(ProblemError);
    expect((refusal as ProblemError).problem).toMatchObject({ type: ProblemType.unidentifiedCaller, status: 403, title: 'Caller not identified' });
  });
});

const COGNITO_ROLE_ARN = 'arn:aws:sts::123456789012:assumed-role/app-AuthRole/CognitoIdentityCredentials';

function withAuthorizer(authorizer: NonNullable<HttpEvent['requestContext']['authorizer']>): HttpEvent {
  const event = getEvent('job_1');
  return { ...event, requestContext: { ...event.requestContext, authorizer } };
}

describe('asUriPath', () => {
  it.each([
    ['a plain path', '/jobs/job_abc', '/jobs/job_abc'],
    ['a space and a non-ASCII letter', '/files/café menu', '/files/caf%C3%A9%20menu'],
    ['an escape HTTP API left encoded', '/a%3Fb%2Fc', '/a%3Fb%2Fc'],
    ['a bare percent sign', '/100%', '/100%25'],
    ['a quote and brackets', '/"x"<y>', '/%22x%22%3Cy%3E'],
    ['a percent sign a decoded %25 left before two hex digits', '/jobs/%41/x', '/jobs/%2541/x'],
    ['a lower-case escape of a reserved character', '/a%2fb', '/a%2fb'],
    ['a path passed on as sent, not being valid percent-encoding', '/jobs/%E9', '/jobs/%E9'],
  ])('writes %s as a URI path', (_, path, expected) => {
    // Act
    const uri = asUriPath(path);

    // Assess
    expect(uri).toBe(expected);
  });
});
