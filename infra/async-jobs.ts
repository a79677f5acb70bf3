import { AssetStaging, Duration, RemovalPolicy, Token, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { CfnStage, CorsHttpMethod, HttpApi, HttpMethod, HttpNoneAuthorizer, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AnyPrincipal, Effect, type IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { type ITopicSubscription, type Subscription, SubscriptionFilter, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, LambdaSubscription, SqsSubscription, UrlSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { maxAttempts } from '../functions/core/webhooks.ts';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleAliases, bundleDefines, bundlingOptions } from './bundling.ts';
import * as config from './config.ts';
import { AsyncJobsMonitoring, validateAlarmEmail } from './monitoring.ts';
import {
  type FunctionName,
  type FunctionSpec,
  type ResourceKind,
  fallbackFunction,
  functionEnvironment,
  functionNames,
  functionSpecs,
  defaultJobTimeoutSeconds,
  maxJobTimeoutSeconds,
  routes,
  triggered,
} from './functions.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The esbuild this project pins (package.json): NodejsFunction bundles with it, or, where it is not
 * installed, in Docker with the version named here, so the bundles (and their hashes) are the same either way.
 */
const pinnedEsbuild: string = (() => {
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string>; dependencies?: Record<string, string> };
  const version = manifest.devDependencies?.esbuild ?? manifest.dependencies?.esbuild;
  if (!version || !/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`package.json must pin esbuild to an exact version (as its lock file has it); got ${version ?? 'none'}`);
  return version;
})();

/** Lambda's hard limit on a function timeout. */
const MAX_LAMBDA_TIMEOUT = Duration.minutes(15);

/** Which completion events a subscriber gets; each list allows any of its values, all lists must match. */
export interface EventFilter {
  /** Event types, e.g. `['job.failed']`. @default all */
  readonly types?: readonly ('job.succeeded' | 'job.failed' | 'job.cancelled')[];
  /** Final job statuses, e.g. `['FAILED', 'CANCELLED']`. @default all */
  readonly statuses?: readonly ('SUCCEEDED' | 'FAILED' | 'CANCELLED')[];
  /** Job types, e.g. `['resize-image']`. @default all */
  readonly jobTypes?: readonly string[];
}

/** A subscriber of the completion topic. */
export type EventSubscriber = IQueue | IFunction | { readonly email: string } | { readonly url: string };

/**
 * How callers of the HTTP API authenticate. The caller's identity (IAM principal ARN or JWT `sub`)
 * owns the jobs it creates: another caller's job answers 404.
 * - `iam`: SigV4-signed requests; grant callers `execute-api:Invoke` with {@link AsyncJobs.grantInvoke}.
 * - `jwt`: `Authorization: Bearer <token>` from an OIDC provider (Cognito or any other), checked against
 *   the issuer's published keys and the audience.
 * - `none`: no authentication; every caller is the same anonymous owner. For demos only.
 */
export type AsyncJobsAuth =
  | { readonly type: 'iam' }
  | {
      readonly type: 'jwt';
      /** The token issuer (`iss`), an https URL, e.g. `https://cognito-idp.<region>.amazonaws.com/<user pool id>`. */
      readonly issuer: string;
      /** Accepted audiences: a token's `aud` (or Cognito access token's `client_id`) must be one of them. */
      readonly audience: readonly string[];
    }
  | { readonly type: 'none' };

/** API Gateway throttling of each route of the HTTP API's stage. */
export interface AsyncJobsThrottle {
  /** Steady requests per second a route admits. */
  readonly rateLimit: number;
  /** Requests a route admits at once above the steady rate. */
  readonly burstLimit: number;
}

/**
 * The JSON line API Gateway writes to the access log for each request. `caller` is the IAM principal
 * (auth `iam`), `sub` the token's subject (auth `jwt`); API Gateway writes `-` where a value is absent.
 */
export const accessLogFormat = {
  requestId: '$context.requestId',
  time: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  caller: '$context.identity.userArn',
  sub: '$context.authorizer.claims.sub',
  method: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  protocol: '$context.protocol',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  error: '$context.error.message',
} as const;

/** Properties of {@link AsyncJobs}. */
export interface AsyncJobsProps {
  /**
   * How callers authenticate. Every route requires it except those declared `public` (the OpenAPI
   * description); the `$default` route does too, so an unauthenticated caller learns nothing.
   * @default { type: 'iam' }
   */
  readonly auth?: AsyncJobsAuth;
  /**
   * API Gateway throttling of each route of the stage; a caller over it gets `429`.
   * @default { rateLimit: config.apiStage.rateLimit, burstLimit: config.apiStage.burstLimit } (100 per second, bursts of 200)
   */
  readonly throttle?: AsyncJobsThrottle;
  /**
   * Origins of browser pages that may call the API (`https://app.example.com`, or `*`): API Gateway
   * then answers CORS preflights itself and lets those pages read `Location`, `Retry-After`,
   * `Idempotent-Replayed` and `ETag`. Credentials are headers (a token or a signature), never cookies.
   * @default none: only same-origin pages and non-browser callers
   */
  readonly corsOrigins?: readonly string[];
  /**
   * An email address subscribed to the alarm topic (`cdk deploy -c alarmEmail=ops@example.com` with the
   * project's stack). The address must confirm the subscription.
   * @default no subscription: subscribe to `monitoring.alarmTopic` yourself
   */
  readonly alarmEmail?: string;
  /**
   * Timeout of the worker function: the longest one job attempt may run. The jobs queue's
   * visibility timeout follows it (six times it plus the batching window).
   * @default Duration.seconds(config.worker.timeoutSeconds) (120 s)
   */
  readonly workerTimeout?: Duration;
  /**
   * How long a job attempt runs when its submit names no `timeoutSeconds`: whole seconds, at most the
   * `workerTimeout` less the few seconds the worker keeps to record the end. Raising `workerTimeout`
   * raises that limit only; this raises the default.
   * @default Duration.seconds(config.jobs.defaultTimeoutSeconds) (60 s), capped by a shorter workerTimeout
   */
  readonly defaultJobTimeout?: Duration;
  /**
   * Most worker invocations at once, each running a batch of up to `config.worker.batchSize` jobs: the
   * jobs queue's event source stops scaling there (Lambda allows 2 to 1,000), so a backlog cannot take
   * the account's whole Lambda concurrency and throttle `POST /jobs` and `GET /jobs/{id}` with it.
   * @default config.worker.maxConcurrency (50)
   */
  readonly workerMaxConcurrency?: number;
  /**
   * Most `deliver-webhooks` invocations at once, each delivering up to `config.webhooks.batchSize`
   * events: it bounds how hard a burst of completions hits the callers' receivers (2 to 1,000).
   * @default config.webhooks.maxConcurrency (5)
   */
  readonly webhookMaxConcurrency?: number;
  /**
   * What happens to the jobs table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;
  /**
   * How long the functions' logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * X-Ray tracing: Lambda active tracing on every function, plus, in each function that calls AWS, a
   * Powertools Tracer subsegment for the handler (annotated `ColdStart` and `Service`) and one for every AWS SDK call.
   * `false` disables both and builds the functions without the tracing code, which makes each cold
   * start about 15–20 ms and 120 KB lighter and takes the X-Ray SDK's async hooks off every invocation
   * (`npm run bench` measures both).
   * @default true
   */
  readonly tracing?: boolean;
  /**
   * Source maps: each function's bundle ships with its map and runs with `--enable-source-maps`, so stack
   * traces in the logs name the TypeScript file and line. `false` ships no map and leaves the flag off:
   * Node no longer reads the map as it loads the bundle, about 10 ms of each cold start of a function that
   * calls AWS (most of a map is the bundled SDK's; `npm run bench`, the *no source maps* column), and stack
   * traces point into the minified bundle.
   * @default true
   */
  readonly sourceMaps?: boolean;
}

/**
 * The asynchronous request-reply system: an HTTP API that accepts jobs with `202`, a DynamoDB
 * table of job records, an SQS queue (with DLQ) feeding a worker, and an SNS topic that announces
 * every job's end.
 */
export class AsyncJobs extends Construct {
  /** Job records; TTL on `expiresAt`, GSI `by-owner` for listing a caller's jobs newest first. */
  public readonly table: Table;
  /** Messages that start jobs. */
  public readonly queue: Queue;
  /** Messages the worker failed on `maxReceiveCount` times. */
  public readonly deadLetterQueue: Queue;
  /** Completion events (`job.succeeded`, `job.failed`, `job.cancelled`). */
  public readonly topic: Topic;
  /** The HTTP API. */
  public readonly api: HttpApi;
  /** Encrypts the completion topic at rest. */
  public readonly topicKey: Key;
  /** Completion events of jobs with a `callbackUrl`, on their way to `deliver-webhooks`. */
  public readonly webhookQueue: Queue;
  /** Webhook deliveries that failed every attempt of the retry schedule. */
  public readonly webhookDeadLetterQueue: Queue;
  /** The Standard Webhooks signing secret (`whsec_…`; `{"current","previous","previousUntil"}` during a rotation). */
  public readonly signingSecret: Secret;
  /** The key that derives job ids from Idempotency-Key headers. */
  public readonly idempotencySecret: Secret;
  /** One function per entry point, by name. */
  public readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  /** How callers authenticate. */
  public readonly auth: AsyncJobsAuth;
  /** The API's access log: one JSON line per request ({@link accessLogFormat}). */
  public readonly accessLogs: LogGroup;
  /** Alarms, their topic, and the dashboard. */
  public readonly monitoring: AsyncJobsMonitoring;

  constructor(scope: Construct, id: string, props: AsyncJobsProps = {}) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.seconds(config.worker.timeoutSeconds);
    if (workerTimeout.toSeconds() > MAX_LAMBDA_TIMEOUT.toSeconds()) {
      throw new Error(`workerTimeout must be at most 15 minutes (Lambda's limit); got ${workerTimeout.toHumanString()}`);
    }
    if (workerTimeout.toSeconds() * 1000 <= config.worker.shutdownMarginMs) {
      throw new Error(`workerTimeout must be longer than the worker's shutdown margin of ${config.worker.shutdownMarginMs} ms`);
    }
    const defaultJobTimeout = defaultJobTimeoutSeconds(workerTimeout.toSeconds(), props.defaultJobTimeout?.toSeconds({ integral: false }));
    this.auth = props.auth ?? { type: 'iam' };
    validateAuth(this.auth);
    const throttle = props.throttle ?? { rateLimit: config.apiStage.rateLimit, burstLimit: config.apiStage.burstLimit };
    validateThrottle(throttle);
    validateAlarmEmail(props.alarmEmail);
    const workerMaxConcurrency = props.workerMaxConcurrency ?? config.worker.maxConcurrency;
    const webhookMaxConcurrency = props.webhookMaxConcurrency ?? config.webhooks.maxConcurrency;
    validateMaxConcurrency('workerMaxConcurrency', workerMaxConcurrency);
    validateMaxConcurrency('webhookMaxConcurrency', webhookMaxConcurrency);
    for (const origin of props.corsOrigins ?? []) validateCorsOrigin(origin);
    for (const flag of ['tracing', 'sourceMaps'] as const) {
      const value: unknown = props[flag];
      if (value !== undefined && typeof value !== 'boolean') throw new Error(`${flag} must be true or false; got ${JSON.stringify(value)}`);
    }
    // DynamoDB tables and secrets take no snapshot on deletion: CloudFormation would refuse it at deploy.
    if (props.tableRemovalPolicy === RemovalPolicy.SNAPSHOT) {
      throw new Error('tableRemovalPolicy must be RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY; SNAPSHOT applies to neither the table nor its secrets');
    }

    this.table = new Table(this, 'jobs-table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      // A KMS key of the account's (aws/dynamodb): its use shows in CloudTrail, and no key to manage or pay for.
      encryption: TableEncryption.AWS_MANAGED,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: config.names.ownerIndex,
      partitionKey: { name: 'owner', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
      // Keys only: a job's later writes change no projected attribute, so they cost no index write.
      projectionType: ProjectionType.KEYS_ONLY,
    });
    // Sparse: only jobs the reconciler may need to act on carry these attributes.
    this.table.addGlobalSecondaryIndex({
      indexName: config.names.sweepIndex,
      partitionKey: { name: 'sweepShard', type: AttributeType.STRING },
      sortKey: { name: 'sweepAt', type: AttributeType.STRING },
    });
    // Turns caller + Idempotency-Key into a job id; kept with the table, since changing it would let a
    // repeated key create a second job.
    this.idempotencySecret = new Secret(this, 'idempotency-secret', {
      description: 'Key of the hash that derives job ids from Idempotency-Key headers',
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.idempotencySecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'The idempotency key must never rotate: a new key would give a repeated Idempotency-Key a second job.',
    });

    this.deadLetterQueue = new Queue(this, 'jobs-dlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(config.queue.deadLetterRetentionSeconds),
      // It feeds on-dead-letter: six times that function's timeout, as for the jobs queue.
      visibilityTimeout: Duration.seconds(6 * functionSpecs['on-dead-letter'].timeoutSeconds),
    });
    this.queue = new Queue(this, 'jobs-queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(config.queue.retentionSeconds),
      visibilityTimeout: Duration.seconds(6 * workerTimeout.toSeconds() + config.worker.maxBatchingWindowSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.queue.maxReceiveCount },
    });

    // Encrypts messages only while the topic holds them: of no use once the stack (and topic) is gone.
    this.topicKey = new Key(this, 'job-events-key', {
      enableKeyRotation: true,
      description: 'Encrypts the completion events topic',
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.topic = new Topic(this, 'job-events', { enforceSSL: true, masterKey: this.topicKey });

    const webhookAttempts = maxAttempts(config.webhooks.retryScheduleSeconds);
    this.webhookDeadLetterQueue = new Queue(this, 'webhooks-dlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(config.queue.deadLetterRetentionSeconds),
    });
    this.webhookQueue = new Queue(this, 'webhooks-queue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(config.webhooks.queueRetentionSeconds),
      visibilityTimeout: Duration.seconds(6 * config.webhooks.timeoutSeconds),
      deadLetterQueue: { queue: this.webhookDeadLetterQueue, maxReceiveCount: webhookAttempts },
    });
    // Only events of jobs with a callback URL reach the webhook queue.
    this.topic.addSubscription(
      new SqsSubscription(this.webhookQueue, {
        rawMessageDelivery: true,
        filterPolicy: { callback: SubscriptionFilter.stringFilter({ allowlist: ['true'] }) },
      }),
    );
    this.signingSecret = new Secret(this, 'webhook-signing-secret', {
      description: 'Standard Webhooks signing secret of job callbacks: receivers use whsec_ + the value base64-decoded and encoded again (printf %s= VALUE | base64 -d | base64), canonical base64 of the same key',
      generateSecretString: { passwordLength: 43, excludePunctuation: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.signingSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the webhook signing secret is an operator step (receivers must learn the new key); the deliverer signs with both keys during the rotation window (README: signing and rotation).',
    });

    // Each index by name, rather than index/*: a function may query exactly the index its code reads.
    const indexArn = (index: string) => `${this.table.tableArn}/index/${index}`;
    const resources: Record<ResourceKind, { name: string; arns: string[] }> = {
      table: { name: this.table.tableName, arns: [this.table.tableArn] },
      ownerIndex: { name: this.table.tableName, arns: [indexArn(config.names.ownerIndex)] },
      sweepIndex: { name: this.table.tableName, arns: [indexArn(config.names.sweepIndex)] },
      queue: { name: this.queue.queueUrl, arns: [this.queue.queueArn] },
      deadLetterQueue: { name: this.deadLetterQueue.queueUrl, arns: [this.deadLetterQueue.queueArn] },
      topic: { name: this.topic.topicArn, arns: [this.topic.topicArn] },
      webhookQueue: { name: this.webhookQueue.queueUrl, arns: [this.webhookQueue.queueArn] },
      signingSecret: { name: this.signingSecret.secretArn, arns: [this.signingSecret.secretArn] },
    };
    const environmentValues = Object.fromEntries(Object.entries(resources).map(([kind, value]) => [kind, value.name]));
    const settings = {
      // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
      IDEMPOTENCY_SECRET: this.idempotencySecret.secretValue.unsafeUnwrap(),
      DEFAULT_JOB_TIMEOUT_SECONDS: String(defaultJobTimeout),
      MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(workerTimeout.toSeconds())),
      WEBHOOK_MODE: 'cloud',
      WEBHOOK_RETRY_SCHEDULE: config.webhooks.retryScheduleSeconds.join(','),
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const tracing = props.tracing ?? true;
    const sourceMaps = props.sourceMaps ?? true;
    const functions = {} as Record<FunctionName, NodejsFunction>;
    for (const name of functionNames) {
      const spec: FunctionSpec = functionSpecs[name];
      const logGroup = new LogGroup(this, `${name}-logs`, { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
      // A role of its own instead of AWSLambdaBasicExecutionRole, which may write to any log group.
      const role = new Role(this, `${name}-role`, {
        assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
        description: `Runs the ${name} function of async-jobs`,
      });
      logGroup.grantWrite(role);
      const fn = new NodejsFunction(this, name, {
        entry: path.join(projectRoot, spec.entry),
        projectRoot,
        depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: spec.memoryMb,
        timeout: spec.trigger === 'jobs-queue' ? workerTimeout : Duration.seconds(spec.timeoutSeconds),
        // The schedule invokes asynchronously; a failed run is not retried, as the next run comes within the interval
        // (retries would also count as more failed runs for the reconciler-errors alarm).
        ...(spec.trigger === 'schedule' && { retryAttempts: 0 }),
        environment: functionEnvironment(name, environmentValues, settings, { sourceMaps }),
        role,
        logGroup,
        tracing: tracing ? Tracing.ACTIVE : Tracing.DISABLED,
        bundling: {
          define: bundleDefines({ tracing }),
          minify: bundlingOptions.minify,
          sourceMap: sourceMaps,
          ...(sourceMaps && { sourceMapMode: SourceMapMode.DEFAULT, sourcesContent: bundlingOptions.sourcesContent }),
          target: bundlingOptions.target,
          format: OutputFormat.ESM,
          mainFields: [...bundlingOptions.mainFields],
          banner: bundlingOptions.banner,
          esbuildArgs: { '--alias': Object.entries(bundleAliases).map(([from, to]) => `${from}=${to}`) },
          // esbuild resolves aliases from its working directory: in Docker, the project root mounted here (local bundling runs in it anyway).
          workingDirectory: AssetStaging.BUNDLING_INPUT_DIR,
          externalModules: [],
          esbuildVersion: pinnedEsbuild,
          // The map names its sources from the project root, not from the assembly's folder, so the asset's
          // hash does not depend on where `cdk synth` writes (scripts/stable-source-maps.cjs).
          ...(sourceMaps && {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (inputDir: string, outputDir: string) => [
                `node "${path.posix.join(inputDir.split(path.sep).join('/'), 'scripts/stable-source-maps.cjs')}" "${outputDir}" "${inputDir}"`,
              ],
            },
          }),
        },
      });
      // Grant exactly the actions the function's code performs, on exactly its resources.
      for (const [kind, actions] of Object.entries(spec.uses) as [ResourceKind, readonly string[]][]) {
        if (actions.length > 0) fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [...resources[kind].arns] }));
      }
      // Publishing to the encrypted topic needs its key too.
      if (spec.uses.topic?.includes('sns:Publish')) this.topicKey.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
      if (tracing) {
        Validations.of(role).acknowledge({
          id: 'AwsSolutions-IAM5[Resource::*]',
          reason: 'Tracing.ACTIVE grants xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions.',
        });
      }
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'Node.js 22 is the project runtime: the bundles target node22 (infra/bundling.ts) and the tests assert it; moving to 24 is a separate change.',
      });
      functions[name] = fn;
    }
    this.functions = functions;

    functions[triggered('jobs-queue')].addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.worker.batchSize,
        ...(config.worker.maxBatchingWindowSeconds > 0 && {
          maxBatchingWindow: Duration.seconds(config.worker.maxBatchingWindowSeconds),
        }),
        reportBatchItemFailures: true,
        maxConcurrency: workerMaxConcurrency,
      }),
    );
    functions[triggered('dead-letter-queue')].addEventSource(
      new SqsEventSource(this.deadLetterQueue, {
        batchSize: config.worker.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: config.worker.deadLetterMaxConcurrency,
      }),
    );
    functions[triggered('webhook-queue')].addEventSource(
      new SqsEventSource(this.webhookQueue, { batchSize: config.webhooks.batchSize, reportBatchItemFailures: true, maxConcurrency: webhookMaxConcurrency }),
    );
    // Who may publish is exactly the functions declared to: anyone else is denied, whatever IAM allows.
    const publishers = functionNames.filter((name) => (functionSpecs[name] as FunctionSpec).uses.topic?.includes('sns:Publish'));
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'OnlyTheWorkersPublish',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': publishers.map((name) => (functions[name].role as IRole).roleArn) } },
      }),
    );
    new Rule(this, 'reconcile-schedule', {
      description: 'Re-enqueues jobs whose message went missing and announces unannounced ends',
      schedule: Schedule.rate(Duration.seconds(config.reconciler.intervalSeconds)),
      targets: [new LambdaFunction(functions[triggered('schedule')])],
    });

    this.api = new HttpApi(this, 'http-api', {
      description: 'Asynchronous jobs: POST /jobs answers 202 at once.',
      // Unmatched paths and methods get a problem+json 404 or 405 instead of API Gateway's own body;
      // the route carries the authorizer too, so only an authenticated caller learns which paths exist.
      defaultIntegration: new HttpLambdaIntegration('route-fallback', functions[fallbackFunction]),
      defaultAuthorizer: routeAuthorizer(this.auth),
      ...(props.corsOrigins?.length && {
        corsPreflight: {
          allowOrigins: [...props.corsOrigins],
          allowMethods: config.cors.allowMethods.map((method) => CorsHttpMethod[method]),
          allowHeaders: [...config.cors.allowHeaders],
          exposeHeaders: [...config.cors.exposeHeaders],
          maxAge: Duration.seconds(config.cors.maxAgeSeconds),
        },
      }),
    });
    if (props.corsOrigins?.length) {
      // The `$default` route takes OPTIONS too, behind the authorizer, which would refuse every preflight (a
      // browser sends no credentials with one). AWS's answer: an OPTIONS route of its own, without authorization.
      const [preflight] = this.api.addRoutes({
        path: '/{proxy+}',
        methods: [HttpMethod.OPTIONS],
        integration: new HttpLambdaIntegration('route-fallback-options', functions[fallbackFunction]),
        authorizer: new HttpNoneAuthorizer(),
      });
      if (preflight) {
        Validations.of(preflight).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: 'CORS preflights (OPTIONS) carry no credentials by the Fetch standard; API Gateway answers them from the CORS configuration, and the fallback answers any other OPTIONS with the methods of the path only.',
        });
      }
    }
    for (const route of routes) {
      const [added] = this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.function}-${route.method.toLowerCase()}`, functions[route.function]),
        ...(route.public && { authorizer: new HttpNoneAuthorizer() }),
      });
      if (route.public && added) {
        Validations.of(added).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${route.path} is declared public in infra/functions.ts: served to anyone by design (the API description), it holds no job data.`,
        });
      }
    }

    this.accessLogs = new LogGroup(this, 'api-access-logs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    // The L2 default stage takes neither throttling nor access logs: set them on its CloudFormation resource.
    const stage = this.api.defaultStage?.node.defaultChild;
    if (!(stage instanceof CfnStage)) throw new Error('the HTTP API has no default stage');
    stage.accessLogSettings = { destinationArn: this.accessLogs.logGroupArn, format: JSON.stringify(accessLogFormat) };
    stage.defaultRouteSettings = { throttlingRateLimit: throttle.rateLimit, throttlingBurstLimit: throttle.burstLimit };

    // A job may legitimately wait its longest delay plus every attempt, at the worker's timeout, with backoff
    // between them: the queue-age alarm leaves it that long (in whole 5 minutes), and never less than configured.
    const longestWaitSeconds =
      config.queue.maxDelaySeconds +
      config.jobs.maxAttempts * workerTimeout.toSeconds() +
      (config.jobs.maxAttempts - 1) * config.jobs.backoffCapSeconds;
    const oldestJobMessageAge = Duration.seconds(Math.max(config.alarms.oldestJobMessageAgeSeconds, Math.ceil(longestWaitSeconds / 300) * 300));
    this.monitoring = new AsyncJobsMonitoring(this, 'monitoring', {
      api: this.api,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      webhookQueue: this.webhookQueue,
      webhookDeadLetterQueue: this.webhookDeadLetterQueue,
      worker: functions[triggered('jobs-queue')],
      webhookDeliverer: functions[triggered('webhook-queue')],
      reconciler: functions[triggered('schedule')],
      deadLetterHandler: functions[triggered('dead-letter-queue')],
      table: this.table,
      indexNames: { owner: config.names.ownerIndex, sweep: config.names.sweepIndex },
      oldestJobMessageAge,
      ...(props.alarmEmail !== undefined && { alarmEmail: props.alarmEmail }),
    });
  }

  /**
   * Lets `grantee` (a role, user or group) call the API in `iam` mode: `execute-api:Invoke` on every
   * route of this API. The caller then signs its requests with SigV4 (service `execute-api`).
   */
  public grantInvoke(grantee: IGrantable): Grant {
    if (this.auth.type !== 'iam') {
      throw new Error(`grantInvoke applies to auth type 'iam'; this API uses '${this.auth.type}'`);
    }
    return Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.api.arnForExecuteApi()] });
  }

  /**
   * Subscribes a queue (raw delivery), a Lambda function, an email address or an HTTPS endpoint to
   * the completion events, optionally only to some: `jobs.subscribe(queue, { types: ['job.failed'] })`.
   */
  public subscribe(subscriber: EventSubscriber, filter: EventFilter = {}): Subscription {
    const filterPolicy: Record<string, SubscriptionFilter> = {};
    if (filter.types?.length) filterPolicy.type = SubscriptionFilter.stringFilter({ allowlist: [...filter.types] });
    if (filter.statuses?.length) filterPolicy.status = SubscriptionFilter.stringFilter({ allowlist: [...filter.statuses] });
    if (filter.jobTypes?.length) filterPolicy.jobType = SubscriptionFilter.stringFilter({ allowlist: [...filter.jobTypes] });
    const policy = Object.keys(filterPolicy).length > 0 ? { filterPolicy } : {};
    let subscription: ITopicSubscription;
    if ('email' in subscriber) subscription = new EmailSubscription(subscriber.email, policy);
    else if ('url' in subscriber) subscription = new UrlSubscription(subscriber.url, policy);
    else if ('queueArn' in subscriber) subscription = new SqsSubscription(subscriber, { rawMessageDelivery: true, ...policy });
    else subscription = new LambdaSubscription(subscriber, policy);
    return this.topic.addSubscription(subscription);
  }
}

