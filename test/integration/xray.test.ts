/**
 * What X-Ray receives from a deployed function. The get-job bundle the project deploys (tracing on) runs
 * in a Node process with the variables Lambda sets, a trace header as Lambda hands an invocation, and
 * the X-Ray daemon address pointed at a UDP socket of this test; its DynamoDB endpoint is a stand-in
 * that answers every GetItem with no item. (Outside Lambda's variables the Tracer traces nothing, so
 * neither the local runtime nor the other tests see any of this.)
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newJobId } from '#core/ids';
import { type Bundles, buildBundles } from '#infra/local/build';
import { getEvent } from '../support/events.ts';

const TRACE_ROOT = '1-6740f3a1-0123456789abcdef01234567';
const LAMBDA_SEGMENT = '53995c3f42cd8ad8';

/** Runs the bundle's handler once per event in one process (a container's cold start, then a warm invocation). */
const DRIVER = `
const { handler } = await import(process.argv[1]);
for (const event of JSON.parse(process.env.TEST_EVENTS)) {
  const context = {
    functionName: 'get-job', functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:get-job',
    memoryLimitInMB: '512', awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/get-job', logStreamName: 'test',
    getRemainingTimeInMillis: () => 10000,
  };
  const result = await handler(event, context);
  process.stdout.write(JSON.stringify({ driver: 'status', statusCode: result.statusCode }) + '\\n');
}
`;

interface Document {
  readonly id: string;
  readonly name: string;
  readonly trace_id: string;
  readonly parent_id?: string;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: { operation?: string };
}

interface Invocation {
  readonly output: string[];
  readonly documents: Document[];
}

let bundles: Bundles;
let dynamodb: http.Server;
let gets = 0;

beforeAll(async () => {
  bundles = await buildBundles();
  dynamodb = http.createServer((request, response) => {
    request.resume().on('end', () => {
      if (String(request.headers['x-amz-target']).endsWith('.GetItem')) gets++;
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'stand-in' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => dynamodb.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => dynamodb?.close(resolve));
  await bundles?.release();
});

/** Invokes get-job `times` times in one process; what it printed, and what reached the daemon. */
async function invokeTraced(times: number): Promise<Invocation> {
  const socket = dgram.createSocket('udp4');
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  try {
    const events = Array.from({ length: times }, () => getEvent(newJobId(), { callerArn: 'arn:aws:iam::000000000000:user/alice' }));
    const output: string[] = [];
    const child = spawn(process.execPath, ['--input-type=module', '-e', DRIVER, bundles.functions['get-job']], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: '--enable-source-maps',
        TEST_EVENTS: JSON.stringify(events),
        TABLE_NAME: 'async-jobs',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${(dynamodb.address() as AddressInfo).port}`,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // What Lambda sets for a Node.js function with active tracing.
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        AWS_LAMBDA_FUNCTION_NAME: 'get-job',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        LAMBDA_TASK_ROOT: '/var/task',
        _HANDLER: 'index.handler',
        _X_AMZN_TRACE_ID: `Root=${TRACE_ROOT};Parent=${LAMBDA_SEGMENT};Sampled=1`,
        AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
      },
    });
    child.stdout.setEncoding('utf8').on('data', (text: string) => output.push(...text.split('\n')));
    child.stderr.setEncoding('utf8').on('data', (text: string) => output.push(...text.split('\n')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, output.join('\n')).toBe(0);
    // Datagrams on loopback arrive at once; give the socket's event loop a turn to read the last ones.
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Each datagram is the daemon's header line, then one document.
    const documents = datagrams.map((datagram) => JSON.parse(datagram.slice(datagram.indexOf('\n') + 1)) as Document);
    return { output: output.filter((line) => line.trim() !== ''), documents };
  } finally {
    socket.close();
  }
}

describe('a traced function on Lambda', () => {
  let invocation: Invocation;

  beforeAll(async () => {
    gets = 0;
    invocation = await invokeTraced(2);
  }, 60_000);

  it('answers both invocations after a GetItem each', () => {
    // Assess
    const statuses = invocation.output.filter((line) => line.includes('"driver":"status"')).map((line) => JSON.parse(line).statusCode);
    expect(statuses).toEqual([404, 404]);
    expect(gets).toBe(2);
  });

  it('prints only structured JSON log lines (no tracer warning on each invocation)', () => {
    // Assess
    const notJson = invocation.output.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
  });

  it('sends a handler subsegment per invocation under the Lambda segment, annotated with the cold start and the service', () => {
    // Act
    const handlers = invocation.documents.filter((document) => document.name === '## index.handler');

    // Assess
    expect(handlers.map((document) => document.annotations)).toEqual([
      { ColdStart: true, Service: 'async-jobs' },
      { ColdStart: false, Service: 'async-jobs' },
    ]);
    for (const document of handlers) expect(document).toMatchObject({ trace_id: TRACE_ROOT, parent_id: LAMBDA_SEGMENT });
  });

  it('nests each DynamoDB call under its handler subsegment', () => {
    // Act
    const handlers = invocation.documents.filter((document) => document.name === '## index.handler');
    const calls = invocation.documents.filter((document) => document.name === 'DynamoDB');

    // Assess
    expect(handlers).toHaveLength(2);
    expect(calls.map((call) => ({ operation: call.aws?.operation, parent: call.parent_id }))).toEqual(
      handlers.map((document) => ({ operation: 'GetItem', parent: document.id })),
    );
  });
});
