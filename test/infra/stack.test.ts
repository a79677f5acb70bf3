/**
 * Template assertions on the default stack. Synthesis bundles every function with esbuild, so the
 * stack is synthesized once for the whole file.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { HttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AsyncJobs } from '#infra/async-jobs';
import { bundleDefines } from '#infra/bundling';
import * as config from '#infra/config';
import {
  type FunctionName,
  type FunctionSpec,
  type ResourceKind,
  fallbackFunction,
  functionNames,
  functionSpecs,
  maxJobTimeoutSeconds,
  resourceEnv,
  routes,
  triggered,
} from '#infra/functions';
import { AsyncJobsStack } from '#infra/stack';
import { assetDirectoryOf } from './support.ts';

/** A CloudFormation resource as the template holds it. */
interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
}

interface PolicyStatementJson {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

/**
 * What a grant can target: the bound resources, the key of the encrypted topic (for publishers), the
 * function's own log group, and X-Ray (whose actions take no resource: `*`).
 */
type GrantTarget = ResourceKind | 'topicKey' | 'logGroup' | 'xray';
type Grants = Readonly<Partial<Record<GrantTarget, readonly string[]>>>;

/** Written out by hand, so that adding or removing a function is a visible change here. */
const EXPECTED_FUNCTIONS: readonly FunctionName[] = [
  'cancel-job',
  'deliver-webhooks',
  'get-job',
  'get-openapi',
  'list-jobs',
  'on-dead-letter',
  'process-jobs',
  'reconcile-jobs',
  'route-fallback',
  'submit-job',
];

/** Memory and timeout of each function, straight from infra/config.ts. */
const apiSizing = { memoryMb: config.api.memoryMb, timeoutSeconds: config.api.timeoutSeconds };
const EXPECTED_SIZING: Readonly<Record<FunctionName, { memoryMb: number; timeoutSeconds: number }>> = {
  'submit-job': apiSizing,
  'get-job': apiSizing,
  'get-openapi': apiSizing,
  'list-jobs': apiSizing,
  'cancel-job': apiSizing,
  'route-fallback': apiSizing,
  'on-dead-letter': apiSizing,
  'process-jobs': { memoryMb: config.worker.memoryMb, timeoutSeconds: config.worker.timeoutSeconds },
  'reconcile-jobs': { memoryMb: config.reconciler.memoryMb, timeoutSeconds: config.reconciler.timeoutSeconds },
  'deliver-webhooks': { memoryMb: config.webhooks.memoryMb, timeoutSeconds: config.webhooks.timeoutSeconds },
};

/** Written out by hand, as above: the variables of each function. */
const EXPECTED_ENVIRONMENT: Readonly<Record<FunctionName, readonly string[]>> = {
  'submit-job': ['DEFAULT_JOB_TIMEOUT_SECONDS', 'IDEMPOTENCY_SECRET', 'MAX_JOB_TIMEOUT_SECONDS', 'NODE_OPTIONS', 'QUEUE_URL', 'TABLE_NAME', 'WEBHOOK_MODE'],
  'get-job': ['NODE_OPTIONS', 'TABLE_NAME'],
  'get-openapi': ['DEFAULT_JOB_TIMEOUT_SECONDS', 'MAX_JOB_TIMEOUT_SECONDS', 'NODE_OPTIONS'],
  'list-jobs': ['NODE_OPTIONS', 'TABLE_NAME'],
  'cancel-job': ['NODE_OPTIONS', 'QUEUE_URL', 'TABLE_NAME'],
  'route-fallback': ['NODE_OPTIONS'],
  'process-jobs': ['NODE_OPTIONS', 'QUEUE_URL', 'TABLE_NAME', 'TOPIC_ARN'],
  'on-dead-letter': ['NODE_OPTIONS', 'TABLE_NAME', 'TOPIC_ARN'],
  'reconcile-jobs': ['NODE_OPTIONS', 'QUEUE_URL', 'TABLE_NAME'],
  'deliver-webhooks': ['NODE_OPTIONS', 'TABLE_NAME', 'WEBHOOK_MODE', 'WEBHOOK_QUEUE_URL', 'WEBHOOK_RETRY_SCHEDULE', 'WEBHOOK_SECRET_ID'],
};

/** What an SQS event source mapping grants its function (CDK's `grantConsumeMessages`). */
const SQS_CONSUME_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

/** The queue each event source mapping reads. */
const CONSUMED: Readonly<Partial<Record<FunctionName, ResourceKind>>> = {
  'process-jobs': 'queue',
  'on-dead-letter': 'deadLetterQueue',
  'deliver-webhooks': 'webhookQueue',
};

/** What every function's role allows to run at all: write its own log group, and send traces (Tracing.ACTIVE). */
const RUNTIME_GRANTS = {
  logGroup: ['logs:CreateLogStream', 'logs:PutLogEvents'],
  xray: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
} as const satisfies Grants;

/** Written out by hand, as above: every action each function may perform, per resource, event sources included. */
const EXPECTED_GRANTS: Readonly<Record<FunctionName, Grants>> = {
  'submit-job': { ...RUNTIME_GRANTS, table: ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], queue: ['sqs:SendMessage'] },
  'get-job': { ...RUNTIME_GRANTS, table: ['dynamodb:GetItem'] },
  'get-openapi': { ...RUNTIME_GRANTS },
  'list-jobs': { ...RUNTIME_GRANTS, table: ['dynamodb:BatchGetItem'], ownerIndex: ['dynamodb:Query'] },
  'cancel-job': { ...RUNTIME_GRANTS, table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], queue: ['sqs:SendMessage'] },
  'route-fallback': { ...RUNTIME_GRANTS },
  'process-jobs': {
    ...RUNTIME_GRANTS,
    table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    queue: SQS_CONSUME_ACTIONS,
    topic: ['sns:Publish'],
    topicKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
  },
  'on-dead-letter': {
    ...RUNTIME_GRANTS,
    table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    deadLetterQueue: SQS_CONSUME_ACTIONS,
    topic: ['sns:Publish'],
    topicKey: ['kms:Decrypt', 'kms:GenerateDataKey'],
  },
  'reconcile-jobs': {
    ...RUNTIME_GRANTS,
    table: ['dynamodb:UpdateItem'],
    sweepIndex: ['dynamodb:Query'],
    queue: ['sqs:SendMessage'],
  },
  'deliver-webhooks': {
    ...RUNTIME_GRANTS,
    table: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    webhookQueue: SQS_CONSUME_ACTIONS,
    signingSecret: ['secretsmanager:GetSecretValue'],
  },
};