/** The authorizer of every non-public route, the `$default` route included. */
function routeAuthorizer(auth: AsyncJobsAuth): IHttpRouteAuthorizer | undefined {
  switch (auth.type) {
    case 'iam':
      return new HttpIamAuthorizer();
    case 'jwt':
      return new HttpJwtAuthorizer('jwt-authorizer', auth.issuer, { jwtAudience: [...auth.audience] });
    case 'none':
      return undefined;
  }
}

/** Fails at synth on an `auth` API Gateway would refuse at deploy, or that would accept any token. */
function validateAuth(auth: AsyncJobsAuth): void {
  // From JavaScript or a JSON config, anything may come: an unknown type must not fall through to no authorizer.
  const type: unknown = (auth as { readonly type?: unknown }).type;
  if (type !== 'iam' && type !== 'jwt' && type !== 'none') throw new Error(`auth.type must be 'iam', 'jwt' or 'none'; got ${JSON.stringify(type) ?? 'nothing'}`);
  if (auth.type !== 'jwt') return;
  if (!Token.isUnresolved(auth.issuer)) {
    if (auth.issuer.trim() === '') throw new Error("auth.issuer must not be empty when auth.type is 'jwt'");
    if (!auth.issuer.startsWith('https://')) throw new Error(`auth.issuer must be an https:// URL; got "${auth.issuer}"`);
  }
  if (auth.audience.length === 0) throw new Error("auth.audience must list at least one audience when auth.type is 'jwt'");
  if (auth.audience.some((audience) => !Token.isUnresolved(audience) && audience.trim() === '')) {
    throw new Error('auth.audience must not contain an empty audience');
  }
}

