import { App } from 'aws-cdk-lib';
import { AsyncJobsStack, addSecurityChecks } from './stack.ts';

const app = new App();
// Environment-agnostic: the template names no account or region (it uses AWS::Region and AWS::AccountId), so
// an assembly synthesized offline or in CI deploys to wherever the credentials `cdk deploy` runs with point.
// To pin one, pass `env: { account: '123456789012', region: 'eu-west-1' }`.
new AsyncJobsStack(app, 'AsyncJobs');
// cdk-nag's AWS Solutions checks: `cdk synth` fails on any finding not acknowledged with a reason.
addSecurityChecks(app);
