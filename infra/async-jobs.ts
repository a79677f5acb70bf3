import { Duration, RemovalPolicy } from 'aws-cdk-lib';
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
import { type FunctionName, type ResourceKind, functionEnvironment, functionNames, functionSpecs, queueConsumer, routes } from './functions.ts';

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

    this.deadLetterQueue = new Queue(this, 'jobs-dlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.seconds(config.queue.deadLetterRetentionSeconds),
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
      queue: { name: this.queue.queueUrl, arn: this.queue.queueArn },
      topic: { name: this.topic.topicArn, arn: this.topic.topicArn },
    };
    const environmentValues = {
      table: resources.table.name,
      queue: resources.queue.name,
      topic: resources.topic.name,
    };
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;
    const functions = {} as Record<FunctionName, NodejsFunction>;
    for (const name of functionNames) {
      const spec = functionSpecs[name];
      const fn = new NodejsFunction(this, name, {
        entry: path.join(projectRoot, spec.entry),
        projectRoot,
        depsLockFilePath: path.join(projectRoot, 'package-lock.json'),
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: spec.memoryMb,
        timeout: name === queueConsumer ? workerTimeout : Duration.seconds(spec.timeoutSeconds),
        environment: functionEnvironment(name, environmentValues),
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
        const arns = kind === 'table' ? [resources.table.arn] : [resources[kind].arn];
        fn.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: arns }));
      }
      functions[name] = fn;
    }
    this.functions = functions;

    functions[queueConsumer].addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: config.worker.batchSize,
        ...(config.worker.maxBatchingWindowSeconds > 0 && {
          maxBatchingWindow: Duration.seconds(config.worker.maxBatchingWindowSeconds),
        }),
        reportBatchItemFailures: true,
      }),
    );

    this.api = new HttpApi(this, 'http-api', { description: 'Asynchronous jobs: POST /jobs answers 202 at once.' });
    for (const route of routes) {
      this.api.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: new HttpLambdaIntegration(`${route.function}-${route.method.toLowerCase()}`, functions[route.function]),
      });
    }
  }
}
