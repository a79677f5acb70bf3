/**
 * The JSON Schemas of the job resource and of problem details, for the OpenAPI description (and the
 * tests that check responses against it). Apart from job.ts so that functions that never describe
 * the API do not carry them.
 */
import { JOB_STATUSES, type JobResource, type Progress } from './job.ts';
import { type ProblemDetails, ProblemType } from './problem.ts';
import type { Schema } from './schema.ts';
import type { WebhookState } from './webhooks.ts';

/** Problem details (RFC 9457) as the API and failed jobs carry them; the schema of {@link ProblemDetails}. */
export const problemDetailsSchema: Schema = {
  type: 'object',
  title: 'Problem',
  description: 'Problem details (RFC 9457). Members other than these may be added as extensions.',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', description: 'Names the kind of problem: a path such as `/problems/not-found`; branch on this, not on `title`.' },
    title: { type: 'string', description: 'A short summary of the kind of problem, the same for every occurrence.' },
    status: { type: 'integer', minimum: 100, maximum: 599, description: 'The HTTP status code of this kind of problem.' },
    detail: { type: 'string', description: 'What went wrong this time, for a person to read.' },
    instance: { type: 'string', description: 'The path of the request that failed.' },
    errors: {
      type: 'array',
      description: 'Each field that broke the rules (validation errors only).',
      items: {
        type: 'object',
        required: ['field', 'message'],
        additionalProperties: false,
        properties: {
          field: { type: 'string', description: 'A JSON pointer into the request body (`/type`), or the name of a query parameter or header.' },
          message: { type: 'string' },
        },
      },
    },
  } satisfies Record<keyof ProblemDetails, Schema>,
};

/** The problem types a job that did not succeed can carry in `error`. */
const JOB_FAILURE_TYPES = [
  ProblemType.jobFailed,
  ProblemType.attemptsExhausted,
  ProblemType.jobTimedOut,
  ProblemType.jobAbandoned,
  ProblemType.resultTooLarge,
] as const;

/** Every webhook delivery status, checked complete against {@link WebhookState} by the compiler. */
const WEBHOOK_STATUSES = {
  pending: 'not tried yet',
  retrying: 'failed, will be tried again',
  delivered: 'the receiver answered 2xx',
  gone: 'the receiver answered 410: not tried again',
  failed: 'every attempt failed',
  refused: 'the target was refused (SSRF rules)',
} satisfies Record<WebhookState['status'], string>;

/** Forbids the property it is the schema of. */
const ABSENT: Schema = { not: {} };

const timestamp = (description: string): Schema => ({ type: 'string', format: 'date-time', description });

/**
 * The schema of {@link JobResource}: every member, and the rules tying them to `status` (`done` exactly
 * for the final states, `result` only when SUCCEEDED, `error` only when FAILED or CANCELLED).
 */
export const jobResourceSchema: Schema = {
  type: 'object',
  title: 'Job',
  description: 'A job as the API and its completion events show it.',
  required: ['id', 'type', 'status', 'done', 'attempts', 'timeoutSeconds', 'createdAt', 'links'],
  additionalProperties: false,
  properties: {
    id: { type: 'string', description: 'The job id: opaque and unguessable.' },
    type: { type: 'string', description: 'The job type it was submitted with.' },
    status: { type: 'string', enum: JOB_STATUSES, description: 'QUEUED and RUNNING change; SUCCEEDED, FAILED and CANCELLED are final.' },
    done: { type: 'boolean', description: 'True exactly for the final states: the job will not change again.' },
    progress: {
      type: 'object',
      description: 'The latest progress its processor reported.',
      required: ['completed'],
      additionalProperties: false,
      properties: {
        completed: { type: 'number' },
        total: { type: 'number' },
        percent: { type: 'integer', minimum: 0, maximum: 100, description: 'Present when `total` is known.' },
        message: { type: 'string' },
      } satisfies Record<keyof Progress, Schema>,
    },
    result: { description: 'What the processor returned, any JSON value. Present only when SUCCEEDED.' },
    error: {
      ...problemDetailsSchema,
      description: 'Why the job did not succeed. Present only when FAILED or CANCELLED.',
      properties: { ...problemDetailsSchema.properties, type: { type: 'string', enum: [...JOB_FAILURE_TYPES, ProblemType.jobCancelled] } },
    },
    metadata: { type: 'object', description: 'The labels it was submitted with.', additionalProperties: { type: 'string' } },
    attempts: { type: 'integer', minimum: 0, description: 'Attempts started so far.' },
    timeoutSeconds: { type: 'integer', minimum: 1, description: 'Seconds one attempt may run.' },
    delaySeconds: { type: 'integer', minimum: 0, description: 'The start delay it was submitted with.' },
    cancelRequested: { type: 'boolean', const: true, description: 'Present on a RUNNING job asked to stop: it will end CANCELLED, unless it finishes first.' },
    callbackUrl: { type: 'string', description: 'Where its completion event is delivered as a signed webhook.' },
    webhook: {
      type: 'object',
      description: 'How the delivery of its completion event to `callbackUrl` is going.',
      required: ['status', 'attempts'],
      additionalProperties: false,
      properties: {
        status: { type: 'string', enum: Object.keys(WEBHOOK_STATUSES), description: 'delivered, gone (410), failed and refused are final.' },
        attempts: { type: 'integer', minimum: 0 },
        lastStatusCode: { type: 'integer', description: 'The HTTP status the receiver last answered.' },
        lastError: { type: 'string' },
        lastAttemptAt: timestamp('When the latest delivery attempt was made.'),
      } satisfies Record<keyof NonNullable<JobResource['webhook']>, Schema>,
    },
    createdAt: timestamp('When it was accepted.'),
    startedAt: timestamp('When its latest attempt started.'),
    finishedAt: timestamp('When it reached its final state.'),
    expiresAt: timestamp('When a finished job stops being readable (404 from then on).'),
    links: {
      type: 'object',
      required: ['self'],
      additionalProperties: false,
      properties: { self: { type: 'string', description: 'The path of this resource: poll it.' } },
    },
  } satisfies Record<keyof JobResource, Schema>,
  oneOf: [
    {
      title: 'QUEUED',
      properties: { status: { const: 'QUEUED' }, done: { const: false }, result: ABSENT, error: ABSENT, cancelRequested: ABSENT, finishedAt: ABSENT },
    },
    { title: 'RUNNING', properties: { status: { const: 'RUNNING' }, done: { const: false }, result: ABSENT, error: ABSENT, finishedAt: ABSENT } },
    {
      title: 'SUCCEEDED',
      required: ['result', 'finishedAt', 'expiresAt'],
      properties: { status: { const: 'SUCCEEDED' }, done: { const: true }, error: ABSENT, cancelRequested: ABSENT },
    },
    {
      title: 'FAILED',
      required: ['error', 'finishedAt', 'expiresAt'],
      properties: {
        status: { const: 'FAILED' },
        done: { const: true },
        result: ABSENT,
        cancelRequested: ABSENT,
        error: { properties: { type: { enum: JOB_FAILURE_TYPES } } },
      },
    },
    {
      title: 'CANCELLED',
      required: ['error', 'finishedAt', 'expiresAt'],
      properties: {
        status: { const: 'CANCELLED' },
        done: { const: true },
        result: ABSENT,
        cancelRequested: ABSENT,
        error: { properties: { type: { const: ProblemType.jobCancelled } } },
      },
    },
  ],
};
