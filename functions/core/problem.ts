/**
 * Problem details (RFC 9457): every error the API returns, and every error a failed job carries.
 * Errors are values with a problem type; they are turned into HTTP responses in one place (`http.ts`).
 */

/** One field-level validation failure; `field` is a JSON pointer into the request body. */
export interface FieldError {
  readonly field: string;
  readonly message: string;
}

/** An RFC 9457 problem details object. */
export interface ProblemDetails {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail?: string;
  readonly instance?: string;
  readonly errors?: readonly FieldError[];
}

/** Problem types this API uses. Each is documented in the README under "Problem types". */
export const ProblemType = {
  validation: '/problems/validation-error',
  malformedJson: '/problems/malformed-json',
  unsupportedMediaType: '/problems/unsupported-media-type',
  payloadTooLarge: '/problems/payload-too-large',
  unknownJobType: '/problems/unknown-job-type',
  notFound: '/problems/not-found',
  unavailable: '/problems/service-unavailable',
  internal: '/problems/internal-error',
  jobFailed: '/problems/job-failed',
  jobTimedOut: '/problems/job-timed-out',
  resultTooLarge: '/problems/result-too-large',
  jobCancelled: '/problems/job-cancelled',
  jobAbandoned: '/problems/job-abandoned',
  attemptsExhausted: '/problems/attempts-exhausted',
  idempotencyKeyReused: '/problems/idempotency-key-reused',
  alreadyFinished: '/problems/job-already-finished',
  methodNotAllowed: '/problems/method-not-allowed',
  routeNotFound: '/problems/route-not-found',
  unidentifiedCaller: '/problems/unidentified-caller',
} as const;

/** An error that carries the problem it represents; thrown by domain code, mapped to HTTP by `http.ts`. */
export class ProblemError extends Error {
  constructor(
    readonly problem: ProblemDetails,
    /** Extra response headers that belong to this problem (e.g. `Retry-After` on 503). */
    readonly headers: Readonly<Record<string, string>> = {},
    options?: ErrorOptions,
  ) {
    super(problem.detail ?? problem.title, options);
    this.name = 'ProblemError';
  }
}

/** `400`: the body is not what the schema asks for; `errors` names each field. */
export function validationProblem(errors: readonly FieldError[]): ProblemError {
  const detail = errors.map((e) => `${e.field || '(body)'}: ${e.message}`).join('; ');
  return new ProblemError({ type: ProblemType.validation, title: 'Invalid request', status: 400, detail, errors });
}

/** `400`: the body is not parseable JSON. */
export function malformedJsonProblem(reason: string): ProblemError {
  return new ProblemError({
    type: ProblemType.malformedJson,
    title: 'Malformed JSON',
    status: 400,
    detail: `The request body is not valid JSON: ${reason}`,
  });
}

/** `415`: the request is not `application/json`. */
export function unsupportedMediaTypeProblem(contentType: string | undefined): ProblemError {
  return new ProblemError({
    type: ProblemType.unsupportedMediaType,
    title: 'Unsupported media type',
    status: 415,
    detail: `Send the job as application/json; got ${contentType ? `'${contentType}'` : 'no content-type'}.`,
  });
}

/** `413`: the body is over the documented limit. */
export function payloadTooLargeProblem(size: number, limit: number): ProblemError {
  return new ProblemError({
    type: ProblemType.payloadTooLarge,
    title: 'Payload too large',
    status: 413,
    detail: `The request body is ${size} bytes; the limit is ${limit} bytes.`,
  });
}

/** `413` for a body under the limit as sent that is over it as the job stores it. */
export function storedBodyTooLargeProblem(size: number, limit: number): ProblemError {
  return new ProblemError({
    type: ProblemType.payloadTooLarge,
    title: 'Payload too large',
    status: 413,
    detail: `The request body is ${size} bytes once parsed and written as JSON again, as the job stores it (numbers in full: 1e20 takes 21 bytes); the limit is ${limit} bytes.`,
  });
}

/** `422`: the job type is well formed but no processor is registered for it. */
export function unknownJobTypeProblem(type: string, known: readonly string[]): ProblemError {
  return new ProblemError({
    type: ProblemType.unknownJobType,
    title: 'Unknown job type',
    status: 422,
    detail: `No processor handles job type '${type}'. Known types: ${known.join(', ')}.`,
    errors: [{ field: '/type', message: `unknown job type '${type}'` }],
  });
}

/**
 * `403`: the authorizer let the request through but named nobody: jobs belong to the caller who created
 * them, so such a request must not share an owner with every other caller like it.
 */
export function unidentifiedCallerProblem(detail: string): ProblemError {
  return new ProblemError({ type: ProblemType.unidentifiedCaller, title: 'Caller not identified', status: 403, detail });
}

/** `404`: no such job for this caller (another caller's job reads the same). */
export function jobNotFoundProblem(id: string): ProblemError {
  return new ProblemError({
    type: ProblemType.notFound,
    title: 'Job not found',
    status: 404,
    detail: `There is no job '${id}'.`,
  });
}

/** `503`: a dependency refused the request; nothing was created, and the caller may retry. */
export function unavailableProblem(detail: string, retryAfterSeconds: number, cause?: unknown): ProblemError {
  return new ProblemError(
    { type: ProblemType.unavailable, title: 'Service unavailable', status: 503, detail },
    { 'retry-after': String(retryAfterSeconds) },
    { cause },
  );
}

/** `422`: the Idempotency-Key was used before with a different body. */
export function idempotencyKeyReusedProblem(): ProblemError {
  return new ProblemError({
    type: ProblemType.idempotencyKeyReused,
    title: 'Idempotency key reused',
    status: 422,
    detail: 'This Idempotency-Key was already used with a different request body; use a new key for a new job.',
  });
}

/** `409`: the job has ended and cannot be cancelled. */
export function alreadyFinishedProblem(id: string, status: string): ProblemError {
  return new ProblemError({
    type: ProblemType.alreadyFinished,
    title: 'Job already finished',
    status: 409,
    detail: `Job '${id}' has already ended ${status}; there is nothing to cancel.`,
  });
}

/** `400`: one query parameter or header is invalid; `field` names it. */
export function invalidParameterProblem(field: string, message: string): ProblemError {
  return validationProblem([{ field, message }]);
}

/** `404`: no route matches the path. */
export function routeNotFoundProblem(path: string): ProblemError {
  return new ProblemError({
    type: ProblemType.routeNotFound,
    title: 'Not found',
    status: 404,
    detail: `There is no resource at '${path}'. The API serves /jobs, /jobs/{id} and /openapi.json.`,
  });
}

/** `405`: the path exists but not with this method; the detail names the methods to use, `Allow` every one the path has (`allow`, by default the same). */
export function methodNotAllowedProblem(method: string, path: string, allowed: readonly string[], allow: readonly string[] = allowed): ProblemError {
  return new ProblemError(
    {
      type: ProblemType.methodNotAllowed,
      title: 'Method not allowed',
      status: 405,
      detail: `${method} is not supported on '${path}'; use ${allowed.join(', ')}.`,
    },
    { allow: allow.join(', ') },
  );
}
