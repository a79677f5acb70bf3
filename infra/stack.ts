import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { AsyncJobs, type AsyncJobsProps } from './async-jobs.ts';

/** Properties of {@link AsyncJobsStack}. */
export interface AsyncJobsStackProps extends StackProps {
  /** Passed to the {@link AsyncJobs} construct. @default {} */
  readonly asyncJobs?: AsyncJobsProps;
}

/** A thin stack: the {@link AsyncJobs} construct and the outputs a caller needs. */
export class AsyncJobsStack extends Stack {
  public readonly asyncJobs: AsyncJobs;

  constructor(scope: Construct, id: string, props: AsyncJobsStackProps = {}) {
    super(scope, id, props);
    this.asyncJobs = new AsyncJobs(this, 'async-jobs', props.asyncJobs);
    new CfnOutput(this, 'ApiUrl', { value: this.asyncJobs.api.apiEndpoint, description: 'Base URL of the jobs API' });
    new CfnOutput(this, 'TopicArn', { value: this.asyncJobs.topic.topicArn, description: 'SNS topic of completion events' });
  }
}
