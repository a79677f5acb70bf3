/**
 * Logs and traces with Powertools for AWS Lambda: structured JSON logs carrying the request id (and
 * the job id where there is one), and X-Ray subsegments for every AWS SDK call (unless the deployment
 * turned tracing off). Metrics are in `#aws/metrics`, loaded only by the functions that record them.
 * Made once per container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import { metrics as observed } from '#infra/config';

const serviceName = observed.service;

export const logger = new Logger({ serviceName });
/**
 * Powertools Tracer, unless the deployment turned tracing off (the construct's `tracing` prop).
 * `ASYNC_JOBS_TRACING` is replaced at build time (infra/bundling.ts), so a bundle built with tracing
 * off holds no tracing code at all: no X-Ray SDK to load and no async hooks on every promise.
 * The Tracer is off outside Lambda anyway (it checks the execution environment): locally it traces nothing.
 */
export const tracer: Tracer | undefined =
  process.env.ASYNC_JOBS_TRACING === 'false' ? undefined : new (await import('@aws-lambda-powertools/tracer')).Tracer({ serviceName });

/** The logging the domain asks for (message plus fields), on a Powertools logger. */
export interface DomainLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

function adapt(target: Logger): DomainLogger {
  return {
    info: (message, fields = {}) => target.info(message, fields),
    warn: (message, fields = {}) => target.warn(message, fields),
    error: (message, fields) => target.error(message, fields),
  };
}

/** The invocation's logger, for domain code. */
export const log: DomainLogger = adapt(logger);

/** A logger that puts `jobId` on every line (the records of a batch log side by side). */
export function jobLogger(jobId: string): DomainLogger {
  return adapt(logger.createChild({ persistentKeys: { jobId } }));
}

/** Traces the SDK calls a client makes (a no-op when tracing is off). */
export function traced<T>(client: T): T {
  return tracer ? tracer.captureAWSv3Client(client) : client;
}

/**
 * Wraps an entry point: the invocation's context and request id on every log line, and the cold
 * start annotated. (An entry point that records metrics wraps its handler in `measured` too.)
 */
export function instrumented<E, R>(handler: (event: E, context: Context) => Promise<R>, requestIdOf?: (event: E) => string | undefined) {
  return async (event: E, context: Context): Promise<R> => {
    logger.resetKeys();
    logger.addContext(context);
    const requestId = requestIdOf?.(event);
    if (requestId) logger.appendKeys({ requestId });
    tracer?.annotateColdStart();
    return handler(event, context);
  };
}
