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
import { Topic } from 'aws-cdk-lib/aws-sns';
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

    this.topic = new Topic(this, 'job-events', { enforceSSL: true });

    const resources: Record<ResourceKind, { name: string; arn: string }> = {
      table: { name: this.table.tableName, arn: this.table.tableArn },
      tableIndexes: { name: this.table.tableName, arn: `${this.table.tableArn}/index/*` },
      queue: { name: this.queue.queueUrl, arn: this.queue.queueArn },
      deadLetterQueue: { name: this.deadLetterQueue.queueUrl, arn: this.deadLetterQueue.queueArn },
      topic: { name: this.topic.topicArn, arn: this.topic.topicArn },
    };
    const environmentValues = Object.fromEntries(Object.entries(resources).map(([kind, value]) => [kind, value.name]));
    const settings = {
      // A CloudFormation dynamic reference: resolved at deploy time, never written into the template.
      IDEMPOTENCY_SECRET: this.idempotencySecret.secretValue.unsafeUnwrap(),
      MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(workerTimeout.toSeconds())),
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
}
