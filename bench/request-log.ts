/**
 * Counts the AWS requests the local runtime makes, by operation, without touching handler code:
 * the emulators run in this process, so Node's `http.server.request.start` diagnostics channel sees
 * every request that reaches them, from any function instance (worker thread) or poller. The
 * operation is read where AWS reads it: the `x-amz-target` header (DynamoDB, SQS JSON protocol) or
 * the `Action` parameter of the body (SNS query protocol). Requests whose user agent carries
 * {@link BENCH_USER_AGENT} are the bench's own (floor, subscriber, checks) and are left out.
 * Bodies are kept: they name the queue of an SQS call, and the attributes a write changes, which
 * is what GSI write units are billed on.
 */
import diagnostics from 'node:diagnostics_channel';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Added to the user agent of every SDK client the bench makes, so its requests are not counted. */
export const BENCH_USER_AGENT = 'async-jobs-bench';

export type Service = 'dynamodb' | 'sqs' | 'sns';

/** One request an emulator received. */
export interface RecordedRequest {
  readonly service: Service;
  /** The API operation, e.g. `PutItem`, `SendMessage`, `Publish`. */
  operation: string;
  /** `performance.now()` when the request's headers arrived. */
  readonly start: number;
  /** `performance.now()` when the emulator finished the response. */
  end?: number;
  /** HTTP status of the answer; a failed conditional write is billed too. */
  status?: number;
  /** The request's body, set once the answer is finished. */
  requestBody?: string;
  /** Kept only for ReceiveMessage, to pair a batch with its delete. */
  responseBody?: string;
}

/** What the channel publishes (Node's `http.server.request.start` / `http.server.response.finish`). */
interface ServerRequestMessage {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
  readonly server: Server;
}

const START = 'http.server.request.start';
const FINISH = 'http.server.response.finish';

function portOf(endpoint: string): number {
  return Number(new URL(endpoint).port);
}

function header(request: IncomingMessage, name: string): string {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** Keeps the body chunks an IncomingMessage receives, without consuming the stream. */
function captureRequestBody(request: IncomingMessage): Buffer[] {
  const chunks: Buffer[] = [];
  const push = request.push.bind(request);
  request.push = (chunk: unknown, encoding?: BufferEncoding) => {
    if (chunk !== null && chunk !== undefined) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return push(chunk, encoding);
  };
  return chunks;
}

/** Keeps what a ServerResponse writes. */
function captureResponseBody(response: ServerResponse): Buffer[] {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown) => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const write = response.write.bind(response) as (...args: unknown[]) => boolean;
  const end = response.end.bind(response) as (...args: unknown[]) => ServerResponse;
  response.write = ((chunk: unknown, ...rest: unknown[]) => {
    keep(chunk);
    return write(chunk, ...rest);
  }) as ServerResponse['write'];
  response.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (typeof chunk !== 'function') keep(chunk);
    return end(chunk, ...rest);
  }) as ServerResponse['end'];
  return chunks;
}

/**
 * Counts per operation, keyed `service:Operation`, with the queue for SQS:
 * `{ 'dynamodb:PutItem': 2000, 'sqs:SendMessage async-jobs': 2000 }`.
 */
export type OperationCounts = Readonly<Record<string, number>>;

/** The key of a request in {@link OperationCounts}. */
export function operationKey(request: RecordedRequest): string {
  const queue = queueOf(request);
  return `${request.service}:${request.operation || 'unknown'}${queue ? ` ${queue}` : ''}`;
}

