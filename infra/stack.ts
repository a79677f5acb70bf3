import { type App, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { AsyncJobs, type AsyncJobsAuth, type AsyncJobsProps } from './async-jobs.ts';
import { sourceMapsFromContext, tracingFromContext } from './bundling.ts';

/** Properties of {@link AsyncJobsStack}. */
export interface AsyncJobsStackProps extends StackProps {
  /**
   * Passed to the {@link AsyncJobs} construct; a prop set here wins over the context values the stack reads.
   * @default {} with `auth` and `alarmEmail` from the context (see {@link propsFromContext})
   */
  readonly asyncJobs?: AsyncJobsProps;
}

/**
 * The construct's props that `cdk deploy -c name=value` can set:
 * - `alarmEmail=ops@example.com` subscribes an address to the alarm topic;
 * - `auth=iam` (the default), `auth=none`, or `auth=jwt` with `jwtIssuer=https://…` and
 *   `jwtAudience=client-a,client-b` (comma-separated);
 * - `tracing=false` turns X-Ray tracing off (it is on by default);
 * - `sourceMaps=false` deploys the functions without source maps (they are on by default);
 * - `corsOrigins=https://app.example.com,https://admin.example.com` lets those browser origins call the API.
 */
export function propsFromContext(scope: Construct): AsyncJobsProps {
  const context = (key: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(key);
    return value === undefined || value === null ? undefined : String(value);
  };
  const alarmEmail = context('alarmEmail');
  const type = context('auth');
  let auth: AsyncJobsAuth | undefined;
  if (type === 'jwt') {
    const audience = (context('jwtAudience') ?? '').split(',').map((each) => each.trim());
    auth = { type, issuer: context('jwtIssuer') ?? '', audience: audience.filter((each) => each !== '') };
  } else if (type === 'iam' || type === 'none') {
    auth = { type };
  } else if (type !== undefined) {
    throw new Error(`context auth must be 'iam', 'jwt' or 'none'; got "${type}"`);
  }
  // A JWT setting without auth=jwt would deploy an API that ignores it: say so rather than deploy it.
  for (const key of ['jwtIssuer', 'jwtAudience']) {
    if (type !== 'jwt' && context(key) !== undefined) throw new Error(`context ${key} is only read with auth=jwt (-c auth=jwt); auth is ${type ?? 'iam, the default'}`);
  }
  const tracing = tracingFromContext(context('tracing'));
  const sourceMaps = sourceMapsFromContext(context('sourceMaps'));
  const corsOrigins = (context('corsOrigins') ?? '').split(',').map((each) => each.trim()).filter((each) => each !== '');
  return {
    ...(auth && { auth }),
    ...(alarmEmail !== undefined && { alarmEmail }),
    ...(tracing !== undefined && { tracing }),
    ...(sourceMaps !== undefined && { sourceMaps }),
    ...(corsOrigins.length > 0 && { corsOrigins }),
  };
}

/** A thin stack: the {@link AsyncJobs} construct and the outputs a caller needs. */
export class AsyncJobsStack extends Stack {
  public readonly asyncJobs: AsyncJobs;

  constructor(scope: Construct, id: string, props: AsyncJobsStackProps = {}) {
    super(scope, id, props);
    this.asyncJobs = new AsyncJobs(this, 'async-jobs', { ...propsFromContext(this), ...props.asyncJobs });
    if (this.asyncJobs.auth.type === 'none') {
      Validations.of(this.asyncJobs.api).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: "auth type 'none' was chosen for this deployment (-c auth=none or asyncJobs.auth): anyone may call the API; for demos only.",
      });
    }
    new CfnOutput(this, 'ApiUrl', { value: this.asyncJobs.api.apiEndpoint, description: 'Base URL of the jobs API' });
    new CfnOutput(this, 'TopicArn', { value: this.asyncJobs.topic.topicArn, description: 'SNS topic of completion events' });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.asyncJobs.monitoring.alarmTopic.topicArn,
      description: 'SNS topic the alarms notify; subscribe your pager to it',
    });
    new CfnOutput(this, 'WebhookSigningSecretArn', {
      value: this.asyncJobs.signingSecret.secretArn,
      description: 'Secrets Manager secret that signs webhooks; receivers use whsec_ + the value base64-decoded and encoded again (README)',
    });
    new CfnOutput(this, 'DashboardName', {
      value: this.asyncJobs.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of the flow of jobs',
    });
    new CfnOutput(this, 'ApiId', { value: this.asyncJobs.api.apiId, description: 'HTTP API id, for execute-api:Invoke grants made outside CDK' });
    new CfnOutput(this, 'JobsTableName', { value: this.asyncJobs.table.tableName, description: 'DynamoDB table of job records' });
    new CfnOutput(this, 'DeadLetterQueueArn', {
      value: this.asyncJobs.deadLetterQueue.queueArn,
      description: 'Dead-letter queue of the jobs queue (on-dead-letter ends its jobs FAILED)',
    });
    new CfnOutput(this, 'WebhookDeadLetterQueueArn', {
      value: this.asyncJobs.webhookDeadLetterQueue.queueArn,
      description: 'Webhook deliveries that failed for good; redrive with aws sqs start-message-move-task --source-arn <this>',
    });
  }
}

/**
 * Runs cdk-nag's AWS Solutions checks on every stack of `app` when it is synthesized: an unacknowledged
 * error fails the synth, and every finding is in the assembly's validation report. Acknowledgments,
 * each with its reason, sit next to the resources they concern (infra/async-jobs.ts).
 */
export function addSecurityChecks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
}
