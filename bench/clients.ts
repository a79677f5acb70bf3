/** The bench's own AWS clients and HTTP client; their requests are marked so they are not counted. */
import http from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { localRegion } from '../infra/config.ts';
import type { LocalRuntime } from '../infra/local/runtime.ts';
import { BENCH_USER_AGENT } from './request-log.ts';

/** SDK clients pointed at the runtime's emulators, as the handlers' clients are. */
export interface BenchClients {
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  destroy(): void;
}

/**
 * Clients built like the handlers' (`new XClient({})` with the standard region, credentials and
 * endpoint), plus the bench's user-agent mark.
 */
export function benchClients(endpoints: LocalRuntime['endpoints']): BenchClients {
  const common = {
    region: localRegion,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    customUserAgent: BENCH_USER_AGENT,
  };
  const dynamodb = new DynamoDBClient({ ...common, endpoint: endpoints.dynamodb });
  const sqs = new SQSClient({ ...common, endpoint: endpoints.sqs });
  const sns = new SNSClient({ ...common, endpoint: endpoints.sns });
  return {
    dynamodb,
    sqs,
    sns,
    destroy: () => {
      dynamodb.destroy();
      sqs.destroy();
      sns.destroy();
    },
  };
}

/** An answer of the local HTTP API. */
export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

/** A keep-alive HTTP client for the local API: one socket per concurrent caller, reused. */
export class ApiClient {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly baseUrl: string) {}

  request(method: string, path: string, body?: string): Promise<HttpAnswer> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = {};
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(body);
      }
      const req = http.request(`${this.baseUrl}${path}`, { method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` running at once. */
export async function runConcurrently(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}
