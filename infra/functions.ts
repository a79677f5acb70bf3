/**
 * The Lambda functions and HTTP routes, declared once. The CDK construct creates exactly these
 * functions with exactly these permissions and variables; the local runtime runs the same entry
 * points with the same variables.
 */
import { api, worker } from './config.ts';

/** Resources a function can be bound to; binding sets the variable and grants the actions together. */
export type ResourceKind = 'table' | 'queue' | 'topic';

/** The variable through which a function learns a bound resource. */
export const resourceEnv: Readonly<Record<ResourceKind, string>> = {
  table: 'TABLE_NAME',
  queue: 'QUEUE_URL',
  topic: 'TOPIC_ARN',
};

/** One Lambda function. */
export interface FunctionSpec {
  /** Entry file, relative to the project root. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The IAM actions the function's code performs, per bound resource: nothing more is granted. */
  readonly uses: Readonly<Partial<Record<ResourceKind, readonly string[]>>>;
}

export const functionSpecs = {
  'submit-job': {
    entry: 'functions/submit-job.ts',
    timeoutSeconds: api.timeoutSeconds,
    memoryMb: api.memoryMb,
    // PutItem creates the job; DeleteItem removes it again when the message cannot be sent.
    uses: { table: ['dynamodb:PutItem', 'dynamodb:DeleteItem'], queue: ['sqs:SendMessage'] },
  },
  'get-job': {
    entry: 'functions/get-job.ts',
    timeoutSeconds: api.timeoutSeconds,
    memoryMb: api.memoryMb,
    uses: { table: ['dynamodb:GetItem'] },
  },
  'process-jobs': {
    entry: 'functions/process-jobs.ts',
    timeoutSeconds: worker.timeoutSeconds,
    memoryMb: worker.memoryMb,
    // Receiving and deleting messages is granted by the event source mapping, not by the code.
    uses: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], topic: ['sns:Publish'] },
  },
} as const satisfies Record<string, FunctionSpec>;

export type FunctionName = keyof typeof functionSpecs;
export const functionNames = Object.keys(functionSpecs) as FunctionName[];

/** An HTTP API route and the function behind it. */
export interface RouteSpec {
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** API Gateway path syntax: `{name}` is a path parameter. */
  readonly path: string;
  readonly function: FunctionName;
}

export const routes: readonly RouteSpec[] = [
  { method: 'POST', path: '/jobs', function: 'submit-job' },
  { method: 'GET', path: '/jobs/{id}', function: 'get-job' },
];

/** The function that consumes the jobs queue. */
export const queueConsumer: FunctionName = 'process-jobs';

/** The environment of a function, given the names of the resources it is bound to. */
export function functionEnvironment(name: FunctionName, resources: Readonly<Record<ResourceKind, string>>): Record<string, string> {
  const env: Record<string, string> = { NODE_OPTIONS: '--enable-source-maps' };
  for (const kind of Object.keys(functionSpecs[name].uses) as ResourceKind[]) env[resourceEnv[kind]] = resources[kind];
  return env;
}
