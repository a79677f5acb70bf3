/** Builders for the events Lambda hands the functions, for tests that call handlers directly. */
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent } from 'aws-lambda';
import type { HttpEvent } from '#core/http';

/** Options of {@link httpEvent}. */
export interface HttpEventOptions {
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly pathParameters?: Record<string, string>;
  /** Sets an IAM authorizer context with this caller ARN. */
  readonly callerArn?: string;
  /** Sets a JWT authorizer context with this `sub`. */
  readonly jwtSub?: string;
}

/** An API Gateway HTTP API payload 2.0 event. */
export function httpEvent(method: string, routePath: string, rawPath: string, options: HttpEventOptions = {}): HttpEvent {
  const routeKey = `${method} ${routePath}`;
  const authorizer = options.callerArn
    ? { iam: { userArn: options.callerArn } }
    : options.jwtSub
      ? { jwt: { claims: { sub: options.jwtSub }, scopes: [] } }
      : undefined;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: '',
    headers: options.headers ?? {},
    ...(options.pathParameters && { pathParameters: options.pathParameters }),
    requestContext: {
      accountId: '000000000000',
      apiId: 'test',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: '23/Nov/2026:00:00:00 +0000',
      timeEpoch: Date.now(),
      ...(authorizer && { authorizer }),
    },
    ...(options.body !== undefined && { body: options.body }),
    isBase64Encoded: false,
  } as HttpEvent;
}

/** A `POST /jobs` event with a JSON body. */
export function submitEvent(body: unknown, options: HttpEventOptions = {}): HttpEvent {
  return httpEvent('POST', '/jobs', '/jobs', {
    ...options,
    headers: { 'content-type': 'application/json', ...options.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** A `GET /jobs/{id}` event. */
export function getEvent(id: string, options: HttpEventOptions = {}): HttpEvent {
  return httpEvent('GET', '/jobs/{id}', `/jobs/${id}`, { ...options, pathParameters: { id } });
}

/** An SQS batch event with the given bodies. */
export function sqsEvent(bodies: readonly string[], queueArn = 'arn:aws:sqs:us-east-1:000000000000:async-jobs'): SQSEvent {
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: randomUUID(),
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: '000000000000',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

/** A Lambda context whose invocation has `remainingMs` left. */
export function lambdaContext(remainingMs = 60_000, functionName = 'test'): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'test',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
