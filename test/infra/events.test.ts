/**
 * The completion topic and the webhook path in the template: encryption, TLS, who may publish, the
 * webhook queue's subscription and redrive, and the construct's one-line subscribe with a filter.
 */
import { rmSync } from 'node:fs';
import { App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxAttempts } from '#core/webhooks';
import { AsyncJobs } from '#infra/async-jobs';
import * as config from '#infra/config';

let app: App;
let stack: Stack;
let jobs: AsyncJobs;
let template: Template;

beforeAll(() => {
  // Only the template matters here: skip bundling.
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  stack = new Stack(app, 'Events');
  jobs = new AsyncJobs(stack, 'async-jobs');
  jobs.subscribe(new Queue(stack, 'failures'), { types: ['job.failed'], jobTypes: ['resize-image'] });
  jobs.subscribe({ email: 'ops@example.com' }, { statuses: ['FAILED', 'CANCELLED'] });
  jobs.subscribe({ url: 'https://hooks.example.com/jobs' });
  template = Template.fromStack(stack);
}, 60_000);
afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

const ref = (construct: IConstruct) => ({ Ref: stack.getLogicalId(construct.node.defaultChild as CfnElement) });

describe('the completion topic', () => {
  it('is encrypted with a rotating customer key', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: stack.resolve(jobs.topicKey.keyArn) });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('deletes its keys (the topic’s and the alarm topic’s) with the stack, after KMS’s shortest wait, rather than bill for them forever', () => {
    // Act
    const keys = Object.values(template.findResources('AWS::KMS::Key')) as { DeletionPolicy?: string; Properties: { PendingWindowInDays?: number } }[];
    // Assess
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) expect({ deletion: key.DeletionPolicy, window: key.Properties.PendingWindowInDays }).toEqual({ deletion: 'Delete', window: 7 });
  });

  it('refuses non-TLS publishing and any publisher but the worker and the dead-letter handler', () => {
    // Act
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy')).flatMap(
      (policy) => (policy as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } }).Properties.PolicyDocument.Statement,
    );
    const onlyWorkers = statements.find((statement) => statement.Sid === 'OnlyTheWorkersPublish');
    // Assess
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(onlyWorkers).toMatchObject({ Effect: 'Deny', Action: 'sns:Publish', Principal: { AWS: '*' } });
    const condition = onlyWorkers?.Condition as { ArnNotEquals: { 'aws:PrincipalArn': unknown[] } } | undefined;
    const allowed = condition?.ArnNotEquals['aws:PrincipalArn'];
    expect(allowed).toEqual([
      stack.resolve(jobs.functions['process-jobs'].role?.roleArn),
      stack.resolve(jobs.functions['on-dead-letter'].role?.roleArn),
    ]);
  });
});

describe('the webhook path', () => {
  it('subscribes the webhook queue with raw delivery to the events of jobs with a callback only', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: stack.resolve(jobs.webhookQueue.queueArn),
      RawMessageDelivery: true,
      FilterPolicy: { callback: ['true'] },
    });
  });

  it('moves a delivery to the webhook DLQ after the last attempt of the schedule', () => {
    // Act
    const queue = template.toJSON().Resources[ref(jobs.webhookQueue).Ref];
    // Assess
    expect(queue.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: stack.resolve(jobs.webhookDeadLetterQueue.queueArn),
      maxReceiveCount: maxAttempts(config.webhooks.retryScheduleSeconds),
    });
    expect(config.webhooks.retryScheduleSeconds.every((seconds) => seconds <= 12 * 3600)).toBe(true);
    // Kept as long as the schedule can take (webhooks.test.ts adds it up).
    expect(queue.Properties.MessageRetentionPeriod).toBe(config.webhooks.queueRetentionSeconds);
  });

  it('creates the signing secret the deliverer reads', () => {
    // Assess
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('Standard Webhooks signing secret'),
      // 43 letters and digits, which receivers take base64-decoded and encoded again (README); changing this would also
      // make CloudFormation generate a new value for every deployed stack, breaking its receivers.
      GenerateSecretString: { PasswordLength: 43, ExcludePunctuation: true },
    });
  });
});

describe('subscribe()', () => {
  it.each([
    ['a queue (raw delivery), filtered by event and job type', 'sqs', { type: ['job.failed'], jobType: ['resize-image'] }, true],
    ['an email address, filtered by status', 'email', { status: ['FAILED', 'CANCELLED'] }, undefined],
    ['an HTTPS endpoint, unfiltered', 'https', undefined, undefined],
  ])('subscribes %s in one line', (_case, protocol, filterPolicy, raw) => {
    // Act
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription', { Properties: { Protocol: protocol } }));
    const properties = (subscriptions.at(-1) as { Properties: Record<string, unknown> }).Properties;
    // Assess
    expect(properties.TopicArn).toEqual(ref(jobs.topic));
    expect(properties.FilterPolicy).toEqual(filterPolicy);
    expect(properties.RawMessageDelivery).toBe(raw);
  });
});
