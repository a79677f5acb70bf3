/**
 * Alarms and the dashboard of an {@link AsyncJobs} system: what pages an operator, and what they look
 * at when it does. Thresholds and metric names come from infra/config.ts, which the handlers share.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import * as config from './config.ts';

/** The alarms, by name; each notifies the alarm topic when it fires and when it recovers. */
export type AlarmName =
  | 'jobs-dead-letters-waiting'
  | 'jobs-dead-lettered'
  | 'jobs-queue-age'
  | 'worker-errors'
  | 'worker-throttles'
  | 'reconciler-errors'
  | 'api-5xx-rate'
  | 'webhook-dead-lettered'
  | 'webhook-dead-letters'
  | 'table-throttles'
  | 'reconciler-not-running';

/** An alarm's metric, threshold and description, and over how many periods it breaches (one of one by default). */
type AlarmSpec = readonly [
  metric: IMetric,
  threshold: number,
  description: string,
  over?: { readonly periods: number; readonly breaching: number; readonly below?: true; readonly missingBreaches?: true },
];

/** Properties of {@link AsyncJobsMonitoring}: the resources to watch. */
export interface AsyncJobsMonitoringProps {
  /** The jobs HTTP API. */
  readonly api: IHttpApi;
  /** The jobs queue. */
  readonly queue: IQueue;
  /** The jobs queue's dead-letter queue (consumed by `on-dead-letter`). */
  readonly deadLetterQueue: IQueue;
  /** The webhook queue. */
  readonly webhookQueue: IQueue;
  /** The webhook queue's dead-letter queue (no consumer: deliveries that gave up wait there). */
  readonly webhookDeadLetterQueue: IQueue;
  /** The worker, `process-jobs`. */
  readonly worker: IFunction;
  /** The webhook deliverer, `deliver-webhooks`. */
  readonly webhookDeliverer: IFunction;
  /** The scheduled reconciler, `reconcile-jobs`. */
  readonly reconciler: IFunction;
  /** The jobs dead-letter queue's consumer, `on-dead-letter`. */
  readonly deadLetterHandler: IFunction;
  /** The jobs table. */
  readonly table: ITable;
  /** Its global secondary indexes, by a short name (letters only: it names their metrics in the alarm's expression). */
  readonly indexNames: Readonly<Record<string, string>>;
  /**
   * An address subscribed to the alarm topic (it must confirm the subscription from the email AWS sends).
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Age of the oldest message on the jobs queue that fires the `jobs-queue-age` alarm.
   * @default Duration.seconds(config.alarms.oldestJobMessageAgeSeconds) (30 minutes)
   */
  readonly oldestJobMessageAge?: Duration;
}

/** Fails at synth on an alarm email SNS would refuse (an unresolved token is checked at deploy). */
export function validateAlarmEmail(alarmEmail: string | undefined): void {
  if (alarmEmail === undefined || Token.isUnresolved(alarmEmail)) return;
  if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) throw new Error(`alarmEmail must be an email address; got "${alarmEmail}"`);
}

/** Where an operator reads what to do; each alarm links its own section (a heading named as the alarm). */
const RUNBOOK = 'docs/security-and-operations.md';

/**
 * Alarms on the dead-letter queues, the jobs queue's age, the worker's errors and throttles, the
 * reconciler's failures and the API's 5xx rate, all notifying one encrypted SNS topic; and a dashboard of the flow of jobs.
 */
