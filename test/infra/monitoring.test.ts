/**
 * Alarms, the alarm topic and the dashboard, in the stack as `cdk deploy -c alarmEmail=…` makes it.
 * Synthesized without bundling.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AsyncJobs } from '#infra/async-jobs';
import * as config from '#infra/config';
import type { AlarmName } from '#infra/monitoring';
import { AsyncJobsStack } from '#infra/stack';
import { errorOf, logicalIdOf, resourceOf, resourcesOfType, unbundledApp } from './support.ts';

let stack: AsyncJobsStack;
let jobs: AsyncJobs;
let template: Template;

beforeAll(() => {
  stack = new AsyncJobsStack(unbundledApp({ alarmEmail: 'ops@example.com' }), 'Monitored');
  jobs = stack.asyncJobs;
  template = Template.fromStack(stack);
}, 60_000);

/** Alarm name, metric namespace and name, statistic, threshold, and the resource the metric is of. */
type ExpectedAlarm = [AlarmName, string, string, string, number, () => { Name: string; Value: unknown }];

const queueDimension = (queue: () => { queueName: string }) => () => ({ Name: 'QueueName', Value: stack.resolve(queue().queueName) });
const functionDimension = () => ({ Name: 'FunctionName', Value: stack.resolve(jobs.functions['process-jobs'].functionName) });
const reconcilerDimension = () => ({ Name: 'FunctionName', Value: stack.resolve(jobs.functions['reconcile-jobs'].functionName) });

const EXPECTED_ALARMS: readonly ExpectedAlarm[] = [
  ['jobs-dead-lettered', 'AWS/SQS', 'NumberOfMessagesReceived', 'Sum', 0, queueDimension(() => jobs.deadLetterQueue)],
  ['jobs-queue-age', 'AWS/SQS', 'ApproximateAgeOfOldestMessage', 'Maximum', 1_800, queueDimension(() => jobs.queue)],
  ['worker-errors', 'AWS/Lambda', 'Errors', 'Sum', 0, functionDimension],
  ['worker-throttles', 'AWS/Lambda', 'Throttles', 'Sum', 0, functionDimension],
  ['reconciler-errors', 'AWS/Lambda', 'Errors', 'Sum', 2, reconcilerDimension],
  ['webhook-dead-letters', 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'Maximum', 0, queueDimension(() => jobs.webhookDeadLetterQueue)],
  // Each delivery that gives up, counted by the deliverer: no one consumes the webhook DLQ, so its depth alone would alarm once.
  ['webhook-dead-lettered', 'AsyncJobs', 'WebhooksDeadLettered', 'Sum', 0, () => ({ Name: 'service', Value: 'async-jobs' })],
];

function alarmProperties(name: AlarmName): Record<string, unknown> {
  return resourceOf(template, jobs.monitoring.alarms[name]).Properties ?? {};
}