let app: App;
let stack: AsyncJobsStack;
let jobs: AsyncJobs;
let template: Template;
let assemblyDirectory: string;

beforeAll(() => {
  app = new App();
  stack = new AsyncJobsStack(app, 'Test');
  jobs = stack.asyncJobs;
  template = Template.fromStack(stack);
  // The assembly Template.fromStack synthesized (the stage caches it), with the bundled assets.
  assemblyDirectory = app.synth().directory;
}, 180_000);

// The assembly is a temporary directory of its own (megabytes of bundles).
afterAll(() => rmSync(app.outdir, { recursive: true, force: true }));

function logicalIdOf(construct: IConstruct): string {
  const child = construct.node.defaultChild;
  if (!child) throw new Error(`${construct.node.path} has no CloudFormation resource`);
  return Stack.of(construct).getLogicalId(child as CfnElement);
}

function resource(logicalId: string): CfnResource {
  const found = (template.toJSON().Resources as Record<string, CfnResource>)[logicalId];
  if (!found) throw new Error(`no resource ${logicalId} in the template`);
  return found;
}

function resourcesOfType(type: string): CfnResource[] {
  return Object.values(template.findResources(type) as Record<string, CfnResource>);
}

function functionProperties(name: FunctionName): Record<string, unknown> {
  return resource(logicalIdOf(jobs.functions[name])).Properties ?? {};
}

function environmentOf(name: FunctionName): Record<string, unknown> {
  const environment = functionProperties(name).Environment as { Variables?: Record<string, unknown> } | undefined;
  return environment?.Variables ?? {};
}

/** ARNs of each resource kind a function's grant targets, as CloudFormation sees them. */
function arnsOf(kind: GrantTarget, name: FunctionName): unknown[] {
  const arns: Record<GrantTarget, string[]> = {
    table: [jobs.table.tableArn],
    // Each index by name, and only the one the function reads: no index/* wildcard.
    ownerIndex: [`${jobs.table.tableArn}/index/${config.names.ownerIndex}`],
    sweepIndex: [`${jobs.table.tableArn}/index/${config.names.sweepIndex}`],
    queue: [jobs.queue.queueArn],
    deadLetterQueue: [jobs.deadLetterQueue.queueArn],
    topic: [jobs.topic.topicArn],
    webhookQueue: [jobs.webhookQueue.queueArn],
    signingSecret: [jobs.signingSecret.secretArn],
    topicKey: [jobs.topicKey.keyArn],
    logGroup: [jobs.functions[name].logGroup.logGroupArn],
    xray: ['*'],
  };
  return arns[kind].map((arn) => stack.resolve(arn));
}

