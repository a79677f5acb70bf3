import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { HttpApi, HttpMethod } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
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
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundlingOptions } from './bundling.ts';
import * as config from './config.ts';
import {
  type FunctionName,
  type FunctionSpec,
  type ResourceKind,
  fallbackFunction,
  functionEnvironment,
  functionNames,
  functionSpecs,
  maxJobTimeoutSeconds,
  routes,
  triggered,
} from './functions.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

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

/** Properties of {@link AsyncJobs}. */
export interface AsyncJobsProps {
  /**
   * Timeout of the worker function: the longest one job attempt may run. The jobs queue's
   * visibility timeout follows it (six times it plus the batching window).
   * @default Duration.seconds(config.worker.timeoutSeconds) (120 s)
   */
  readonly workerTimeout?: Duration;
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

  constructor(scope: Construct, id: string, props: AsyncJobsProps = {}) {
    super(scope, id);
    const workerTimeout = props.workerTimeout ?? Duration.seconds(config.worker.timeoutSeconds);
    if (workerTimeout.toSeconds() > MAX_LAMBDA_TIMEOUT.toSeconds()) {
      throw new Error(`workerTimeout must be at most 15 minutes (Lambda's limit); got ${workerTimeout.toHumanString()}`);
    }
    if (workerTimeout.toSeconds() * 1000 <= config.worker.shutdownMarginMs) {
      throw new Error(`workerTimeout must be longer than the worker's shutdown margin of ${config.worker.shutdownMarginMs} ms`);
    }

    this.table = new Table(this, 'jobs-table', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: config.names.ownerIndex,
      partitionKey: { name: 'owner', type: AttributeType.STRING },
      sortKey: { name: 'createdAt', type: AttributeType.STRING },
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

    this.topicKey = new Key(this, 'job-events-key', { enableKeyRotation: true, description: 'Encrypts the completion events topic' });
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
      // Long enough for the whole retry schedule (about a day), with room.
      retentionPeriod: Duration.days(4),
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
      description: 'Standard Webhooks signing secret of job callbacks (prefix the value with whsec_ to use it)',
      generateSecretString: { passwordLength: 43, excludePunctuation: true },
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    const resources: Record<ResourceKind, { name: string; arn: string }> = {
      table: { name: this.table.tableName, arn: this.table.tableArn },
      tableIndexes: { name: this.table.tableName, arn: `${this.table.tableArn}/index/*` },
      queue: { name: this.queue.queueUrl, arn: this.queue.queueArn },
      deadLetterQueue: { name: this.deadLetterQueue.queueUrl, arn: this.deadLetterQueue.queueArn },
      topic: { name: this.topic.topicArn, arn: this.topic.topicArn },
      webhookQueue: { name: this.webhookQueue.queueUrl, arn: this.webhookQueue.queueArn },
      signingSecret: { name: this.signingSecret.secretArn, arn: this.signingSecret.secretArn },
    };
    const environmentValues = Object.fromEntries(Object.entries(resources).map(([kind, value]) => [kind, value.name]));
    const settings = {
      // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
      IDEMPOTENCY_SECRET: this.idempotencySecret.secretValue.unsafeUnwrap(),
      MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(workerTimeout.toSeconds())),
      WEBHOOK_MODE: 'cloud',
      WEBHOOK_RETRY_SCHEDULE: config.webhooks.retryScheduleSeconds.join(','),
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const functions = {} as Record<FunctionName, NodejsFunction>;
    for (const name of functionNames) {
      const spec: FunctionSpec = functionSpecs[name];
      const fn = new NodejsFunction(this, name, {
        entry: path.join(projectRoot, spec.entry),
        projectRoot,
        depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: spec.memoryMb,
        timeout: spec.trigger === 'jobs-queue' ? workerTimeout : Duration.seconds(spec.timeoutSeconds),
        environment: functionEnvironment(name, environmentValues, settings),
        logGroup: new LogGroup(this, `${name}-logs`, { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY }),
        bundling: {
          minify: bundlingOptions.minify,
          sourceMap: bundlingOptions.sourceMap,
          sourceMapMode: SourceMapMode.DEFAULT,
          target: bundlingOptions.target,
          format: OutputFormat.ESM,
          mainFields: [...bundlingOptions.mainFields],
          banner: bundlingOptions.banner,
          externalModules: [],
        },
      });
      // Grant exactly the actions the function's code performs, on exactly its resources.
      for (const [kind, actions] of Object.entries(spec.uses) as [ResourceKind, readonly string[]][]) {
        if (actions.length > 0) fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [resources[kind].arn] }));
      }
      // Publishing to the encrypted topic needs its key too.
      if (spec.uses.topic?.includes('sns:Publish')) this.topicKey.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
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
      }),
    );
    functions[triggered('dead-letter-queue')].addEventSource(
      new SqsEventSource(this.deadLetterQueue, { batchSize: config.worker.batchSize, reportBatchItemFailures: true }),
    );
    functions[triggered('webhook-queue')].addEventSource(
      new SqsEventSource(this.webhookQueue, { batchSize: config.webhooks.batchSize, reportBatchItemFailures: true }),
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
      // Unmatched paths and methods get a problem+json 404 or 405 instead of API Gateway's own body.
      defaultIntegration: new HttpLambdaIntegration('route-fallback', functions[fallbackFunction]),
    });
    for (const route of routes) {
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.function}-${route.method.toLowerCase()}`, functions[route.function]),
      });
    }
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