describe('alarms', () => {
  /** The alarms on more than one metric, or over more than one period: each has its own test below. */
  const OTHER_ALARMS = ['api-5xx-rate', 'jobs-dead-letters-waiting', 'table-throttles', 'reconciler-not-running'] as const;

  it('are the eleven listed here, and only those', () => {
    // Assess
    template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    expect(Object.keys(jobs.monitoring.alarms).sort()).toEqual([...EXPECTED_ALARMS.map(([name]) => name), ...OTHER_ALARMS].sort());
  });

  /** An alarm's metrics: its expression, and each metric it uses as `id namespace name dimension=value… statistic`. */
  function alarmMetrics(name: AlarmName): { expression: string; metrics: string[] } {
    const metrics = (alarmProperties(name).Metrics ?? []) as {
      Id: string;
      Expression?: string;
      MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] }; Period: number; Stat: string };
    }[];
    return {
      expression: metrics.find((metric) => metric.Expression)?.Expression ?? '',
      metrics: metrics
        .filter((metric) => metric.MetricStat)
        .map(({ Id, MetricStat }) => {
          const stat = MetricStat as NonNullable<typeof MetricStat>;
          const dimensions = stat.Metric.Dimensions.map((dimension) => `${dimension.Name}=${JSON.stringify(dimension.Value)}`).join(' ');
          return `${Id} ${stat.Metric.Namespace} ${stat.Metric.MetricName} ${dimensions} ${stat.Stat}/${stat.Period}`;
        })
        .sort(),
    };
  }

  it('jobs-dead-letters-waiting fires when on-dead-letter fails dead letters (it counts them), fails itself, or leaves the DLQ unread, in two of three periods', () => {
    // Act
    const properties = alarmProperties('jobs-dead-letters-waiting');
    const { expression, metrics } = alarmMetrics('jobs-dead-letters-waiting');
    const handler = JSON.stringify({ Ref: logicalIdOf(jobs.functions['on-dead-letter']) });
    const dlq = JSON.stringify(stack.resolve(jobs.deadLetterQueue.queueName));

    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
    expect(expression).toBe('FILL(failed, 0) + FILL(errors, 0) + IF(FILL(age, 0) > 900, 1, 0)');
    expect(metrics).toEqual([
      `age AWS/SQS ApproximateAgeOfOldestMessage QueueName=${dlq} Maximum/300`,
      `errors AWS/Lambda Errors FunctionName=${handler} Sum/300`,
      'failed AsyncJobs DeadLettersFailed service="async-jobs" Sum/300',
    ]);
  });

  it('table-throttles fires when DynamoDB throttles reads or writes of the table or either index in two of three periods', () => {
    // Act
    const properties = alarmProperties('table-throttles');
    const { expression, metrics } = alarmMetrics('table-throttles');
    const table = `TableName=${JSON.stringify({ Ref: logicalIdOf(jobs.table) })}`;

    // Assess
    expect(properties).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3, DatapointsToAlarm: 2, TreatMissingData: 'notBreaching' });
    expect(expression.split(' + ').sort()).toEqual(['ownerreads', 'ownerwrites', 'reads', 'sweepreads', 'sweepwrites', 'writes'].map((id) => `FILL(${id}, 0)`));
    expect(metrics).toEqual([
      `ownerreads AWS/DynamoDB ReadThrottleEvents GlobalSecondaryIndexName="by-owner" ${table} Sum/300`,
      `ownerwrites AWS/DynamoDB WriteThrottleEvents GlobalSecondaryIndexName="by-owner" ${table} Sum/300`,
      `reads AWS/DynamoDB ReadThrottleEvents ${table} Sum/300`,
      `sweepreads AWS/DynamoDB ReadThrottleEvents GlobalSecondaryIndexName="sweep" ${table} Sum/300`,
      `sweepwrites AWS/DynamoDB WriteThrottleEvents GlobalSecondaryIndexName="sweep" ${table} Sum/300`,
      `writes AWS/DynamoDB WriteThrottleEvents ${table} Sum/300`,
    ]);
  });

  it('reconciler-not-running fires when the every-minute reconciler runs fewer than 3 times in each of two periods, no data included', () => {
    // Act
    const properties = alarmProperties('reconciler-not-running');

    // Assess
    expect(properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Statistic: 'Sum',
      Dimensions: [reconcilerDimension()],
      Threshold: 3,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      // A disabled schedule sends no data at all: that must alarm.
      TreatMissingData: 'breaching',
    });
  });

  it.each(EXPECTED_ALARMS)('%s fires on %s %s (%s) above %d over one period', (name, namespace, metricName, statistic, threshold, dimension) => {
    // Act
    const properties = alarmProperties(name);

    // Assess
    expect(properties).toMatchObject({
      Namespace: namespace,
      MetricName: metricName,
      Statistic: statistic,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      Period: config.alarms.periodSeconds,
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
      TreatMissingData: 'notBreaching',
      Dimensions: [dimension()],
    });
  });

  it('api-5xx-rate fires when more than 1% of requests in a period answer 5xx', () => {
    // Act
    const properties = alarmProperties('api-5xx-rate');
    const apiDimension = [{ Name: 'ApiId', Value: { Ref: logicalIdOf(jobs.api) } }];

    // Assess
    expect(config.alarms.api5xxRatePercent).toBe(1);
    expect(properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(properties.Metrics).toEqual([
      { Id: 'expr_1', Expression: 'IF(requests > 0, 100 * errors / requests, 0)', Label: 'API 5xx rate (%)', ReturnData: true },
      {
        Id: 'errors',
        MetricStat: { Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: apiDimension }, Period: 300, Stat: 'Sum' },
        ReturnData: false,
      },
      {
        Id: 'requests',
        MetricStat: { Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: apiDimension }, Period: 300, Stat: 'Sum' },
        ReturnData: false,
      },
    ]);
  });

  it.each([...EXPECTED_ALARMS.map(([name]) => name), ...OTHER_ALARMS])(
    '%s notifies the alarm topic when it fires and when it recovers, and links its runbook',
    (name) => {
      // Act
      const properties = alarmProperties(name);

      // Assess
      const topic = { Ref: logicalIdOf(jobs.monitoring.alarmTopic) };
      expect(properties.AlarmActions).toEqual([topic]);
      expect(properties.OKActions).toEqual([topic]);
      expect(properties.AlarmDescription).toContain(`Runbook: docs/security-and-operations.md#${name}`);
    },
  );

  it('lets a job wait its longest delay and every attempt with backoff before the queue-age alarm fires', () => {
    // Prepare
    const longestLegitimateWait =
      config.queue.maxDelaySeconds +
      config.jobs.maxAttempts * config.worker.timeoutSeconds +
      (config.jobs.maxAttempts - 1) * config.jobs.backoffCapSeconds;

    // Assess
    expect(config.alarms.oldestJobMessageAgeSeconds).toBeGreaterThan(longestLegitimateWait);
    expect(config.alarms.oldestJobMessageAgeSeconds).toBeLessThan(config.queue.retentionSeconds);
  });
});