/** Fails at synth on an origin no browser sends (a path, a trailing slash, no scheme): CORS would never match it. */
function validateCorsOrigin(origin: string): void {
  if (Token.isUnresolved(origin)) return;
  if (!config.isCorsOrigin(origin)) {
    throw new Error(`corsOrigins must be '*' or origins such as https://app.example.com (scheme and host, no path); got "${origin}"`);
  }
}

/** An SQS event source's maximum concurrency: Lambda takes whole numbers from 2 to 1,000. */
function validateMaxConcurrency(prop: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 2 && value <= 1000)) {
    throw new Error(`${prop} must be a whole number from 2 to 1000 (the SQS event source's limits); got ${value}`);
  }
}

/** Fails at synth on throttling API Gateway would refuse, or that would refuse every request. */
function validateThrottle(throttle: AsyncJobsThrottle): void {
  if (!(Number.isFinite(throttle.rateLimit) && throttle.rateLimit > 0)) {
    throw new Error(`throttle.rateLimit must be a positive number of requests per second; got ${throttle.rateLimit}`);
  }
  if (!(Number.isInteger(throttle.burstLimit) && throttle.burstLimit > 0)) {
    throw new Error(`throttle.burstLimit must be a positive whole number of requests; got ${throttle.burstLimit}`);
  }
}
