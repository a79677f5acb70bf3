/**
 * The construct's props. The one stack synthesized here sets every prop and skips bundling
 * (context `aws:cdk:bundling-stacks`): only the template matters, and the bundles and the defaults
 * are checked in stack.test.ts.
 */
import { rmSync } from 'node:fs';
import { App, type CfnElement, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobs, type AsyncJobsProps } from '#infra/async-jobs';
import * as config from '#infra/config';
import { type FunctionName, functionNames, triggered } from '#infra/functions';
import { AsyncJobsStack } from '#infra/stack';

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

/** Timeouts of the functions other than the worker, which workerTimeout must not change. */
const EXPECTED_OTHER_TIMEOUTS: Readonly<Partial<Record<FunctionName, number>>> = {
  'submit-job': config.api.timeoutSeconds,
  'get-job': config.api.timeoutSeconds,
  'get-openapi': config.api.timeoutSeconds,
  'list-jobs': config.api.timeoutSeconds,
  'cancel-job': config.api.timeoutSeconds,
  'route-fallback': config.api.timeoutSeconds,
  'on-dead-letter': config.api.timeoutSeconds,
  'reconcile-jobs': config.reconciler.timeoutSeconds,
  'deliver-webhooks': config.webhooks.timeoutSeconds,
};

/** Output directories of the apps made here; each is a temporary directory of its own. */
const outdirs: string[] = [];
afterAll(() => {
  for (const outdir of outdirs) rmSync(outdir, { recursive: true, force: true });
});

/** An app that does not bundle the functions. */
function unbundledApp(): App {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  outdirs.push(app.outdir);
  return app;
}

/** Builds the construct in a throwaway stack and returns the message it throws, if any. */
function errorOf(props: AsyncJobsProps): string | undefined {
  try {
    new AsyncJobs(new Stack(unbundledApp(), 'Checked'), 'async-jobs', props);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return undefined;
}

describe('with every prop set', () => {
  let stack: AsyncJobsStack;
  let template: Template;

  beforeAll(() => {
    stack = new AsyncJobsStack(unbundledApp(), 'Test', {
      asyncJobs: {
        workerTimeout: Duration.minutes(5),
        defaultJobTimeout: Duration.minutes(4),
        tableRemovalPolicy: RemovalPolicy.DESTROY,
        logRetention: RetentionDays.ONE_WEEK,
        workerMaxConcurrency: 200,
        webhookMaxConcurrency: 20,
      },
    });
    template = Template.fromStack(stack);
  }, 60_000);

  function resourceOf(construct: IConstruct): CfnResource {
    const logicalId = stack.getLogicalId(construct.node.defaultChild as CfnElement);
    const found = (template.toJSON().Resources as Record<string, CfnResource>)[logicalId];
    if (!found) throw new Error(`no resource ${logicalId}`);
    return found;
  }

  it('gives the worker the timeout and keeps the other functions at theirs', () => {
    // Act
    const timeouts = Object.fromEntries(functionNames.map((name) => [name, resourceOf(stack.asyncJobs.functions[name]).Properties?.Timeout]));

    // Assess
    const worker = triggered('jobs-queue');
    expect(timeouts[worker]).toBe(300);
    for (const name of functionNames.filter((other) => other !== worker)) expect(timeouts[name], name).toBe(EXPECTED_OTHER_TIMEOUTS[name]);
  });

  it('stretches the queue visibility timeout to six worker timeouts plus the batching window', () => {
    // Act
    const queue = resourceOf(stack.asyncJobs.queue);

    // Assess
    expect(queue.Properties?.VisibilityTimeout).toBe(6 * 300 + config.worker.maxBatchingWindowSeconds);
    expect(queue.Properties?.VisibilityTimeout).toBe(1800);
  });

  it('lets submitted jobs ask for as long as the longer worker timeout allows, and run for the default asked for when they name none', () => {
    // Act
    const environments = (['submit-job', 'get-openapi'] as const).map((name) => resourceOf(stack.asyncJobs.functions[name]).Properties?.Environment);

    // Assess (get-openapi's document states both)
    for (const environment of environments) {
      expect(environment).toMatchObject({
        Variables: { MAX_JOB_TIMEOUT_SECONDS: String(300 - Math.ceil(config.worker.shutdownMarginMs / 1000)), DEFAULT_JOB_TIMEOUT_SECONDS: '240' },
      });
    }
  });

  it('lets a job wait as long as the longer timeout allows before the queue-age alarm fires', () => {
    // Act
    const threshold = resourceOf(stack.asyncJobs.monitoring.alarms['jobs-queue-age']).Properties?.Threshold;

    // Assess: 900 s of delay + 4 attempts of 300 s + 3 backoffs of 120 s = 2,460 s, in whole 5 minutes
    expect(config.queue.maxDelaySeconds + config.jobs.maxAttempts * 300 + (config.jobs.maxAttempts - 1) * config.jobs.backoffCapSeconds).toBe(2_460);
    expect(threshold).toBe(2_700);
  });

  it('caps the worker and the webhook deliverer at the concurrency asked for', () => {
    // Act
    const caps = Object.fromEntries(
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping') as Record<string, CfnResource>).map((mapping) => [
        JSON.stringify(mapping.Properties?.FunctionName),
        mapping.Properties?.ScalingConfig,
      ]),
    );
    const ref = (name: FunctionName) => JSON.stringify({ Ref: stack.getLogicalId(stack.asyncJobs.functions[name].node.defaultChild as CfnElement) });

    // Assess
    expect(caps).toEqual({
      [ref('process-jobs')]: { MaximumConcurrency: 200 },
      [ref('deliver-webhooks')]: { MaximumConcurrency: 20 },
      [ref('on-dead-letter')]: { MaximumConcurrency: config.worker.deadLetterMaxConcurrency },
    });
  });

  it('deletes the table, and the idempotency secret with it, when the stack goes', () => {
    // Assess
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    template.hasResource('AWS::SecretsManager::Secret', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
  });

  it('keeps the logs as long as asked: each function’s and the API’s access log', () => {
    // Act
    const retention = Object.values(template.findResources('AWS::Logs::LogGroup') as Record<string, CfnResource>).map(
      (logGroup) => logGroup.Properties?.RetentionInDays,
    );

    // Assess
    expect(resourceOf(stack.asyncJobs.accessLogs).Properties?.RetentionInDays).toBe(7);
    expect(retention).toEqual([...functionNames, 'access log'].map(() => 7));
  });
});