describe('the alarm topic', () => {
  it('is encrypted with a rotating key CloudWatch may use', () => {
    // Act
    const key = resourceOf(template, jobs.monitoring.alarmTopicKey).Properties;
    const statements = (key?.KeyPolicy as { Statement: Record<string, unknown>[] } | undefined)?.Statement;

    // Assess
    expect(resourceOf(template, jobs.monitoring.alarmTopic).Properties).toMatchObject({
      KmsMasterKeyId: stack.resolve(jobs.monitoring.alarmTopicKey.keyArn),
    });
    expect(key).toMatchObject({ EnableKeyRotation: true });
    expect(statements).toContainEqual({
      Sid: 'CloudWatchAlarmsUseTheKey',
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
    });
  });

  it("refuses non-TLS publishing, and lets this account's alarms publish", () => {
    // Act
    const policies = resourcesOfType(template, 'AWS::SNS::TopicPolicy').filter((policy) =>
      JSON.stringify(policy.Properties?.Topics).includes(logicalIdOf(jobs.monitoring.alarmTopic)),
    );
    const statements = (policies[0]?.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)?.Statement;

    // Assess
    expect(policies).toHaveLength(1);
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Sid: 'ThisAccountsAlarmsPublish',
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: 'sns:Publish',
        Condition: {
          ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
          StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        },
      }),
    );
  });

  it('subscribes the address of the alarmEmail context value', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      TopicArn: { Ref: logicalIdOf(jobs.monitoring.alarmTopic) },
    });
  });

  it('has no subscription without the context value', () => {
    // Act
    const quiet = Template.fromStack(new AsyncJobsStack(unbundledApp(), 'Quiet'));

    // Assess
    quiet.resourceCountIs('AWS::SNS::Subscription', 1);
    quiet.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'sqs' });
  });

  it.each([
    ['no at sign', 'ops.example.com'],
    ['no domain', 'ops@'],
    ['a space', 'ops team@example.com'],
  ])('refuses an alarm email with %s, with an exact message', (_case, alarmEmail) => {
    // Act
    const error = errorOf(() => new AsyncJobsStack(unbundledApp({ alarmEmail }), 'Checked'));

    // Assess
    expect(error).toBe(`alarmEmail must be an email address; got "${alarmEmail}"`);
  });
});

