/**
 * What happens only on Lambda. The bundles the project deploys (tracing on) run in a Node process with
 * the variables Lambda sets, a trace header as Lambda hands an invocation, and the X-Ray daemon address
 * pointed at a UDP socket of this test. AWS is a stand-in HTTP server answering each call as the test
 * says. (Outside Lambda's variables the Tracer traces nothing, so neither the local runtime nor the
 * other tests see any of this.)
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toItem } from '#aws/job-store';
import { newEventId, newJobId } from '#core/ids';
import type { FunctionName } from '#infra/functions';
import { type Bundles, buildBundles } from '#infra/local/build';
import { getEvent, sqsEvent } from '../support/events.ts';

const TRACE_ROOT = '1-6740f3a1-0123456789abcdef01234567';
const LAMBDA_SEGMENT = '53995c3f42cd8ad8';

/** Runs the bundle's handler once per event in one process (a container's cold start, then warm invocations). */
const DRIVER = `
const { handler } = await import(process.argv[1]);
for (const event of JSON.parse(process.env.TEST_EVENTS)) {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
  const context = {
    functionName: name, functionVersion: '$LATEST', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:' + name,
    memoryLimitInMB: '512', awsRequestId: crypto.randomUUID(), logGroupName: '/aws/lambda/' + name, logStreamName: 'test',
    getRemainingTimeInMillis: () => 10000,
  };
  try {
    const result = await handler(event, context);
    process.stdout.write(JSON.stringify({ driver: 'result', result }) + '\\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ driver: 'error', message: String(error) }) + '\\n');
  }
}
`;

/** An X-Ray segment document, as the daemon receives it. */
interface Document {
  readonly id: string;
  readonly name: string;
  readonly trace_id: string;
  readonly parent_id?: string;
  readonly annotations?: Record<string, unknown>;
  readonly aws?: { operation?: string };
}

interface Run {
  /** What the process printed, line by line (the driver's lines included). */
  readonly output: string[];
  /** What each invocation returned, or `{ error }` when it threw. */
  readonly outcomes: unknown[];
  readonly documents: Document[];
}

/** Answers of the stand-in for AWS, by `X-Amz-Target` (`DynamoDB_20120810.GetItem`...): status and JSON body. */
type Answers = Record<string, { status: number; body: unknown }>;

let bundles: Bundles;
let aws: http.Server;
let answers: Answers = {};
const calls: string[] = [];

