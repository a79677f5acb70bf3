/**
 * cdk-nag's AWS Solutions checks on the app as infra/app.ts builds it (without bundling: the checks read
 * the templates only). Every finding is either fixed or acknowledged next to its resource with a reason.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type App, Stack } from 'aws-cdk-lib';
import { VALIDATION_REPORT_FILE } from 'aws-cdk-lib/cx-api';
import { describe, expect, it } from 'vitest';
import { AsyncJobs } from '#infra/async-jobs';
import { routes } from '#infra/functions';
import { AsyncJobsStack, addSecurityChecks } from '#infra/stack';
import { errorOf, unbundledApp } from './support.ts';

interface ValidationReport {
  readonly pluginReports: readonly {
    readonly pluginName: string;
    readonly violations: readonly { readonly ruleName: string; readonly severity: string; readonly violatingConstructs: readonly { readonly constructPath: string }[] }[];
  }[];
}

/** The app of infra/app.ts, with the given context. */
function checkedApp(context: Record<string, string>): App {
  const app = unbundledApp(context);
  new AsyncJobsStack(app, 'AsyncJobs');
  addSecurityChecks(app);
  return app;
}

/** Every finding of the synthesized app's validation report, as "severity rule at path". */
function findingsOf(app: App): string[] {
  const report = JSON.parse(readFileSync(path.join(app.synth().directory, VALIDATION_REPORT_FILE), 'utf8')) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.flatMap((violation) =>
      violation.violatingConstructs.map((construct) => `${violation.severity} ${violation.ruleName} at ${construct.constructPath}`),
    ),
  );
}

describe('cdk-nag AwsSolutions checks', () => {
  it.each<[string, Record<string, string>]>([
    ['the default app (IAM auth)', {}],
    ['JWT auth and an alarm email', { auth: 'jwt', jwtIssuer: 'https://idp.example.com', jwtAudience: 'jobs-api', alarmEmail: 'ops@example.com' }],
  ])('report no unacknowledged error or warning on %s', (_case, context) => {
    // Prepare
    const app = checkedApp(context);

    // Act
    const findings = findingsOf(app);

    // Assess
    expect(findings).toEqual([]);
  });

  it('fail the synth, naming the rule and the routes, when the construct is given no authentication', () => {
    // Prepare: the construct in a stack of its own, as a library user would have it
    const app = unbundledApp();
    new AsyncJobs(new Stack(app, 'Open'), 'async-jobs', { auth: { type: 'none' } });
    addSecurityChecks(app);

    // Act
    const error = errorOf(() => app.synth());

    // Assess (a route declared public is acknowledged, with its reason, in any mode)
    const flagged = ['DefaultRoute', ...routes.filter((route) => !route.public).map((route) => `${route.method}${route.path.replaceAll('/', '--')}`)];
    expect(flagged).toEqual(expect.arrayContaining(['DefaultRoute', 'POST--jobs', 'GET--jobs', 'GET--jobs--{id}', 'DELETE--jobs--{id}']));
    expect(error?.match(/ERROR The API does not implement authorization\./g)).toHaveLength(flagged.length);
    expect(error?.match(/AwsSolutions-APIG4/g)).toHaveLength(flagged.length);
    for (const id of flagged) expect(error).toContain(`Open/async-jobs/http-api/${id}/Resource`);
  });

  it("record the deployer's choice when the project's stack is deployed with -c auth=none", () => {
    // Prepare
    const app = checkedApp({ auth: 'none' });

    // Act
    const findings = findingsOf(app);

    // Assess
    expect(findings).toEqual([]);
    expect(JSON.stringify(app.node.findAll().flatMap((construct) => construct.node.metadata))).toContain("auth type 'none' was chosen for this deployment");
  });
});
