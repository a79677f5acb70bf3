/**
 * The HTTP API's front door: who may call each route in each auth mode, how a caller is granted access
 * in IAM mode, throttling, and the JSON access log. Synthesized without bundling.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { AsyncJobs, type AsyncJobsAuth, type AsyncJobsProps, accessLogFormat } from '#infra/async-jobs';
import * as config from '#infra/config';
import { type RouteSpec, routes } from '#infra/functions';
import { AsyncJobsStack, propsFromContext } from '#infra/stack';
import { type CfnResource, errorOf, logicalIdOf, resourceOf, resourcesOfType, unbundledApp } from './support.ts';

/** A public route, so that the tests below see one whether or not infra/functions.ts declares any yet. */
const PROBE = vi.hoisted((): RouteSpec => ({ method: 'GET', path: '/public-probe', function: 'route-fallback', public: true }));

vi.mock('#infra/functions', async (importOriginal) => {
  const original = await importOriginal<typeof import('#infra/functions')>();
  return { ...original, routes: [...original.routes, PROBE] };
});

const JWT: AsyncJobsAuth = { type: 'jwt', issuer: 'https://idp.example.com/realms/jobs', audience: ['jobs-api', 'jobs-cli'] };

interface Built {
  readonly stack: Stack;
  readonly jobs: AsyncJobs;
  readonly template: Template;
}

function build(props: AsyncJobsProps): Built {
  const stack = new Stack(unbundledApp(), 'Api');
  const jobs = new AsyncJobs(stack, 'async-jobs', props);
  return { stack, jobs, template: Template.fromStack(stack) };
}

/** Every route of the API by its key, `$default` included. */
function routesByKey(template: Template): Record<string, Record<string, unknown>> {
  return Object.fromEntries(
    resourcesOfType(template, 'AWS::ApiGatewayV2::Route').map((route) => [String(route.Properties?.RouteKey), route.Properties ?? {}]),
  );
}

const protectedKeys = [...routes.filter((route) => !route.public).map((route) => `${route.method} ${route.path}`), '$default'];
const publicKeys = routes.filter((route) => route.public).map((route) => `${route.method} ${route.path}`);

let iam: Built;
let jwt: Built;
let none: Built;

beforeAll(() => {
  iam = build({});
  jwt = build({ auth: JWT, throttle: { rateLimit: 25.5, burstLimit: 50 } });
  none = build({ auth: { type: 'none' } });
}, 120_000);

describe('routes', () => {
  it('include the public probe of this file, and the declared routes', () => {
    // Assess
    expect(publicKeys).toContain('GET /public-probe');
    expect(Object.keys(routesByKey(iam.template)).sort()).toEqual([...protectedKeys, ...publicKeys].sort());
  });
});

describe("auth 'iam' (the default)", () => {
  it.each(protectedKeys)('requires a SigV4 signature on %s', (key) => {
    // Assess
    expect(routesByKey(iam.template)[key]).toMatchObject({ AuthorizationType: 'AWS_IAM' });
    expect(routesByKey(iam.template)[key]).not.toHaveProperty('AuthorizerId');
  });

  it.each(publicKeys)('serves %s to anyone', (key) => {
    // Assess
    expect(routesByKey(iam.template)[key]).toMatchObject({ AuthorizationType: 'NONE' });
  });

  it('creates no authorizer resource (IAM is built into API Gateway)', () => {
    // Assess
    iam.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
    expect(iam.jobs.auth).toEqual({ type: 'iam' });
  });
});

describe("auth 'jwt'", () => {
  it('checks tokens from the Authorization header against the issuer and audiences', () => {
    // Assess
    const authorizers = resourcesOfType(jwt.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizers).toHaveLength(1);
    expect(authorizers[0]?.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://idp.example.com/realms/jobs', Audience: ['jobs-api', 'jobs-cli'] },
    });
  });

  it.each(protectedKeys)('requires a valid token on %s', (key) => {
    // Prepare
    const authorizerId = Object.keys(jwt.template.findResources('AWS::ApiGatewayV2::Authorizer'))[0];

    // Assess
    expect(routesByKey(jwt.template)[key]).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
  });

  it.each(publicKeys)('serves %s to anyone', (key) => {
    // Assess
    expect(routesByKey(jwt.template)[key]).toMatchObject({ AuthorizationType: 'NONE' });
    expect(routesByKey(jwt.template)[key]).not.toHaveProperty('AuthorizerId');
  });
});