/** Every distinct "action on resource" pair the inline policies of a function's role allow. */
function grantsInTemplate(name: FunctionName): string[] {
  const role = jobs.functions[name].role;
  if (!role) throw new Error(`${name} has no role`);
  const roleRef = JSON.stringify({ Ref: logicalIdOf(role) });
  const grants = new Set<string>();
  for (const policy of resourcesOfType('AWS::IAM::Policy')) {
    if (!JSON.stringify(policy.Properties?.Roles).includes(roleRef)) continue;
    const document = policy.Properties?.PolicyDocument as { Statement: PolicyStatementJson[] };
    for (const statement of document.Statement) {
      // Only plain Allow statements: a Deny, NotAction, NotResource or Condition would need its own test.
      expect(Object.keys(statement).sort()).toEqual(['Action', 'Effect', 'Resource']);
      expect(statement.Effect).toBe('Allow');
      const targets = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
      for (const action of ([] as string[]).concat(statement.Action)) {
        for (const target of targets) grants.add(`${action} on ${JSON.stringify(target)}`);
      }
    }
  }
  return [...grants].sort();
}

function grantsFrom(declared: Grants, name: FunctionName): string[] {
  const pairs = (Object.entries(declared) as [GrantTarget, readonly string[]][]).flatMap(([kind, actions]) =>
    actions.flatMap((action) => arnsOf(kind, name).map((arn) => `${action} on ${JSON.stringify(arn)}`)),
  );
  return [...new Set(pairs)].sort();
}

/** The declared grants plus those of the function's event source mapping, and those every function has. */
function declaredGrants(name: FunctionName): Grants {
  const grants: Partial<Record<GrantTarget, string[]>> = { logGroup: [...RUNTIME_GRANTS.logGroup], xray: [...RUNTIME_GRANTS.xray] };
  for (const [kind, actions] of Object.entries((functionSpecs[name] as FunctionSpec).uses) as [ResourceKind, readonly string[]][]) {
    if (actions.length > 0) grants[kind] = [...actions];
  }
  const consumed = CONSUMED[name];
  if (consumed) grants[consumed] = [...new Set([...(grants[consumed] ?? []), ...SQS_CONSUME_ACTIONS])];
  if (grants.topic?.includes('sns:Publish')) grants.topicKey = ['kms:Decrypt', 'kms:GenerateDataKey'];
  for (const kind of Object.keys(grants) as GrantTarget[]) grants[kind]?.sort();
  return grants;
}

/** The bundle directory of a function. */
function assetDirectory(name: FunctionName): string {
  return assetDirectoryOf(template, stack.asyncJobs.functions[name], assemblyDirectory);
}

interface SourceMap {
  readonly sources: string[];
  readonly sourcesContent?: (string | null)[];
}

function sourceMapOf(name: FunctionName): SourceMap {
  return JSON.parse(readFileSync(path.join(assetDirectory(name), 'index.mjs.map'), 'utf8')) as SourceMap;
}

/**
 * Variables the stack does not set: those esbuild replaces with constants when it bundles (never read at
 * run time), and those Lambda sets in every environment.
 */
const NOT_SET_BY_THE_STACK = [...Object.keys(bundleDefines({ tracing: true })).map((key) => key.replace(/^process\.env\./, '')), '_HANDLER'];

/** The project's root: a deployed map names its sources from there (scripts/stable-source-maps.cjs). */
const projectRoot = path.resolve(import.meta.dirname, '../..');

/**
 * Variables the project code bundled into a function reads, found in the project files its source
 * map names (maps name the sources, relative to the project root, without their text).
 */
function variablesReadBy(name: FunctionName): string[] {
  const map = sourceMapOf(name);
  const variables = new Set<string>();
  for (const source of map.sources) {
    if (source.includes('node_modules/')) continue;
    const text = readFileSync(path.resolve(projectRoot, source), 'utf8');
    for (const match of text.matchAll(/requiredEnv\(\s*'([A-Z0-9_]+)'\s*\)|process\.env\.([A-Z0-9_]+)/g)) {
      const variable = match[1] ?? match[2];
      if (variable && !NOT_SET_BY_THE_STACK.includes(variable)) variables.add(variable);
    }
  }
  return [...variables].sort();
}