export class AsyncJobsMonitoring extends Construct {
  /** Where every alarm sends its ALARM and OK notifications; subscribe pagers or chat here. */
  public readonly alarmTopic: Topic;
  /** Encrypts the alarm topic; its policy lets CloudWatch use it. */
  public readonly alarmTopicKey: Key;
  /** The alarms, by name. */
  public readonly alarms: Readonly<Record<AlarmName, Alarm>>;
  /** The CloudWatch dashboard of the flow of jobs. */
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: AsyncJobsMonitoringProps) {
    super(scope, id);
    validateAlarmEmail(props.alarmEmail);
    const period = Duration.seconds(config.alarms.periodSeconds);
    const stack = Stack.of(this);

    // CloudWatch publishes to an encrypted topic only if the key lets it (an AWS managed key cannot).
    // Deleted with the stack, after the shortest waiting period KMS allows (the topic goes with it).
    this.alarmTopicKey = new Key(this, 'alarm-topic-key', {
      enableKeyRotation: true,
      description: 'Encrypts the alarm topic',
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    this.alarmTopicKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsUseTheKey',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    this.alarmTopic = new Topic(this, 'alarm-topic', { enforceSSL: true, masterKey: this.alarmTopicKey });
    // The topic policy replaces SNS's default one: allow this account's alarms, and only them.
    this.alarmTopic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'ThisAccountsAlarmsPublish',
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.alarmTopic.topicArn],
        conditions: {
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
          StringEquals: { 'aws:SourceAccount': stack.account },
        },
      }),
    );
    if (props.alarmEmail !== undefined) this.alarmTopic.addSubscription(new EmailSubscription(props.alarmEmail));

    const api5xxRate = new MathExpression({
      expression: 'IF(requests > 0, 100 * errors / requests, 0)',
      usingMetrics: {
        errors: props.api.metricServerError({ period, statistic: 'Sum' }),
        requests: props.api.metricCount({ period, statistic: 'Sum' }),
      },
      period,
      label: 'API 5xx rate (%)',
    });
    const oldestJobMessageAge = props.oldestJobMessageAge ?? Duration.seconds(config.alarms.oldestJobMessageAgeSeconds);

    /** Over one period unless told otherwise; no data is no traffic (SQS stops reporting idle queues), not a failure. */
    const alarm = (name: AlarmName, [metric, threshold, description, over = { periods: 1, breaching: 1 }]: AlarmSpec) =>
      new Alarm(this, name, {
        metric,
        threshold,
        comparisonOperator: over.below ? ComparisonOperator.LESS_THAN_THRESHOLD : ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: over.periods,
        datapointsToAlarm: over.breaching,
        treatMissingData: over.missingBreaches ? TreatMissingData.BREACHING : TreatMissingData.NOT_BREACHING,
        alarmDescription: `${description} Runbook: ${RUNBOOK}#${name}`,
      });
    // on-dead-letter answers a dead letter it cannot handle with a batch item failure, which Lambda does not count
    // as an error, and the message is taken again within a minute, so the DLQ's visible count stays near 0: the
    // handler counts each such failure, and its own crashes and timeouts are Lambda errors. A DLQ nobody reads
    // (its event source disabled, the function throttled to nothing) moves neither: the age of its oldest message
    // does. FILL: a metric without data in a period (DeadLettersFailed is only sent when it happens) counts as 0.
    const deadLettersUnhandled = new MathExpression({
      expression: `FILL(failed, 0) + FILL(errors, 0) + IF(FILL(age, 0) > ${config.alarms.deadLetterUnreadSeconds}, 1, 0)`,
      usingMetrics: {
        failed: customMetric(config.metrics.names.deadLettersFailed, 'Sum', period),
        errors: props.deadLetterHandler.metricErrors({ period, statistic: 'Sum' }),
        age: props.deadLetterQueue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
      },
      period,
      label: 'dead letters on-dead-letter could not handle, or left unread',
    });
    // The table's own throttles, and each index's (reported apart, with the index's name).
    const throttleMetrics: Record<string, IMetric> = {};
    for (const [kind, metricName] of [
      ['reads', 'ReadThrottleEvents'],
      ['writes', 'WriteThrottleEvents'],
    ] as const) {
      throttleMetrics[kind] = props.table.metric(metricName, { period, statistic: 'Sum' });
      for (const [index, indexName] of Object.entries(props.indexNames)) {
        throttleMetrics[`${index}${kind}`] = props.table.metric(metricName, {
          period,
          statistic: 'Sum',
          dimensionsMap: { TableName: props.table.tableName, GlobalSecondaryIndexName: indexName },
        });
      }
    }
    const tableThrottles = new MathExpression({
      expression: Object.keys(throttleMetrics)
        .map((id) => `FILL(${id}, 0)`)
        .join(' + '),
      usingMetrics: throttleMetrics,
      period,
      label: 'throttled reads and writes (table and indexes)',
    });
    // Each alarm by its name: what it watches, its threshold, its description, and over how many periods.
    const specs: Record<AlarmName, AlarmSpec> = {
      'jobs-dead-letters-waiting': [
        deadLettersUnhandled,
        0,
        'Dead letters of the jobs queue keep failing in on-dead-letter: their jobs are not marked FAILED.',
        { periods: 3, breaching: 2 },
      ],
      'jobs-dead-lettered': [
        props.deadLetterQueue.metricNumberOfMessagesReceived({ period, statistic: 'Sum' }),
        0,
        'Job messages reached the dead-letter queue: the worker failed on them maxReceiveCount times before it could take their jobs (or they were second messages of healthy jobs, which on-dead-letter leaves alone).',
      ],
      'jobs-queue-age': [
        props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' }),
        oldestJobMessageAge.toSeconds(),
        `A job message is older than ${oldestJobMessageAge.toHumanString()}: jobs are not being started.`,
      ],
      'worker-errors': [
        props.worker.metricErrors({ period, statistic: 'Sum' }),
        0,
        'The worker (process-jobs) failed invocations: crashes or timeouts, not job failures.',
      ],
      'worker-throttles': [
        props.worker.metricThrottles({ period, statistic: 'Sum' }),
        0,
        'The worker (process-jobs) was throttled: the account or function concurrency limit was reached.',
      ],
      'reconciler-errors': [
        props.reconciler.metricErrors({ period, statistic: 'Sum' }),
        config.alarms.reconcilerFailedRuns,
        `The reconciler (reconcile-jobs) failed more than ${config.alarms.reconcilerFailedRuns} of its runs: jobs whose message went missing are not sent again, and ends not yet announced are not published.`,
      ],
      'api-5xx-rate': [
        api5xxRate,
        config.alarms.api5xxRatePercent,
        `More than ${config.alarms.api5xxRatePercent}% of API requests answered 5xx.`,
      ],
      // On the failures, not the DLQ's depth: nothing consumes the DLQ, so its depth stays above 0 (and the alarm
      // below in ALARM, notifying nobody again) until an operator redrives it; this one recovers after a quiet period.
      'webhook-dead-lettered': [
        customMetric(config.metrics.names.webhooksDeadLettered, 'Sum', period),
        0,
        'Webhook deliveries failed their last attempt and went to the webhook dead-letter queue.',
      ],
      'webhook-dead-letters': [
        props.webhookDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        0,
        'Webhook deliveries gave up after the whole retry schedule and wait on the webhook dead-letter queue.',
      ],
      // The SDK retries a throttled call, so a moment of it costs latency only; throttling that lasts fails requests and jobs.
      'table-throttles': [
        tableThrottles,
        0,
        'DynamoDB throttled reads or writes of the jobs table in two of the last three periods: requests and jobs fail or slow down.',
        { periods: 3, breaching: 2 },
      ],
      // It runs every minute: fewer than half its runs in two periods in a row (none at all, when its rule is disabled) is not a failing run but a missing one.
      'reconciler-not-running': [
        props.reconciler.metricInvocations({ period, statistic: 'Sum' }),
        config.alarms.reconcilerMinRuns,
        `The reconciler (reconcile-jobs) ran fewer than ${config.alarms.reconcilerMinRuns} times in each of two periods: its schedule is not invoking it.`,
        { periods: 2, breaching: 2, below: true, missingBreaches: true },
      ],
    };
    this.alarms = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, alarm(name as AlarmName, spec)])) as Record<AlarmName, Alarm>;
    const notify = new SnsAction(this.alarmTopic);
    for (const each of Object.values(this.alarms)) {
      each.addAlarmAction(notify);
      each.addOkAction(notify);
    }

    this.dashboard = new Dashboard(this, 'dashboard', { defaultInterval: Duration.hours(3) });
    const custom = (metricName: string, statistic: string, label: string) => customMetric(metricName, statistic, Duration.minutes(1), label);
    const names = config.metrics.names;
    const minute = { period: Duration.minutes(1) };
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# Async jobs\nSubmitted jobs enter the jobs queue, the worker runs them, each end is published and, with a callbackUrl, delivered as a webhook. Alarms and what to do: ${RUNBOOK}#alarms`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Jobs submitted and how they ended',
        left: [
          custom(names.jobsSubmitted, 'Sum', 'submitted'),
          custom(names.jobsSucceeded, 'Sum', 'succeeded'),
          custom(names.jobsFailed, 'Sum', 'failed'),
          custom(names.jobsCancelled, 'Sum', 'cancelled'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'Time in queue and job duration (ms)',
        left: [
          custom(names.timeInQueue, 'p50', 'time in queue p50'),
          custom(names.timeInQueue, 'p99', 'time in queue p99'),
          custom(names.jobDuration, 'p50', 'duration p50'),
          custom(names.jobDuration, 'p99', 'duration p99'),
        ],
        width: 8,
      }),
      new GraphWidget({
        title: 'API requests',
        left: [
          props.api.metricCount({ ...minute, statistic: 'Sum', label: 'requests' }),
          props.api.metricClientError({ ...minute, statistic: 'Sum', label: '4xx' }),
          props.api.metricServerError({ ...minute, statistic: 'Sum', label: '5xx' }),
        ],
        right: [props.api.metricLatency({ ...minute, statistic: 'p90', label: 'latency p90 (ms)' })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Jobs queue',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ ...minute, statistic: 'Maximum', label: 'waiting' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ ...minute, statistic: 'Maximum', label: 'in flight or backing off' }),
        ],
        right: [props.queue.metricApproximateAgeOfOldestMessage({ ...minute, statistic: 'Maximum', label: 'oldest message age (s)' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Worker (process-jobs)',
        left: [
          props.worker.metricInvocations({ ...minute, statistic: 'Sum', label: 'invocations' }),
          props.worker.metricErrors({ ...minute, statistic: 'Sum', label: 'errors' }),
          props.worker.metricThrottles({ ...minute, statistic: 'Sum', label: 'throttles' }),
        ],
        right: [props.worker.metricDuration({ ...minute, statistic: 'p90', label: 'duration p90 (ms)' })],
        width: 8,
      }),
      new GraphWidget({
        title: 'Dead-letter queues',
        left: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...minute, statistic: 'Maximum', label: 'jobs DLQ waiting' }),
          props.deadLetterQueue.metricNumberOfMessagesReceived({ ...minute, statistic: 'Sum', label: 'jobs DLQ received' }),
          props.webhookDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ ...minute, statistic: 'Maximum', label: 'webhook DLQ waiting' }),
          custom(names.deadLettersFailed, 'Sum', 'jobs DLQ handling failed'),
        ],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: 'Webhooks',
        left: [
          custom(names.webhookDeliveries, 'Sum', 'delivered'),
          custom(names.webhookFailures, 'Sum', 'attempts failed'),
          custom(names.webhooksDeadLettered, 'Sum', 'gave up (to the DLQ)'),
          props.webhookQueue.metricApproximateNumberOfMessagesVisible({ ...minute, statistic: 'Maximum', label: 'waiting' }),
          props.webhookQueue.metricApproximateNumberOfMessagesNotVisible({ ...minute, statistic: 'Maximum', label: 'in flight or backing off' }),
          props.webhookDeliverer.metricErrors({ ...minute, statistic: 'Sum', label: 'deliverer errors' }),
        ],
        right: [props.webhookQueue.metricApproximateAgeOfOldestMessage({ ...minute, statistic: 'Maximum', label: 'oldest message age (s)' })],
        width: 12,
      }),
      new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 12 }),
    );
  }
}

/** A metric the handlers emit (embedded metric format): the project's namespace and its one `service` dimension. */
function customMetric(metricName: string, statistic: string, period: Duration, label?: string): Metric {
  return new Metric({
    namespace: config.metrics.namespace,
    metricName,
    dimensionsMap: { [config.metrics.serviceDimension]: config.metrics.service },
    statistic,
    period,
    ...(label !== undefined && { label }),
  });
}