beforeAll(async () => {
  bundles = await buildBundles();
  aws = http.createServer((request, response) => {
    request.resume().on('end', () => {
      const target = String(request.headers['x-amz-target']);
      calls.push(target);
      const answer = answers[target] ?? { status: 200, body: {} };
      response.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'stand-in' }).end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => aws.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => aws?.close(resolve));
  await bundles?.release();
});

/** Invokes `name` once per event in one process; what it printed and returned, and what reached the daemon. */
async function runOnLambda(name: FunctionName, events: unknown[], env: Record<string, string>): Promise<Run> {
  const socket = dgram.createSocket('udp4');
  const datagrams: string[] = [];
  socket.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
  try {
    const output: string[] = [];
    const child = spawn(process.execPath, ['--input-type=module', '-e', DRIVER, bundles.functions[name]], {
      env: {
        PATH: process.env.PATH ?? '',
        NODE_OPTIONS: '--enable-source-maps',
        TEST_EVENTS: JSON.stringify(events),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL_DYNAMODB: endpoint,
        AWS_ENDPOINT_URL_SQS: endpoint,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        // What Lambda sets for a Node.js function with active tracing.
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        AWS_LAMBDA_FUNCTION_NAME: name,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        LAMBDA_TASK_ROOT: '/var/task',
        _HANDLER: 'index.handler',
        _X_AMZN_TRACE_ID: `Root=${TRACE_ROOT};Parent=${LAMBDA_SEGMENT};Sampled=1`,
        AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
        AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${(socket.address() as AddressInfo).port}`,
        ...env,
      },
    });
    child.stdout.setEncoding('utf8').on('data', (text: string) => output.push(...text.split('\n')));
    child.stderr.setEncoding('utf8').on('data', (text: string) => output.push(...text.split('\n')));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, output.join('\n')).toBe(0);
    // Datagrams on loopback arrive at once; give the socket's event loop a turn to read the last ones.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = output.filter((line) => line.trim() !== '');
    const outcomes = lines
      .filter((line) => line.startsWith('{"driver":'))
      .map((line) => JSON.parse(line) as { driver: string; result?: unknown; message?: string })
      .map((line) => (line.driver === 'result' ? line.result : { error: line.message }));
    // Each datagram is the daemon's header line, then one document.
    const documents = datagrams.map((datagram) => JSON.parse(datagram.slice(datagram.indexOf('\n') + 1)) as Document);
    return { output: lines.filter((line) => !line.startsWith('{"driver":')), outcomes, documents };
  } finally {
    socket.close();
  }
}

/** A line parsed as one JSON object, or undefined. */
function jsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function notJson(lines: readonly string[]): string[] {
  return lines.filter((line) => jsonObject(line) === undefined);
}

describe('a traced function on Lambda (get-job)', () => {
  let run: Run;

  beforeAll(async () => {
    answers = {};
    calls.length = 0;
    const events = [1, 2].map(() => getEvent(newJobId(), { callerArn: 'arn:aws:iam::000000000000:user/alice' }));
    run = await runOnLambda('get-job', events, { TABLE_NAME: 'async-jobs' });
  }, 60_000);

  it('answers both invocations after a GetItem each', () => {
    // Assess
    expect(run.outcomes.map((outcome) => (outcome as { statusCode?: number }).statusCode)).toEqual([404, 404]);
    expect(calls).toEqual(['DynamoDB_20120810.GetItem', 'DynamoDB_20120810.GetItem']);
  });

  it('prints only structured JSON log lines (no tracer warning on each invocation)', () => {
    // Assess
    expect(notJson(run.output)).toEqual([]);
  });

  it('sends a handler subsegment per invocation under the Lambda segment, annotated with the cold start and the service', () => {
    // Act
    const handlers = run.documents.filter((document) => document.name === '## index.handler');

    // Assess
    expect(handlers.map((document) => document.annotations)).toEqual([
      { ColdStart: true, Service: 'async-jobs' },
      { ColdStart: false, Service: 'async-jobs' },
    ]);
    for (const document of handlers) expect(document).toMatchObject({ trace_id: TRACE_ROOT, parent_id: LAMBDA_SEGMENT });
  });

  it('nests each DynamoDB call under its handler subsegment', () => {
    // Act
    const handlers = run.documents.filter((document) => document.name === '## index.handler');
    const reads = run.documents.filter((document) => document.name === 'DynamoDB');

    // Assess
    expect(handlers).toHaveLength(2);
    expect(reads.map((read) => ({ operation: read.aws?.operation, parent: read.parent_id }))).toEqual(
      handlers.map((document) => ({ operation: 'GetItem', parent: document.id })),
    );
  });
});

describe('a webhook delivered on Lambda (deliver-webhooks)', () => {
  const received: http.IncomingHttpHeaders[] = [];
  let receiver: http.Server;
  let run: Run;

  beforeAll(async () => {
    receiver = http.createServer((request, response) => {
      received.push(request.headers);
      request.resume().on('end', () => response.writeHead(204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const id = newJobId();
    const at = '2026-11-24T12:00:00.000Z';
    const eventId = newEventId();
    const job = toItem({
      id,
      owner: 'arn:aws:iam::000000000000:user/alice',
      type: 'echo',
      status: 'SUCCEEDED',
      input: {},
      result: {},
      timeoutSeconds: 60,
      attempts: 1,
      createdAt: at,
      updatedAt: at,
      finishedAt: at,
      eventId,
      callbackUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
    });
    answers = {
      'DynamoDB_20120810.GetItem': { status: 200, body: { Item: job } },
      'secretsmanager.GetSecretValue': { status: 200, body: { SecretString: `whsec_${Buffer.alloc(32, 7).toString('base64')}` } },
    };
    calls.length = 0;
    const event = { id: eventId, type: 'job.succeeded', timestamp: at, data: { id, status: 'SUCCEEDED', result: {} } };
    run = await runOnLambda('deliver-webhooks', [sqsEvent([JSON.stringify(event)])], {
      TABLE_NAME: 'async-jobs',
      WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/async-jobs-webhooks',
      WEBHOOK_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:webhook-signing',
      // Loopback receivers are refused when deployed; local mode allows this one.
      WEBHOOK_MODE: 'local',
      WEBHOOK_RETRY_SCHEDULE: '1,2',
    });
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('delivers the signed event once, and records it', () => {
    // Assess
    expect(run.outcomes).toEqual([{ batchItemFailures: [] }]);
    expect(received).toHaveLength(1);
    expect(received[0]).toHaveProperty('webhook-signature');
    expect(calls).toContain('DynamoDB_20120810.UpdateItem');
  });

  it('sends the receiver no X-Ray trace header: our trace ids and sampling are not its business', () => {
    // Assess
    expect(received[0]).not.toHaveProperty('x-amzn-trace-id');
  });

  it('traces the invocation and its AWS calls', () => {
    // Assess
    const names = run.documents.map((document) => document.name);
    expect(names).toContain('## index.handler');
    expect(names).toEqual(expect.arrayContaining(['DynamoDB', 'SecretsManager']));
  });
});

describe('a reconciler run that fails on Lambda (reconcile-jobs)', () => {
  let run: Run;

  beforeAll(async () => {
    answers = {
      'DynamoDB_20120810.Query': {
        status: 400,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' },
      },
    };
    calls.length = 0;
    run = await runOnLambda('reconcile-jobs', [{ source: 'aws.events', 'detail-type': 'Scheduled Event' }], {
      TABLE_NAME: 'async-jobs',
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/async-jobs',
    });
  }, 60_000);

  it('fails the invocation, so that Lambda counts an error for the reconciler-errors alarm', () => {
    // Assess
    expect(calls).toContain('DynamoDB_20120810.Query');
    expect(run.outcomes).toEqual([{ error: expect.stringContaining('4 shards of the sweep index could not be read (ResourceNotFoundException: Requested resource not found)') }]);
  });

  it('logs why as a JSON line with the function and the error, not only as Lambda’s plain-text report', () => {
    // Act
    const lines = run.output.map(jsonObject).filter((line) => line !== undefined);

    // Assess
    expect(notJson(run.output)).toEqual([]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'reconciling failed; the next scheduled run tries again',
        function_name: 'reconcile-jobs',
        xray_trace_id: TRACE_ROOT,
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        message: 'reconciling failed; the next scheduled run tries again',
        error: expect.objectContaining({ name: 'ReconcileIncomplete', message: expect.stringContaining('ResourceNotFoundException: Requested resource not found') }),
      }),
    );
    // Powertools drops a field named `message` with a warning line of its own: none here.
    expect(lines.filter((line) => String(line.message).includes('reserved key'))).toEqual([]);
  });
});

describe('a dead letter that cannot be handled on Lambda (on-dead-letter)', () => {
  let run: Run;

  beforeAll(async () => {
    answers = {
      'DynamoDB_20120810.GetItem': {
        status: 400,
        body: { __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException', message: 'Requested resource not found' },
      },
    };
    calls.length = 0;
    run = await runOnLambda('on-dead-letter', [sqsEvent([JSON.stringify({ jobId: 'job_AAAAAAAAAAAAAAAAAAAAAA', type: 'echo' })])], {
      TABLE_NAME: 'async-jobs',
      TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:async-jobs',
    });
  }, 60_000);

  it('leaves the message to come back, and logs the job and the error on one JSON line', () => {
    // Act
    const lines = run.output.map(jsonObject).filter((line) => line !== undefined);

    // Assess
    expect(run.outcomes).toEqual([{ batchItemFailures: [{ itemIdentifier: expect.any(String) }] }]);
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'handling a dead letter failed; it will be delivered again',
        jobId: 'job_AAAAAAAAAAAAAAAAAAAAAA',
        error: expect.objectContaining({ name: 'ResourceNotFoundException', message: 'Requested resource not found' }),
      }),
    );
    expect(lines.filter((line) => String(line.message).includes('reserved key'))).toEqual([]);
  });

  it('counts the failure in the metric the jobs-dead-letters-waiting alarm watches, as Lambda counts no error', () => {
    // Act
    const metrics = run.output.map(jsonObject).filter((line) => line?._aws !== undefined);

    // Assess
    expect(metrics).toContainEqual(expect.objectContaining({ DeadLettersFailed: 1, service: 'async-jobs' }));
  });
});