describe('cdk-nag', () => {
  /** The routes cdk-nag's APIG4 (no authorization) flags in a stack. */
  function flaggedRoutes(built: Built): string[] {
    return new AwsSolutionsChecks()
      .validateScope(built.stack)
      .violations.filter((violation) => violation.ruleName === 'AwsSolutions-APIG4')
      .flatMap((violation) => violation.violatingResources.map((resource) => String(resource.constructPath)));
  }

  it('hears why a public route has no authorizer, and flags nothing in iam or jwt mode', () => {
    // Assess
    expect(flaggedRoutes(iam)).toEqual([]);
    expect(flaggedRoutes(jwt)).toEqual([]);
  });

  it("flags every route but the public ones in 'none' mode", () => {
    // Act
    const flagged = flaggedRoutes(none);

    // Assess
    expect(flagged).toHaveLength(protectedKeys.length);
    expect(flagged.some((constructPath) => constructPath.includes('public-probe'))).toBe(false);
  });
});

describe("auth 'none'", () => {
  it('lets anyone call every route', () => {
    // Assess
    for (const route of Object.values(routesByKey(none.template))) expect(route).toMatchObject({ AuthorizationType: 'NONE' });
    none.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });
});

describe('auth validation', () => {
  it.each<[string, AsyncJobsAuth, string]>([
    ['an empty issuer', { type: 'jwt', issuer: '', audience: ['a'] }, "auth.issuer must not be empty when auth.type is 'jwt'"],
    ['a blank issuer', { type: 'jwt', issuer: '  ', audience: ['a'] }, "auth.issuer must not be empty when auth.type is 'jwt'"],
    ['an http issuer', { type: 'jwt', issuer: 'http://idp.example.com', audience: ['a'] }, 'auth.issuer must be an https:// URL; got "http://idp.example.com"'],
    ['no audience', { type: 'jwt', issuer: 'https://idp.example.com', audience: [] }, "auth.audience must list at least one audience when auth.type is 'jwt'"],
    ['an empty audience', { type: 'jwt', issuer: 'https://idp.example.com', audience: ['a', ''] }, 'auth.audience must not contain an empty audience'],
    // What JavaScript or a JSON config may pass: without the check, every route would get no authorizer.
    ['a type in capitals', { type: 'IAM' } as unknown as AsyncJobsAuth, `auth.type must be 'iam', 'jwt' or 'none'; got "IAM"`],
    ['no type', {} as unknown as AsyncJobsAuth, `auth.type must be 'iam', 'jwt' or 'none'; got nothing`],
  ])('refuses %s, with an exact message', (_case, auth, message) => {
    // Act
    const error = errorOf(() => new AsyncJobs(new Stack(unbundledApp(), 'Checked'), 'async-jobs', { auth }));

    // Assess
    expect(error).toBe(message);
  });
});

describe('grantInvoke()', () => {
  it("allows a principal execute-api:Invoke on this API's routes, and nothing else", () => {
    // Prepare
    const stack = new Stack(unbundledApp(), 'Granted');
    const jobs = new AsyncJobs(stack, 'async-jobs');
    const caller = new Role(stack, 'caller', { assumedBy: new AccountRootPrincipal() });

    // Act
    jobs.grantInvoke(caller);

    // Assess
    const policies = resourcesOfType(Template.fromStack(stack), 'AWS::IAM::Policy').filter((policy) =>
      JSON.stringify(policy.Properties?.Roles).includes(logicalIdOf(caller)),
    );
    const document = policies[0]?.Properties?.PolicyDocument as { Statement: unknown[] } | undefined;
    expect(policies).toHaveLength(1);
    expect(document?.Statement).toEqual([
      { Action: 'execute-api:Invoke', Effect: 'Allow', Resource: stack.resolve(jobs.api.arnForExecuteApi('*', '/*', '*')) },
    ]);
    expect(JSON.stringify(stack.resolve(jobs.api.arnForExecuteApi()))).toContain(`{"Ref":"${logicalIdOf(jobs.api)}"},"/*/*/*"`);
  });

  it.each<[string, AsyncJobsAuth]>([
    ['jwt', JWT],
    ['none', { type: 'none' }],
  ])('refuses in %s mode, where IAM does not decide who calls', (type, auth) => {
    // Prepare
    const jobs = type === 'jwt' ? jwt.jobs : none.jobs;
    const caller = new Role(Stack.of(jobs), `caller-${type}`, { assumedBy: new AccountRootPrincipal() });

    // Act
    const error = errorOf(() => jobs.grantInvoke(caller));

    // Assess
    expect(auth.type).toBe(type);
    expect(error).toBe(`grantInvoke applies to auth type 'iam'; this API uses '${type}'`);
  });
});

