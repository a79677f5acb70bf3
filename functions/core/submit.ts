/** Accepting a job: validate, record it as QUEUED, enqueue it. */
import type { JobRecord } from './job.ts';
import { newJobId } from './ids.ts';
import type { JobQueue, JobStore } from './ports.ts';
import { unavailableProblem, unknownJobTypeProblem, validationProblem } from './problem.ts';
import { type Schema, validate } from './schema.ts';

/** Limits that come from configuration. */
export interface SubmitLimits {
  readonly maxDelaySeconds: number;
  readonly retryAfterSeconds: number;
}

/** The `POST /jobs` body schema. */
export function submitSchema(limits: SubmitLimits): Schema {
  return {
    type: 'object',
    required: ['type'],
    additionalProperties: false,
    properties: {
      type: {
        type: 'string',
        description: 'The job type; one of the registered processors.',
        minLength: 1,
        maxLength: 64,
        pattern: '^[a-z][a-z0-9-]*$',
      },
      input: { description: 'Any JSON value; handed to the processor as is.' },
      delaySeconds: {
        type: 'integer',
        description: 'Seconds to wait before the job may start.',
        minimum: 0,
        maximum: limits.maxDelaySeconds,
      },
      metadata: {
        type: 'object',
        description: 'Caller-defined labels, returned with the job and its events.',
        maxProperties: 16,
        additionalProperties: { type: 'string', maxLength: 256 },
      },
    },
  };
}

/** The parts of a validated submit body. */
interface SubmitBody {
  readonly type: string;
  readonly input?: unknown;
  readonly delaySeconds?: number;
  readonly metadata?: Record<string, string>;
}

/** What submitting needs. */
export interface SubmitDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly knownTypes: readonly string[];
  readonly limits: SubmitLimits;
  readonly now: () => Date;
}

/**
 * Validates the body and creates the job. The record is written before the message is sent, so the
 * worker always finds it; if the message cannot be sent the record is removed again and the caller
 * gets a 503 to retry, so no job is left that would never run.
 */
export async function submitJob(deps: SubmitDeps, owner: string, body: unknown): Promise<JobRecord> {
  const errors = validate(submitSchema(deps.limits), body);
  if (errors.length > 0) throw validationProblem(errors);
  const request = body as SubmitBody;
  if (!deps.knownTypes.includes(request.type)) throw unknownJobTypeProblem(request.type, deps.knownTypes);

  const now = deps.now().toISOString();
  const job: JobRecord = {
    id: newJobId(),
    owner,
    type: request.type,
    status: 'QUEUED',
    input: request.input ?? null,
    ...(request.metadata && { metadata: request.metadata }),
    ...(request.delaySeconds && { delaySeconds: request.delaySeconds }),
    attempts: 0,
    createdAt: now,
    updatedAt: now,
  };
  // 128 random bits: a collision is not a case to handle, but never overwrite one silently.
  if (!(await deps.store.create(job))) throw new Error(`job id collision on ${job.id}`);
  try {
    await deps.queue.enqueue({ jobId: job.id, type: job.type }, request.delaySeconds);
  } catch (error) {
    await deps.store.discard(job.id, 'QUEUED');
    throw unavailableProblem(
      'The job could not be queued; nothing was created. Retry the request.',
      deps.limits.retryAfterSeconds,
      error,
    );
  }
  return job;
}
