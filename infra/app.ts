import { App } from 'aws-cdk-lib';
import { AsyncJobsStack } from './stack.ts';

const app = new App();
new AsyncJobsStack(app, 'AsyncJobs', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
