/**
 * The Lambda functions and HTTP routes, declared once. The CDK construct creates exactly these
 * functions with exactly these permissions and variables; the local runtime runs the same entry
 * points with the same variables.
 */
import { api, jobs, reconciler, webhooks, worker } from './config.ts';

/** Resources a function can be bound to; binding sets the variable and grants the actions together. */
export type ResourceKind = 'table' | 'ownerIndex' | 'sweepIndex' | 'queue' | 'deadLetterQueue' | 'topic' | 'webhookQueue' | 'signingSecret';

/** The variable through which a function learns a bound resource (indexes are named in config). */
export const resourceEnv: Readonly<Record<ResourceKind, string | undefined>> = {
  table: 'TABLE_NAME',
  ownerIndex: undefined,
  sweepIndex: undefined,
  queue: 'QUEUE_URL',
  deadLetterQueue: undefined,
  topic: 'TOPIC_ARN',
  webhookQueue: 'WEBHOOK_QUEUE_URL',
  signingSecret: 'WEBHOOK_SECRET_ID',
};

/** Values the construct computes for a function, beside resource names. */
export type SettingName = 'IDEMPOTENCY_SECRET' | 'DEFAULT_JOB_TIMEOUT_SECONDS' | 'MAX_JOB_TIMEOUT_SECONDS' | 'WEBHOOK_MODE' | 'WEBHOOK_RETRY_SCHEDULE';

/** What triggers a function other than the API. */
export type Trigger = 'jobs-queue' | 'dead-letter-queue' | 'schedule' | 'webhook-queue';

/** One Lambda function. */
export interface FunctionSpec {
  /** Entry file, relative to the project root. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** The IAM actions the function's code performs, per bound resource: nothing more is granted. */
  readonly uses: Readonly<Partial<Record<ResourceKind, readonly string[]>>>;
  readonly settings?: readonly SettingName[];
  readonly trigger?: Trigger;
}

const apiFunction = { timeoutSeconds: api.timeoutSeconds, memoryMb: api.memoryMb } as const;

export const functionSpecs = {
  'submit-job': {
    entry: 'functions/submit-job.ts',
    ...apiFunction,
    // PutItem creates the job; GetItem replays an idempotent repeat; DeleteItem removes a job whose message could not be
    // sent, and UpdateItem flags one it keeps for the reconciler.
    uses: { table: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem'], queue: ['sqs:SendMessage'] },
    settings: ['IDEMPOTENCY_SECRET', 'DEFAULT_JOB_TIMEOUT_SECONDS', 'MAX_JOB_TIMEOUT_SECONDS', 'WEBHOOK_MODE'],
  },
  'get-job': {
    entry: 'functions/get-job.ts',
    ...apiFunction,
    uses: { table: ['dynamodb:GetItem'] },
  },
  'get-openapi': {
    entry: 'functions/get-openapi.ts',
    ...apiFunction,
    uses: {},
    // The document states the default timeoutSeconds and the longest a submit may ask for.
    settings: ['DEFAULT_JOB_TIMEOUT_SECONDS', 'MAX_JOB_TIMEOUT_SECONDS'],
  },
  'list-jobs': {
    entry: 'functions/list-jobs.ts',
    ...apiFunction,
    // The owner index holds keys only: a page's items come from one BatchGetItem.
    uses: { table: ['dynamodb:BatchGetItem'], ownerIndex: ['dynamodb:Query'] },
  },
  'cancel-job': {
    entry: 'functions/cancel-job.ts',
    ...apiFunction,
    // A message has the worker announce the cancellation: only the worker and on-dead-letter publish.
    uses: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], queue: ['sqs:SendMessage'] },
  },
  'route-fallback': {
    entry: 'functions/route-fallback.ts',
    ...apiFunction,
    uses: {},
  },
  'process-jobs': {
    entry: 'functions/process-jobs.ts',
    timeoutSeconds: worker.timeoutSeconds,
    memoryMb: worker.memoryMb,
    // Receiving and deleting is granted by the event source mapping; the code delays retries itself.
    uses: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], queue: ['sqs:ChangeMessageVisibility'], topic: ['sns:Publish'] },
    trigger: 'jobs-queue',
  },
  'on-dead-letter': {
    entry: 'functions/on-dead-letter.ts',
    ...apiFunction,
    uses: { table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], topic: ['sns:Publish'] },
    trigger: 'dead-letter-queue',
  },
  'reconcile-jobs': {
    entry: 'functions/reconcile-jobs.ts',
    timeoutSeconds: reconciler.timeoutSeconds,
    memoryMb: reconciler.memoryMb,
    uses: { table: ['dynamodb:UpdateItem'], sweepIndex: ['dynamodb:Query'], queue: ['sqs:SendMessage'] },
    trigger: 'schedule',
  },
  'deliver-webhooks': {
    entry: 'functions/deliver-webhooks.ts',
    timeoutSeconds: webhooks.timeoutSeconds,
    memoryMb: webhooks.memoryMb,
    // Receiving and deleting is granted by the event source mapping; the code schedules retries itself.
    uses: {
      table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      webhookQueue: ['sqs:ChangeMessageVisibility'],
      signingSecret: ['secretsmanager:GetSecretValue'],
    },
    settings: ['WEBHOOK_MODE', 'WEBHOOK_RETRY_SCHEDULE'],
    trigger: 'webhook-queue',
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
  /** Served without the API's authorizer (the OpenAPI description). @default false */
  readonly public?: boolean;
}