describe('concurrency limits', () => {
  it.each<[string, AsyncJobsProps, string]>([
    ['a worker cap of 1', { workerMaxConcurrency: 1 }, "workerMaxConcurrency must be a whole number from 2 to 1000 (the SQS event source's limits); got 1"],
    ['a worker cap of 1001', { workerMaxConcurrency: 1001 }, "workerMaxConcurrency must be a whole number from 2 to 1000 (the SQS event source's limits); got 1001"],
    ['a fractional webhook cap', { webhookMaxConcurrency: 2.5 }, "webhookMaxConcurrency must be a whole number from 2 to 1000 (the SQS event source's limits); got 2.5"],
    ['a webhook cap of NaN', { webhookMaxConcurrency: Number.NaN }, "webhookMaxConcurrency must be a whole number from 2 to 1000 (the SQS event source's limits); got NaN"],
  ])('refuses %s with an exact message', (_, props, message) => {
    // Act
    const error = errorOf(props);

    // Assess
    expect(error).toBe(message);
  });

  it.each([2, 1000])('accepts %i', (cap) => {
    // Act
    const error = errorOf({ workerMaxConcurrency: cap, webhookMaxConcurrency: cap });

    // Assess
    expect(error).toBeUndefined();
  });
});

describe('workerTimeout limits', () => {
  it.each<[string, Duration, string]>([
    ['16 minutes', Duration.minutes(16), "workerTimeout must be at most 15 minutes (Lambda's limit); got 16 minutes"],
    ['901 seconds', Duration.seconds(901), "workerTimeout must be at most 15 minutes (Lambda's limit); got 15 minutes 1 second"],
    ['an hour', Duration.hours(1), "workerTimeout must be at most 15 minutes (Lambda's limit); got 1 hour"],
    [
      'the shutdown margin itself',
      Duration.millis(config.worker.shutdownMarginMs),
      `workerTimeout must be longer than the worker's shutdown margin of ${config.worker.shutdownMarginMs} ms`,
    ],
    ['one second', Duration.seconds(1), `workerTimeout must be longer than the worker's shutdown margin of ${config.worker.shutdownMarginMs} ms`],
  ])('refuses %s with an exact message', (_, workerTimeout, message) => {
    // Act
    const error = errorOf({ workerTimeout });

    // Assess
    expect(error).toBe(message);
  });

  it.each<[string, Duration]>([
    ['exactly 15 minutes', Duration.minutes(15)],
    ['just over the shutdown margin', Duration.seconds(Math.floor(config.worker.shutdownMarginMs / 1000) + 1)],
  ])('accepts %s', (_, workerTimeout) => {
    // Act
    const error = errorOf({ workerTimeout });

    // Assess
    expect(error).toBeUndefined();
  });
});