describe('functions', () => {
  it('creates exactly the declared functions', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::Function', EXPECTED_FUNCTIONS.length);
    expect([...functionNames].sort()).toEqual(EXPECTED_FUNCTIONS);
    expect(Object.keys(jobs.functions).sort()).toEqual(EXPECTED_FUNCTIONS);
  });

  it.each(functionNames)('runs %s on Node.js 22, arm64, index.handler, with its memory and timeout from config', (name) => {
    // Act
    const properties = functionProperties(name);

    // Assess
    expect(properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: EXPECTED_SIZING[name].memoryMb,
      Timeout: EXPECTED_SIZING[name].timeoutSeconds,
    });
  });

  it.each(functionNames)('keeps the logs of %s for a month in a log group of its own', (name) => {
    // Act
    const logging = functionProperties(name).LoggingConfig as { LogGroup?: { Ref?: string } } | undefined;

    // Assess
    const logGroupId = logging?.LogGroup?.Ref;
    expect(logGroupId).toBeDefined();
    expect(resource(String(logGroupId))).toMatchObject({ Type: 'AWS::Logs::LogGroup', Properties: { RetentionInDays: 30 } });
  });

  it.each(functionNames)('traces %s with X-Ray (active tracing)', (name) => {
    // Assess
    expect(functionProperties(name).TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('gives each function its own log group', () => {
    // Act
    const logGroups = functionNames.map((name) => JSON.stringify(functionProperties(name).LoggingConfig));

    // Assess
    expect(new Set(logGroups).size).toBe(functionNames.length);
  });

  it('bundles the processors into the worker only: submit-job takes the type names alone', () => {
    // Act
    const processorSources = (name: FunctionName) => sourceMapOf(name).sources.filter((source) => source.includes('functions/processors/')).map((source) => path.basename(source)).sort();

    // Assess (a processor's dependencies would otherwise weigh on every POST /jobs cold start)
    expect(processorSources('submit-job')).toEqual(['types.ts']);
    expect(processorSources('process-jobs')).toEqual(expect.arrayContaining(['registry.ts', 'echo.ts', 'sleep.ts', 'fail.ts', 'flaky.ts']));
  });

  describe.each(functionNames)('bundle of %s', (name) => {
    it('is a minified ES module that exports the handler and links its source map', () => {
      // Act
      const bundle = readFileSync(path.join(assetDirectory(name), 'index.mjs'), 'utf8');

      // Assess (booleans, so that a failure does not print the whole bundle)
      const lines = bundle.split('\n').length;
      expect(bundle.length / lines, 'characters per line').toBeGreaterThan(1_000);
      expect(/export\s*\{\s*[\w$]+ as handler\s*\};/.test(bundle), 'exports handler').toBe(true);
      expect(bundle.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map'), 'links its source map').toBe(true);
      expect(bundle.startsWith("import { createRequire as __cr } from 'node:module';"), 'starts with the require banner').toBe(true);
      expect(/\bfrom\s*["']@aws-sdk\//.test(bundle), 'imports the AWS SDK at run time').toBe(false);
      // Tracing is on by default (tracing.test.ts checks a stack with it off); a function that makes no AWS call
      // has nothing to trace but its invocation, which Lambda's active tracing records without the X-Ray SDK.
      const callsAws = Object.values(functionSpecs[name].uses as FunctionSpec['uses']).some((actions) => actions.length > 0);
      expect(bundle.includes('POWERTOOLS_TRACER_CAPTURE_RESPONSE'), 'Powertools Tracer').toBe(callsAws);
      expect(bundle.includes('AWSXRay'), 'X-Ray SDK').toBe(callsAws);
    });

    it('carries the small semver stand-in, not the package', () => {
      // Act
      const { sources } = sourceMapOf(name);

      // Assess (the X-Ray SDK is its only importer; semver-shim.test.ts checks it needs nothing more)
      const callsAws = Object.values(functionSpecs[name].uses as FunctionSpec['uses']).some((actions) => actions.length > 0);
      expect(sources.filter((source) => source.includes('node_modules/semver/'))).toEqual([]);
      expect(sources.some((source) => source.endsWith('functions/shims/semver.ts')), 'stand-in').toBe(callsAws);
    });

    it('takes node:http through its stand-in, never by an ES module import', () => {
      // Act
      const bundle = readFileSync(path.join(assetDirectory(name), 'index.mjs'), 'utf8');
      const { sources } = sourceMapOf(name);

      // Assess (on Node 22 that import loads undici at every cold start: functions/shims/node-http.cjs)
      const callsAws = Object.values(functionSpecs[name].uses as FunctionSpec['uses']).some((actions) => actions.length > 0);
      expect(/\bfrom\s*["'](?:node:)?http["']|\bimport\(\s*["'](?:node:)?http["']\s*\)/.test(bundle), 'imports node:http as an ES module').toBe(false);
      expect(sources.some((source) => source.endsWith('functions/shims/node-http.cjs')), 'stand-in').toBe(callsAws);
    });

    it('names its sources from the project root, so its asset (and the hash that decides a deploy) is the same wherever the assembly is written', () => {
      // Act (this assembly is written outside the project, in a temporary folder)
      const { sources } = sourceMapOf(name);

      // Assess
      expect(sources.filter((source) => source.startsWith('../') || path.isAbsolute(source))).toEqual([]);
      expect(sources.filter((source) => !existsSync(path.join(projectRoot, source)))).toEqual([]);
    });

    it('ships a source map of its own entry point without the sources\' text, and enables source maps at run time', () => {
      // Act
      const map = sourceMapOf(name);

      // Assess
      expect(map.sources.some((source) => source.endsWith(functionSpecs[name].entry))).toBe(true);
      // Positions only: the text of the bundled SDK would triple the JSON a cold start parses.
      expect(map.sourcesContent ?? []).toEqual([]);
      expect(environmentOf(name)).toMatchObject({ NODE_OPTIONS: '--enable-source-maps' });
    });
  });
});

describe('environment', () => {
  it('is declared as written out in this test', () => {
    // Act
    const declared = Object.fromEntries(
      functionNames.map((name) => {
        const spec: FunctionSpec = functionSpecs[name];
        const resources = (Object.keys(spec.uses) as ResourceKind[]).map((kind) => resourceEnv[kind]);
        const variables = ['NODE_OPTIONS', ...resources, ...(spec.settings ?? [])].filter((variable) => variable !== undefined);
        return [name, [...new Set(variables)].sort()];
      }),
    );

    // Assess
    expect(declared).toEqual(EXPECTED_ENVIRONMENT);
  });

  it.each(functionNames)('gives %s exactly the declared variables', (name) => {
    // Act
    const variables = Object.keys(environmentOf(name)).sort();

    // Assess
    expect(variables).toEqual(EXPECTED_ENVIRONMENT[name]);
  });

  it.each(functionNames)('gives %s every variable its bundled code reads, and no other', (name) => {
    // Act
    const read = variablesReadBy(name);

    // Assess
    expect(['NODE_OPTIONS', ...read].sort()).toEqual(Object.keys(environmentOf(name)).sort());
  });

  it.each(functionNames)('points the variables of %s at the stack resources', (name) => {
    // Prepare
    const values: Record<string, unknown> = {
      TABLE_NAME: stack.resolve(jobs.table.tableName),
      QUEUE_URL: stack.resolve(jobs.queue.queueUrl),
      TOPIC_ARN: stack.resolve(jobs.topic.topicArn),
      IDEMPOTENCY_SECRET: stack.resolve(jobs.idempotencySecret.secretValue.unsafeUnwrap()),
      DEFAULT_JOB_TIMEOUT_SECONDS: String(config.jobs.defaultTimeoutSeconds),
      MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(config.worker.timeoutSeconds)),
      NODE_OPTIONS: '--enable-source-maps',
      WEBHOOK_MODE: 'cloud',
      WEBHOOK_QUEUE_URL: stack.resolve(jobs.webhookQueue.queueUrl),
      WEBHOOK_RETRY_SCHEDULE: config.webhooks.retryScheduleSeconds.join(','),
      WEBHOOK_SECRET_ID: stack.resolve(jobs.signingSecret.secretArn),
    };

    // Act
    const environment = environmentOf(name);

    // Assess
    for (const [variable, value] of Object.entries(environment)) expect(value, variable).toEqual(values[variable]);
  });

  it('passes the idempotency secret as a deploy-time reference, never as a value in the template', () => {
    // Act
    const secret = JSON.stringify(environmentOf('submit-job').IDEMPOTENCY_SECRET);

    // Assess
    expect(secret).toContain('{{resolve:secretsmanager:');
    expect(secret).toContain(JSON.stringify({ Ref: logicalIdOf(jobs.idempotencySecret) }));
  });

  it('lets a job run as long as the worker can, less the time to record its end', () => {
    // Assess
    expect(environmentOf('submit-job').MAX_JOB_TIMEOUT_SECONDS).toBe(
      String(config.worker.timeoutSeconds - Math.ceil(config.worker.shutdownMarginMs / 1000)),
    );
  });
});

describe('permissions', () => {
  it('are declared as written out in this test', () => {
    // Act
    const declared = Object.fromEntries(functionNames.map((name) => [name, declaredGrants(name)]));

    // Assess
    expect(declared).toEqual(EXPECTED_GRANTS);
  });

  it.each(functionNames)('allow %s exactly its declared actions on exactly its resources', (name) => {
    // Act
    const granted = grantsInTemplate(name);

    // Assess
    expect(granted).toEqual(grantsFrom(declaredGrants(name), name));
    expect(granted).toEqual(grantsFrom(EXPECTED_GRANTS[name], name));
  });

  it.each(functionNames)('attach no managed policy to the role of %s, which only Lambda may assume', (name) => {
    // Prepare
    const role = jobs.functions[name].role;
    if (!role) throw new Error(`${name} has no role`);

    // Act
    const properties = resource(logicalIdOf(role)).Properties;

    // Assess (AWSLambdaBasicExecutionRole would let it write to any log group: it writes to its own only)
    expect(properties?.ManagedPolicyArns).toBeUndefined();
    expect(properties?.AssumeRolePolicyDocument).toEqual({
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }],
      Version: '2012-10-17',
    });
  });

  it('gives every function a role of its own', () => {
    // Act
    const roles = functionNames.map((name) => jobs.functions[name].role);

    // Assess
    expect(new Set(roles).size).toBe(functionNames.length);
  });
});

describe('jobs table', () => {
  it('is on-demand, recoverable, expires records on expiresAt, and is kept when the stack goes', () => {
    // Assess
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      }),
    });
  });

  it('is encrypted at rest with the account’s AWS managed key for DynamoDB', () => {
    // Assess (SSEEnabled without a key id: the aws/dynamodb key, rather than a key AWS owns)
    expect(resource(logicalIdOf(jobs.table)).Properties?.SSESpecification).toEqual({ SSEEnabled: true });
  });

  it('lists a caller’s jobs newest first through the by-owner index, and due jobs through the sweep index', () => {
    // Act
    const indexes = resource(logicalIdOf(jobs.table)).Properties?.GlobalSecondaryIndexes;

    // Assess
    expect(config.names.ownerIndex).toBe('by-owner');
    expect(indexes).toEqual([
      {
        IndexName: 'by-owner',
        KeySchema: [
          { AttributeName: 'owner', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        // Keys only: the writes of a job's life after the create cost no index write.
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: config.names.sweepIndex,
        KeySchema: [
          { AttributeName: 'sweepShard', KeyType: 'HASH' },
          { AttributeName: 'sweepAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
  });

  it('keeps the idempotency secret as long as the table', () => {
    // Act
    const secret = resource(logicalIdOf(jobs.idempotencySecret));

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 2);
    expect(secret).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(secret.Properties?.GenerateSecretString).toMatchObject({ PasswordLength: 48 });
  });
});

describe('queues', () => {
  it('sends a message to the dead-letter queue after maxReceiveCount receives, more than a job has attempts', () => {
    // Act
    const queue = resource(logicalIdOf(jobs.queue));

    // Assess
    expect(queue.Properties?.RedrivePolicy).toEqual({
      deadLetterTargetArn: stack.resolve(jobs.deadLetterQueue.queueArn),
      maxReceiveCount: config.queue.maxReceiveCount,
    });
    expect(config.queue.maxReceiveCount).toBeGreaterThan(config.jobs.maxAttempts);
  });

  it('hides a message for at least six worker timeouts plus the batching window, as the local runtime does', () => {
    // Prepare
    const workerTimeout = Number(functionProperties(triggered('jobs-queue')).Timeout);

    // Act
    const visibilityTimeout = Number(resource(logicalIdOf(jobs.queue)).Properties?.VisibilityTimeout);

    // Assess
    expect(workerTimeout).toBe(config.worker.timeoutSeconds);
    expect(visibilityTimeout).toBeGreaterThanOrEqual(6 * workerTimeout + config.worker.maxBatchingWindowSeconds);
    expect(visibilityTimeout).toBe(config.queue.visibilityTimeoutSeconds);
  });

  it('keeps dead letters longer than live messages, both encrypted', () => {
    // Act
    const live = resource(logicalIdOf(jobs.queue)).Properties;
    const dead = resource(logicalIdOf(jobs.deadLetterQueue)).Properties;

    // Assess
    expect(live).toMatchObject({ MessageRetentionPeriod: config.queue.retentionSeconds, SqsManagedSseEnabled: true });
    expect(dead).toMatchObject({ MessageRetentionPeriod: config.queue.deadLetterRetentionSeconds, SqsManagedSseEnabled: true });
    expect(dead).not.toHaveProperty('RedrivePolicy');
  });

  it('feeds the worker, the dead-letter handler and the webhook deliverer from their queues, reporting partial batch failures, each at a bounded concurrency', () => {
    // Act
    const mappings = Object.fromEntries(
      resourcesOfType('AWS::Lambda::EventSourceMapping').map((mapping) => [JSON.stringify(mapping.Properties?.FunctionName), mapping.Properties]),
    );

    // Assess
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 3);
    expect(mappings).toEqual({
      [JSON.stringify({ Ref: logicalIdOf(jobs.functions['process-jobs']) })]: {
        BatchSize: config.worker.batchSize,
        EventSourceArn: stack.resolve(jobs.queue.queueArn),
        FunctionName: { Ref: logicalIdOf(jobs.functions['process-jobs']) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: config.worker.maxConcurrency },
        ...(config.worker.maxBatchingWindowSeconds > 0 && { MaximumBatchingWindowInSeconds: config.worker.maxBatchingWindowSeconds }),
      },
      [JSON.stringify({ Ref: logicalIdOf(jobs.functions['on-dead-letter']) })]: {
        BatchSize: config.worker.batchSize,
        EventSourceArn: stack.resolve(jobs.deadLetterQueue.queueArn),
        FunctionName: { Ref: logicalIdOf(jobs.functions['on-dead-letter']) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: config.worker.deadLetterMaxConcurrency },
      },
      [JSON.stringify({ Ref: logicalIdOf(jobs.functions['deliver-webhooks']) })]: {
        BatchSize: config.webhooks.batchSize,
        EventSourceArn: stack.resolve(jobs.webhookQueue.queueArn),
        FunctionName: { Ref: logicalIdOf(jobs.functions['deliver-webhooks']) },
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: config.webhooks.maxConcurrency },
      },
    });
    expect(triggered('jobs-queue')).toBe('process-jobs');
    expect(triggered('dead-letter-queue')).toBe('on-dead-letter');
  });
});

describe('encryption', () => {
  /** The resources whose policy has a statement denying requests without TLS. */
  function tlsOnly(policyType: string, targets: string): unknown[] {
    return resourcesOfType(policyType)
      .filter((policy) =>
        (policy.Properties?.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined)?.Statement.some(
          (statement) => statement.Effect === 'Deny' && JSON.stringify(statement.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        ),
      )
      .flatMap((policy) => policy.Properties?.[targets] as unknown[]);
  }

  it('encrypts every queue at rest and refuses it to requests without TLS', () => {
    // Act
    const queues = Object.keys(template.findResources('AWS::SQS::Queue')).sort();

    // Assess
    expect(queues).toEqual([jobs.queue, jobs.deadLetterQueue, jobs.webhookQueue, jobs.webhookDeadLetterQueue].map(logicalIdOf).sort());
    for (const queue of queues) expect(resource(queue).Properties, queue).toMatchObject({ SqsManagedSseEnabled: true });
    expect(tlsOnly('AWS::SQS::QueuePolicy', 'Queues')).toEqual(expect.arrayContaining(queues.map((queue) => ({ Ref: queue }))));
  });

  it('encrypts every topic with a rotating customer managed key and refuses it to requests without TLS', () => {
    // Act
    const topics = Object.keys(template.findResources('AWS::SNS::Topic')).sort();

    // Assess
    for (const topic of topics) {
      const keyId = resource(topic).Properties?.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] };
      expect(resource(keyId['Fn::GetAtt'][0]).Properties, topic).toMatchObject({ EnableKeyRotation: true });
    }
    expect(tlsOnly('AWS::SNS::TopicPolicy', 'Topics')).toEqual(expect.arrayContaining(topics.map((topic) => ({ Ref: topic }))));
  });
});

describe('reconciler schedule', () => {
  it('runs reconcile-jobs at the configured interval', () => {
    // Act
    const rules = resourcesOfType('AWS::Events::Rule');

    // Assess
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties).toMatchObject({
      ScheduleExpression: Schedule.rate(Duration.seconds(config.reconciler.intervalSeconds)).expressionString,
      State: 'ENABLED',
      Targets: [{ Arn: { 'Fn::GetAtt': [logicalIdOf(jobs.functions['reconcile-jobs']), 'Arn'] } }],
    });
    expect(triggered('schedule')).toBe('reconcile-jobs');
  });

  it('does not retry a failed run (the next one comes within the interval), and retries no other function asynchronously', () => {
    // Act
    const configs = resourcesOfType('AWS::Lambda::EventInvokeConfig');

    // Assess
    expect(configs).toHaveLength(1);
    expect(configs[0]?.Properties).toMatchObject({ FunctionName: { Ref: logicalIdOf(jobs.functions['reconcile-jobs']) }, MaximumRetryAttempts: 0 });
  });
});

describe('topic, API and outputs', () => {
  it('creates the completion topic and the alarm topic, and no other', () => {
    // Assess
    template.resourceCountIs('AWS::SNS::Topic', 2);
    expect(Object.keys(template.findResources('AWS::SNS::Topic')).sort()).toEqual(
      [logicalIdOf(jobs.topic), logicalIdOf(jobs.monitoring.alarmTopic)].sort(),
    );
  });

  it('routes each declared route of one HTTP API to its function, and everything else to the fallback', () => {
    // Act
    const wiring = Object.fromEntries(
      resourcesOfType('AWS::ApiGatewayV2::Route').map((route) => {
        const integrationId = /"Ref":"([^"]+)"/.exec(JSON.stringify(route.Properties?.Target))?.[1] ?? '';
        return [route.Properties?.RouteKey, resource(integrationId).Properties?.IntegrationUri];
      }),
    );

    // Assess
    const target = (name: FunctionName) => ({ 'Fn::GetAtt': [logicalIdOf(jobs.functions[name]), 'Arn'] });
    template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    expect(resource(logicalIdOf(jobs.api)).Properties).toMatchObject({ ProtocolType: 'HTTP' });
    expect(wiring).toEqual({
      'POST /jobs': target('submit-job'),
      'GET /jobs': target('list-jobs'),
      'GET /jobs/{id}': target('get-job'),
      'GET /openapi.json': target('get-openapi'),
      'DELETE /jobs/{id}': target('cancel-job'),
      $default: target('route-fallback'),
    });
    expect(wiring).toEqual(
      Object.fromEntries([
        ...routes.map((route) => [`${route.method} ${route.path}`, target(route.function)]),
        ['$default', target(fallbackFunction)],
      ]),
    );
  });

  it('outputs the API URL and id, the topic ARNs, the webhook signing secret ARN, the dashboard, the table and both dead-letter queues', () => {
    // Assess
    template.hasOutput('ApiUrl', { Value: { 'Fn::GetAtt': [logicalIdOf(jobs.api), 'ApiEndpoint'] } });
    template.hasOutput('TopicArn', { Value: stack.resolve(jobs.topic.topicArn) });
    template.hasOutput('AlarmTopicArn', { Value: stack.resolve(jobs.monitoring.alarmTopic.topicArn) });
    template.hasOutput('WebhookSigningSecretArn', { Value: stack.resolve(jobs.signingSecret.secretArn) });
    template.hasOutput('DashboardName', { Value: stack.resolve(jobs.monitoring.dashboard.dashboardName) });
    template.hasOutput('ApiId', { Value: stack.resolve(jobs.api.apiId) });
    template.hasOutput('JobsTableName', { Value: stack.resolve(jobs.table.tableName) });
    template.hasOutput('DeadLetterQueueArn', { Value: stack.resolve(jobs.deadLetterQueue.queueArn) });
    template.hasOutput('WebhookDeadLetterQueueArn', { Value: stack.resolve(jobs.webhookDeadLetterQueue.queueArn) });
  });
});