describe('throttling', () => {
  function routeSettings(built: Built): unknown {
    return resourceOf(built.template, built.jobs.api.defaultStage as NonNullable<typeof built.jobs.api.defaultStage>).Properties
      ?.DefaultRouteSettings;
  }

  it('limits each route of the $default stage to the configured rate and burst by default', () => {
    // Assess
    expect(iam.jobs.api.defaultStage?.stageName).toBe('$default');
    expect(routeSettings(iam)).toEqual({ ThrottlingRateLimit: config.apiStage.rateLimit, ThrottlingBurstLimit: config.apiStage.burstLimit });
    expect(config.apiStage).toEqual({ rateLimit: 100, burstLimit: 200 });
  });

  it('takes the limits of the throttle prop', () => {
    // Assess
    expect(routeSettings(jwt)).toEqual({ ThrottlingRateLimit: 25.5, ThrottlingBurstLimit: 50 });
  });

  it.each<[number, number, string]>([
    [0, 10, 'throttle.rateLimit must be a positive number of requests per second; got 0'],
    [-5, 10, 'throttle.rateLimit must be a positive number of requests per second; got -5'],
    [Number.NaN, 10, 'throttle.rateLimit must be a positive number of requests per second; got NaN'],
    [10, 0, 'throttle.burstLimit must be a positive whole number of requests; got 0'],
    [10, 2.5, 'throttle.burstLimit must be a positive whole number of requests; got 2.5'],
  ])('refuses rate %d and burst %d with an exact message', (rateLimit, burstLimit, message) => {
    // Act
    const error = errorOf(() => new AsyncJobs(new Stack(unbundledApp(), 'Checked'), 'async-jobs', { throttle: { rateLimit, burstLimit } }));

    // Assess
    expect(error).toBe(message);
  });
});

describe('access logs', () => {
  let stage: CfnResource;

  beforeAll(() => {
    stage = resourceOf(iam.template, iam.jobs.api.defaultStage as NonNullable<typeof iam.jobs.api.defaultStage>);
  });

  it('go to a log group of their own, kept as long as the functions’ logs', () => {
    // Assess
    expect(stage.Properties?.AccessLogSettings).toMatchObject({ DestinationArn: iam.stack.resolve(iam.jobs.accessLogs.logGroupArn) });
    expect(resourceOf(iam.template, iam.jobs.accessLogs).Properties).toEqual({ RetentionInDays: 30 });
  });

  it('are one JSON object per request, with who called, what, and how it ended', () => {
    // Act
    const settings = stage.Properties?.AccessLogSettings as { Format?: string } | undefined;
    const format = JSON.parse(String(settings?.Format)) as Record<string, string>;

    // Assess
    expect(format).toEqual(accessLogFormat);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      caller: '$context.identity.userArn',
      sub: '$context.authorizer.claims.sub',
      routeKey: '$context.routeKey',
      status: '$context.status',
      authorizerError: '$context.authorizer.error',
      integrationError: '$context.integrationErrorMessage',
    });
    for (const value of Object.values(format)) expect(value).toMatch(/^\$context\.[A-Za-z.]+$/);
  });
});

describe('the stack reads auth and the alarm email from the context', () => {
  it.each<[string, Record<string, string>, AsyncJobsProps]>([
    ['nothing', {}, {}],
    ['iam', { auth: 'iam' }, { auth: { type: 'iam' } }],
    ['none', { auth: 'none' }, { auth: { type: 'none' } }],
    [
      'jwt with issuer and audiences',
      { auth: 'jwt', jwtIssuer: 'https://idp.example.com', jwtAudience: 'jobs-api, jobs-cli' },
      { auth: { type: 'jwt', issuer: 'https://idp.example.com', audience: ['jobs-api', 'jobs-cli'] } },
    ],
    ['an alarm email', { alarmEmail: 'ops@example.com' }, { alarmEmail: 'ops@example.com' }],
  ])('given %s', (_case, context, props) => {
    // Act
    const read = propsFromContext(unbundledApp(context));

    // Assess
    expect(read).toEqual(props);
  });

  it('refuses an unknown auth type with an exact message', () => {
    // Act
    const error = errorOf(() => propsFromContext(unbundledApp({ auth: 'basic' })));

    // Assess
    expect(error).toBe(`context auth must be 'iam', 'jwt' or 'none'; got "basic"`);
  });

  it.each([
    ['jwtIssuer', { jwtIssuer: 'https://idp.example.com' }, 'iam, the default'],
    ['jwtAudience', { auth: 'iam', jwtAudience: 'a' }, 'iam'],
  ])('refuses %s without auth=jwt, which would deploy an API that ignores it', (key, context, auth) => {
    // Act
    const error = errorOf(() => propsFromContext(unbundledApp(context)));

    // Assess
    expect(error).toBe(`context ${key} is only read with auth=jwt (-c auth=jwt); auth is ${auth}`);
  });

  it('refuses jwt without an issuer, through the construct’s own check', () => {
    // Act
    const error = errorOf(() => new AsyncJobsStack(unbundledApp({ auth: 'jwt', jwtAudience: 'a' }), 'Checked'));

    // Assess
    expect(error).toBe("auth.issuer must not be empty when auth.type is 'jwt'");
  });

  it('lets a prop given in code win over the context', () => {
    // Act
    const stack = new AsyncJobsStack(unbundledApp({ auth: 'none' }), 'Both', { asyncJobs: { auth: JWT } });

    // Assess
    expect(stack.asyncJobs.auth).toEqual(JWT);
  });
});