export function countOperations(requests: readonly RecordedRequest[]): OperationCounts {
  const counts: Record<string, number> = {};
  for (const request of requests) {
    const key = operationKey(request);
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Requests to the emulators of one local runtime. */
export class EmulatorRequestLog {
  private readonly dynamodbPort: number;
  private readonly sqsSnsPort: number;
  private readonly inFlight = new WeakMap<IncomingMessage, { record: RecordedRequest; body: Buffer[]; answer?: Buffer[] }>();
  /** Bodies of requests not answered yet (long polls), read when the log is. */
  private readonly unanswered = new Map<RecordedRequest, Buffer[]>();
  private readonly ports = new WeakMap<Server, number | undefined>();
  private recorded: RecordedRequest[] = [];

  constructor(endpoints: { readonly dynamodb: string; readonly sqs: string; readonly sns: string }) {
    this.dynamodbPort = portOf(endpoints.dynamodb);
    this.sqsSnsPort = portOf(endpoints.sns);
    if (portOf(endpoints.sqs) !== this.sqsSnsPort) throw new Error('expected SQS and SNS on one emulator');
    diagnostics.subscribe(START, this.onStart);
    diagnostics.subscribe(FINISH, this.onFinish);
  }

  private readonly onStart = (message: unknown): void => {
    const { request, response, server } = message as ServerRequestMessage;
    if (!this.ports.has(server)) this.ports.set(server, (server.address() as AddressInfo | null)?.port);
    const port = this.ports.get(server);
    if (port !== this.dynamodbPort && port !== this.sqsSnsPort) return;
    const agent = `${header(request, 'user-agent')} ${header(request, 'x-amz-user-agent')}`;
    if (agent.includes(BENCH_USER_AGENT)) return;
    const target = header(request, 'x-amz-target');
    const operation = target.slice(target.indexOf('.') + 1);
    const service: Service = port === this.dynamodbPort ? 'dynamodb' : target.startsWith('AmazonSQS.') ? 'sqs' : 'sns';
    const record: RecordedRequest = { service, operation: target ? operation : '', start: performance.now() };
    const body = captureRequestBody(request);
    const answer = operation === 'ReceiveMessage' ? captureResponseBody(response) : undefined;
    this.inFlight.set(request, { record, body, ...(answer && { answer }) });
    this.unanswered.set(record, body);
    this.recorded.push(record);
  };

  private readonly onFinish = (message: unknown): void => {
    const { request, response } = message as ServerRequestMessage;
    const inFlight = this.inFlight.get(request);
    if (!inFlight) return;
    const { record, body, answer } = inFlight;
    this.unanswered.delete(record);
    record.end = performance.now();
    record.status = response.statusCode;
    record.requestBody = Buffer.concat(body).toString('utf8');
    if (answer) record.responseBody = Buffer.concat(answer).toString('utf8');
    if (!record.operation) record.operation = new URLSearchParams(record.requestBody ?? '').get('Action') ?? 'unknown';
  };

  /** Forgets what was recorded so far; a measurement window starts here. */
  reset(): void {
    this.recorded = [];
    this.unanswered.clear();
  }

  /** Requests recorded since the last reset, in arrival order; those still waiting carry the body received so far. */
  requests(): readonly RecordedRequest[] {
    for (const [record, body] of this.unanswered) record.requestBody = Buffer.concat(body).toString('utf8');
    return this.recorded;
  }

  /** Stops listening. */
  close(): void {
    diagnostics.unsubscribe(START, this.onStart);
    diagnostics.unsubscribe(FINISH, this.onFinish);
  }
}

/** The queue an SQS request names (the last segment of its `QueueUrl`), or '' when it names none. */
export function queueOf(request: RecordedRequest): string {
  if (request.service !== 'sqs') return '';
  const { QueueUrl } = JSON.parse(request.requestBody || '{}') as { QueueUrl?: string };
  return QueueUrl?.split('/').pop() ?? '';
}

/** One invocation of the queue consumer, as the emulator saw it: a receive and the delete of its batch. */
export interface ObservedBatch {
  readonly size: number;
  /** From the end of the ReceiveMessage response to the start of the DeleteMessageBatch request. */
  readonly invocationMs: number;
}

/**
 * Pairs each non-empty ReceiveMessage with the DeleteMessageBatch that removes its messages, which
 * is how the event source mapping brackets one invocation of the consumer.
 */
export function observedBatches(
  requests: readonly RecordedRequest[],
  queueName: string,
): {
  readonly batches: readonly ObservedBatch[];
  readonly emptyReceives: number;
} {
  const receiveOf = new Map<string, { end: number; size: number }>();
  let emptyReceives = 0;
  for (const request of requests) {
    if (request.operation !== 'ReceiveMessage' || request.end === undefined || queueOf(request) !== queueName) continue;
    const { Messages = [] } = JSON.parse(request.responseBody || '{}') as { Messages?: { ReceiptHandle?: string }[] };
    if (Messages.length === 0) emptyReceives++;
    for (const message of Messages) {
      if (message.ReceiptHandle) receiveOf.set(message.ReceiptHandle, { end: request.end, size: Messages.length });
    }
  }
  const batches: ObservedBatch[] = [];
  for (const request of requests) {
    if (request.operation !== 'DeleteMessageBatch' || queueOf(request) !== queueName) continue;
    const { Entries = [] } = JSON.parse(request.requestBody || '{}') as { Entries?: { ReceiptHandle?: string }[] };
    const receive = receiveOf.get(Entries[0]?.ReceiptHandle ?? '');
    if (receive) batches.push({ size: receive.size, invocationMs: request.start - receive.end });
  }
  return { batches, emptyReceives };
}