describe('defaultJobTimeout', () => {
  const max = config.worker.timeoutSeconds - Math.ceil(config.worker.shutdownMarginMs / 1000);
  it.each<[string, Duration]>([
    ['longer than the worker allows', Duration.seconds(max + 1)],
    ['zero', Duration.seconds(0)],
    ['not whole seconds', Duration.millis(1500)],
  ])('refuses one %s with an exact message', (_case, defaultJobTimeout) => {
    // Act / Assess
    expect(errorOf({ defaultJobTimeout })).toBe(
      `defaultJobTimeout must be whole seconds from 1 to ${max} (the workerTimeout less ${Math.ceil(config.worker.shutdownMarginMs / 1000)} s to record the end); got ${defaultJobTimeout.toSeconds({ integral: false })} s`,
    );
  });

  it('is 60 s unless set, and a short workerTimeout caps it', () => {
    // Act
    const variable = (props: AsyncJobsProps) => {
      const stack = new Stack(unbundledApp(), 'Defaults');
      const jobs = new AsyncJobs(stack, 'jobs', props);
      const logicalId = stack.getLogicalId(jobs.functions['submit-job'].node.defaultChild as CfnElement);
      const resource = (Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>)[logicalId];
      const environment = resource?.Properties?.Environment as { Variables?: Record<string, string> } | undefined;
      return environment?.Variables?.DEFAULT_JOB_TIMEOUT_SECONDS;
    };

    // Assess
    expect(variable({})).toBe(String(config.jobs.defaultTimeoutSeconds));
    expect(variable({ workerTimeout: Duration.seconds(30) })).toBe(String(30 - Math.ceil(config.worker.shutdownMarginMs / 1000)));
  });
});

describe('props from JavaScript or a JSON config', () => {
  it.each<[string, AsyncJobsProps, string]>([
    ['tracing as a string', { tracing: 'false' } as unknown as AsyncJobsProps, 'tracing must be true or false; got "false"'],
    ['sourceMaps as a number', { sourceMaps: 0 } as unknown as AsyncJobsProps, 'sourceMaps must be true or false; got 0'],
    [
      'a SNAPSHOT removal policy',
      { tableRemovalPolicy: RemovalPolicy.SNAPSHOT },
      'tableRemovalPolicy must be RETAIN, RETAIN_ON_UPDATE_OR_DELETE or DESTROY; SNAPSHOT applies to neither the table nor its secrets',
    ],
  ])('refuses %s at synth, rather than deploy something else', (_case, props, message) => {
    // Act / Assess
    expect(errorOf(props)).toBe(message);
  });
});

describe('corsOrigins', () => {
  function apiOf(stack: Stack): Record<string, unknown> {
    const [api] = Object.values(Template.fromStack(stack).findResources('AWS::ApiGatewayV2::Api')) as CfnResource[];
    return api?.Properties ?? {};
  }

  it('lets those origins call the API: preflights answered, and Location, Retry-After, Idempotent-Replayed and ETag readable', () => {
    // Act
    const stack = new Stack(unbundledApp(), 'Cors');
    new AsyncJobs(stack, 'async-jobs', { corsOrigins: ['https://app.example.com'] });

    // Assess
    expect(apiOf(stack).CorsConfiguration).toEqual({
      AllowOrigins: ['https://app.example.com'],
      AllowMethods: ['GET', 'POST', 'DELETE'],
      AllowHeaders: [...config.cors.allowHeaders],
      ExposeHeaders: ['etag', 'idempotent-replayed', 'location', 'retry-after'],
      MaxAge: 3600,
    });
  });

  it('gives preflights an OPTIONS route without authorization, which the $default route’s authorizer would refuse', () => {
    // Act
    const stack = new Stack(unbundledApp(), 'CorsRoutes');
    new AsyncJobs(stack, 'async-jobs', { corsOrigins: ['https://app.example.com'] });
    const plain = new Stack(unbundledApp(), 'PlainRoutes');
    new AsyncJobs(plain, 'async-jobs', {});
    const routesOf = (of: Stack) =>
      (Object.values(Template.fromStack(of).findResources('AWS::ApiGatewayV2::Route')) as CfnResource[]).map(
        (route) => `${String(route.Properties?.RouteKey)} ${String(route.Properties?.AuthorizationType)}`,
      );

    // Assess
    expect(routesOf(stack)).toContain('OPTIONS /{proxy+} NONE');
    expect(routesOf(stack)).toContain('$default AWS_IAM');
    expect(routesOf(plain).filter((route) => route.startsWith('OPTIONS'))).toEqual([]);
  });

  it('leaves CORS off by default, and takes the origins from the context (-c corsOrigins=…)', () => {
    // Act
    const plain = new Stack(unbundledApp(), 'NoCors');
    new AsyncJobs(plain, 'async-jobs', {});
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], corsOrigins: 'https://a.example.com, https://b.example.com' } });
    outdirs.push(app.outdir);
    const fromContext = new AsyncJobsStack(app, 'FromContext');

    // Assess
    expect(apiOf(plain).CorsConfiguration).toBeUndefined();
    expect((apiOf(fromContext).CorsConfiguration as { AllowOrigins?: string[] }).AllowOrigins).toEqual(['https://a.example.com', 'https://b.example.com']);
  });

  it.each(['https://app.example.com/', 'app.example.com', 'https://app.example.com/path'])('refuses the origin %s at synth', (origin) => {
    expect(errorOf({ corsOrigins: [origin] })).toContain('corsOrigins must be');
  });
});
