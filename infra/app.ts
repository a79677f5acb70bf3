import { App } from 'aws-cdk-lib';
import { AsyncJobsStack, addSecurityChecks } from './stack.ts';

const app = new App();
new AsyncJobsStack(app, 'AsyncJobs', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// cdk-nag's AWS Solutions checks: `cdk synth` fails on any finding not acknowledged with a reason.
addSecurityChecks(app);