describe('the dashboard', () => {
  interface Widget {
    readonly type: string;
    readonly properties: { readonly title?: string; readonly markdown?: string; readonly metrics?: unknown[][]; readonly alarms?: unknown[] };
  }
  let widgets: Widget[];

  beforeAll(() => {
    // The body is a Fn::Join of JSON text and references: write each reference as a readable placeholder.
    const body = resourceOf(template, jobs.monitoring.dashboard).Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
    const text = body['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : `<${JSON.stringify(part).replaceAll('"', "'")}>`))
      .join('');
    widgets = (JSON.parse(text) as { widgets: Widget[] }).widgets;
  });

  /** The metrics of the widget with this title, each as its namespace, name and dimensions joined by spaces. */
  function metricsOf(title: string): string[] {
    const widget = widgets.find((each) => each.properties.title === title);
    if (!widget) throw new Error(`no widget ${title}`);
    return (widget.properties.metrics ?? []).map((metric) => metric.filter((part) => typeof part === 'string').join(' '));
  }
  const ref = (construct: Parameters<typeof logicalIdOf>[0]) => `<{'Ref':'${logicalIdOf(construct)}'}>`;
  const queueName = (construct: Parameters<typeof logicalIdOf>[0]) => `<{'Fn::GetAtt':['${logicalIdOf(construct)}','QueueName']}>`;

  it('exists once, and has these widgets in this order', () => {
    // Assess
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(widgets.map((widget) => widget.properties.title ?? widget.type)).toEqual([
      'text',
      'Jobs submitted and how they ended',
      'Time in queue and job duration (ms)',
      'API requests',
      'Jobs queue',
      'Worker (process-jobs)',
      'Dead-letter queues',
      'Webhooks',
      'Alarms',
    ]);
  });

  it('shows the flow of jobs from the handlers’ metrics, in their namespace and service dimension', () => {
    // Prepare
    const custom = (name: string) => `AsyncJobs ${name} service async-jobs`;

    // Assess
    expect(config.metrics).toMatchObject({ namespace: 'AsyncJobs', service: 'async-jobs', serviceDimension: 'service' });
    expect(metricsOf('Jobs submitted and how they ended')).toEqual(
      ['JobsSubmitted', 'JobsSucceeded', 'JobsFailed', 'JobsCancelled'].map(custom),
    );
    expect(metricsOf('Time in queue and job duration (ms)')).toEqual(['TimeInQueue', 'TimeInQueue', 'JobDuration', 'JobDuration'].map(custom));
    expect(metricsOf('Webhooks')).toContain(custom('WebhookDeliveries'));
    expect(metricsOf('Webhooks')).toContain(custom('WebhookFailures'));
    expect(metricsOf('Webhooks')).toContain(custom('WebhooksDeadLettered'));
    expect(metricsOf('Dead-letter queues')).toContain(custom('DeadLettersFailed'));
    expect(Object.values(config.metrics.names).sort()).toEqual(
      [
        'JobsSubmitted',
        'JobsSucceeded',
        'JobsFailed',
        'JobsCancelled',
        'JobDuration',
        'TimeInQueue',
        'WebhookDeliveries',
        'WebhookFailures',
        'WebhooksDeadLettered',
        'DeadLettersFailed',
      ].sort(),
    );
  });

  it('shows the API, the jobs queue, the worker, the dead letters and the webhook queue', () => {
    // Prepare
    const worker = `FunctionName ${ref(jobs.functions['process-jobs'])}`;

    // Assess
    expect(metricsOf('API requests')).toEqual(['Count', '4xx', '5xx', 'Latency'].map((name) => `AWS/ApiGateway ${name} ApiId ${ref(jobs.api)}`));
    expect(metricsOf('Jobs queue')).toEqual(
      ['ApproximateNumberOfMessagesVisible', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateAgeOfOldestMessage'].map(
        (name) => `AWS/SQS ${name} QueueName ${queueName(jobs.queue)}`,
      ),
    );
    expect(metricsOf('Worker (process-jobs)')).toEqual(['Invocations', 'Errors', 'Throttles', 'Duration'].map((name) => `AWS/Lambda ${name} ${worker}`));
    expect(metricsOf('Dead-letter queues')).toEqual([
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${queueName(jobs.deadLetterQueue)}`,
      `AWS/SQS NumberOfMessagesReceived QueueName ${queueName(jobs.deadLetterQueue)}`,
      `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${queueName(jobs.webhookDeadLetterQueue)}`,
      'AsyncJobs DeadLettersFailed service async-jobs',
    ]);
    expect(metricsOf('Webhooks')).toEqual(
      expect.arrayContaining([
        `AWS/SQS ApproximateNumberOfMessagesVisible QueueName ${queueName(jobs.webhookQueue)}`,
        `AWS/SQS ApproximateAgeOfOldestMessage QueueName ${queueName(jobs.webhookQueue)}`,
      ]),
    );
  });

  it('shows the state of every alarm', () => {
    // Act
    const alarms = widgets.find((widget) => widget.properties.title === 'Alarms')?.properties.alarms;

    // Assess
    expect(alarms).toHaveLength(Object.keys(jobs.monitoring.alarms).length);
    for (const alarm of Object.values(jobs.monitoring.alarms)) {
      expect(alarms).toContain(`<{'Fn::GetAtt':['${logicalIdOf(alarm)}','Arn']}>`);
    }
  });
});
