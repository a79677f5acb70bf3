/**
 * Logs with Powertools for AWS Lambda: structured JSON logs carrying the request id (and the job id
 * where there is one). Traces are in `#aws/tracing` and metrics in `#aws/metrics`, each loaded only by
 * the functions that use it. Made once per container.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { metrics as observed } from '#infra/config';

const serviceName = observed.service;

export const logger = new Logger({ serviceName });
/** The logging the domain asks for (message plus fields), on a Powertools logger. */
export interface DomainLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields: Record<string, unknown>): void;
}

/** The domain's logging on a Powertools logger, with `fields` on every line. */
function adapt(target: Logger, fields: Record<string, unknown> = {}): DomainLogger {
  return {
    info: (message, extra = {}) => target.info(message, { ...fields, ...extra }),
    warn: (message, extra = {}) => target.warn(message, { ...fields, ...extra }),
    error: (message, extra) => target.error(message, { ...fields, ...extra }),
  };
}

/** The invocation's logger, for domain code. */
export const log: DomainLogger = adapt(logger);

/**
 * A logger that puts `jobId` on every line (the records of a batch log side by side). It adds the key to
 * each line rather than making a child logger: a Powertools child counts its own first line as the
 * container's cold start, and building one per record costs more than the line.
 */
export function jobLogger(jobId: string): DomainLogger {
  return adapt(logger, { jobId });
}

/**
 * Wraps an entry point: the invocation's context and request id on every log line. (An entry point
 * that records metrics wraps its handler in `measured` too, and one that makes AWS calls in `tracedHandler`.)
 */
export function instrumented<E, R>(handler: (event: E, context: Context) => Promise<R>, requestIdOf?: (event: E) => string | undefined) {
  return async (event: E, context: Context): Promise<R> => {
    logger.resetKeys();
    logger.addContext(context);
    const requestId = requestIdOf?.(event);
    if (requestId) logger.appendKeys({ requestId });
    return handler(event, context);
  };
}
