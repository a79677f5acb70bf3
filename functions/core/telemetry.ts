/**
 * The metrics the domain reports. Names are shared with the dashboard and alarms (infra) and are
 * what CloudWatch shows, in the `AsyncJobs` namespace; locally the same lines are printed.
 */

export const MetricName = {
  jobsSubmitted: 'JobsSubmitted',
  jobsSucceeded: 'JobsSucceeded',
  jobsFailed: 'JobsFailed',
  jobsCancelled: 'JobsCancelled',
  /** From start to end of the attempt that ended the job, in milliseconds. */
  jobDuration: 'JobDuration',
  /** From submit to the first start, in milliseconds. */
  timeInQueue: 'TimeInQueue',
  webhookDeliveries: 'WebhookDeliveries',
  /** A delivery attempt the receiver did not take: an error or no answer (retried, unless it was the last), or 410 Gone. */
  webhookFailures: 'WebhookFailures',
  /** A webhook that failed its last attempt: its message goes to the webhook dead-letter queue. */
  webhooksDeadLettered: 'WebhooksDeadLettered',
  /** A dead letter of the jobs queue that on-dead-letter could not handle: it comes back, its job not yet ended. */
  deadLettersFailed: 'DeadLettersFailed',
} as const;

export type MetricName = (typeof MetricName)[keyof typeof MetricName];

/** Where metrics go. */
export interface Telemetry {
  count(name: MetricName, value?: number): void;
  milliseconds(name: MetricName, value: number): void;
}

/** Reports nothing: for code paths and tests that do not measure. */
export const noTelemetry: Telemetry = { count: () => undefined, milliseconds: () => undefined };

/** The metric counting a final status. */
export function endMetric(status: string): MetricName | undefined {
  if (status === 'SUCCEEDED') return MetricName.jobsSucceeded;
  if (status === 'FAILED') return MetricName.jobsFailed;
  if (status === 'CANCELLED') return MetricName.jobsCancelled;
  return undefined;
}