export const routes: readonly RouteSpec[] = [
  { method: 'POST', path: '/jobs', function: 'submit-job' },
  { method: 'GET', path: '/jobs', function: 'list-jobs' },
  { method: 'GET', path: '/jobs/{id}', function: 'get-job' },
  { method: 'DELETE', path: '/jobs/{id}', function: 'cancel-job' },
  { method: 'GET', path: '/openapi.json', function: 'get-openapi', public: true },
];

/** The `$default` route: everything no route matches (404, or 405 with Allow). */
export const fallbackFunction: FunctionName = 'route-fallback';

/** The function a trigger invokes. */
export function triggered(trigger: Trigger): FunctionName {
  const name = functionNames.find((candidate) => (functionSpecs[candidate] as FunctionSpec).trigger === trigger);
  if (!name) throw new Error(`no function has trigger ${trigger}`);
  return name;
}

/** The function behind a route. */
export function routed(method: RouteSpec['method'], path: string): FunctionName {
  const route = routes.find((candidate) => candidate.method === method && candidate.path === path);
  if (!route) throw new Error(`no route ${method} ${path}`);
  return route.function;
}

/** The longest job attempt a worker with this timeout allows: its timeout less the time to record the outcome. */
export function maxJobTimeoutSeconds(workerTimeoutSeconds: number): number {
  return workerTimeoutSeconds - Math.ceil(worker.shutdownMarginMs / 1000);
}

/**
 * How long a job attempt runs when its submit names no `timeoutSeconds`: `requested` (whole seconds,
 * from the construct's `defaultJobTimeout`), else the configured default, which a short worker timeout caps.
 * Throws on a request longer than the worker allows, or not a whole number of seconds from 1.
 */
export function defaultJobTimeoutSeconds(workerTimeoutSeconds: number, requested?: number): number {
  const max = maxJobTimeoutSeconds(workerTimeoutSeconds);
  if (requested === undefined) return Math.min(jobs.defaultTimeoutSeconds, max);
  if (!Number.isInteger(requested) || requested < 1 || requested > max) {
    throw new Error(`defaultJobTimeout must be whole seconds from 1 to ${max} (the workerTimeout less ${Math.ceil(worker.shutdownMarginMs / 1000)} s to record the end); got ${requested} s`);
  }
  return requested;
}

/**
 * The environment of a function, given the values of the resources and settings it is bound to. With
 * source maps, Node maps stack traces to the TypeScript (`--enable-source-maps`).
 */
export function functionEnvironment(
  name: FunctionName,
  resources: Readonly<Partial<Record<ResourceKind, string>>>,
  settings: Readonly<Record<SettingName, string>>,
  build: { readonly sourceMaps: boolean },
): Record<string, string> {
  const spec: FunctionSpec = functionSpecs[name];
  const env: Record<string, string> = build.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {};
  for (const kind of Object.keys(spec.uses) as ResourceKind[]) {
    const variable = resourceEnv[kind];
    const value = resources[kind];
    if (variable && value !== undefined) env[variable] = value;
  }
  for (const setting of spec.settings ?? []) env[setting] = settings[setting];
  return env;
}
