/**
 * Metrics with Powertools Metrics, in CloudWatch embedded metric format (namespace `AsyncJobs`,
 * dimension `service`). A module of its own, so the functions that record no metric (the reads, the
 * OpenAPI document, the fallback route, the reconciler) do not load it. Made once per container.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricName, Telemetry } from '#core/telemetry';
import { metrics as observed } from '#infra/config';

export const metrics = new Metrics({ namespace: observed.namespace, serviceName: observed.service });

/** The domain's metrics port on Powertools Metrics. */
export const telemetry: Telemetry = {
  count: (name: MetricName, value = 1) => metrics.addMetric(name, MetricUnit.Count, value),
  milliseconds: (name: MetricName, value: number) => metrics.addMetric(name, MetricUnit.Milliseconds, Math.max(0, value)),
};

/**
 * Wraps an entry point that records metrics (inside `instrumented`): what the invocation recorded is
 * flushed when it ends, however it ends.
 */
export function measured<A extends unknown[], R>(handler: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
  return async (...args: A): Promise<R> => {
    try {
      return await handler(...args);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