describe('AsyncJobs members', () => {
  it('exposes what it created', () => {
    // Assess
    expect(jobs).toBeInstanceOf(AsyncJobs);
    expect(jobs.table).toBeInstanceOf(Table);
    expect(jobs.queue).toBeInstanceOf(Queue);
    expect(jobs.deadLetterQueue).toBeInstanceOf(Queue);
    expect(jobs.deadLetterQueue).not.toBe(jobs.queue);
    expect(jobs.topic).toBeInstanceOf(Topic);
    expect(jobs.api).toBeInstanceOf(HttpApi);
    expect(jobs.idempotencySecret).toBeInstanceOf(Secret);
    for (const name of functionNames) expect(jobs.functions[name]).toBeInstanceOf(NodejsFunction);
  });

  it('exposes the resources that are in the template', () => {
    // Act
    const types = [jobs.table, jobs.queue, jobs.deadLetterQueue, jobs.topic, jobs.api, jobs.idempotencySecret, ...Object.values(jobs.functions)].map(
      (construct) => resource(logicalIdOf(construct)).Type,
    );

    // Assess
    expect(types).toEqual([
      'AWS::DynamoDB::Table',
      'AWS::SQS::Queue',
      'AWS::SQS::Queue',
      'AWS::SNS::Topic',
      'AWS::ApiGatewayV2::Api',
      'AWS::SecretsManager::Secret',
      ...functionNames.map(() => 'AWS::Lambda::Function'),
    ]);
  });
});
