/** Accepting a job: validate, record it as QUEUED, enqueue it; with an Idempotency-Key, at most once. */
import { idempotentJobId, newJobId, requestFingerprint, sweepShardOf } from './ids.ts';
import { isExpired, type JobRecord, jobPath, runnableAt, secondsUntilRunnable } from './job.ts';
import { type LifecycleSettings, queuedSweepAt } from './lifecycle.ts';
import type { JobQueue, JobStore } from './ports.ts';
import {
  type ProblemError,
  idempotencyKeyReusedProblem,
  invalidParameterProblem,
  storedBodyTooLargeProblem,
  unavailableProblem,
  unknownJobTypeProblem,
  validationProblem,
} from './problem.ts';
import { jsonDepth, pointerSegment, type Schema, validate } from './schema.ts';
import { MetricName, noTelemetry, type Telemetry } from './telemetry.ts';
import { callbackUrlErrors, resolvedAddressesRefusal, type WebhookMode } from './webhooks.ts';

/** Limits that come from configuration and from the deployed worker's timeout. */
export interface SubmitLimits {
  readonly maxDelaySeconds: number;
  readonly retryAfterSeconds: number;
  readonly defaultTimeoutSeconds: number;
  /** The longest attempt the worker function allows. */
  readonly maxTimeoutSeconds: number;
  /** The largest body, as sent and as stored (the record must also hold the result in one DynamoDB item). */
  readonly maxBodyBytes: number;
}

/** The `POST /jobs` body schema. */
export function submitSchema(limits: Pick<SubmitLimits, 'maxDelaySeconds' | 'defaultTimeoutSeconds' | 'maxTimeoutSeconds'>): Schema {
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
      input: {
        description:
          'Any JSON value, handed to the processor as is; for a type with an input rule (the `JobInput.<type>` schemas), a value that matches it (an absent input counts as `null`).',
      },
      delaySeconds: {
        type: 'integer',
        description: 'Seconds to wait before the job may start.',
        minimum: 0,
        maximum: limits.maxDelaySeconds,
      },
      timeoutSeconds: {
        type: 'integer',
        description: `Seconds one attempt may run (default ${limits.defaultTimeoutSeconds}).`,
        minimum: 1,
        maximum: limits.maxTimeoutSeconds,
      },
      callbackUrl: {
        type: 'string',
        description: 'Where to deliver the completion event as a signed webhook (https; http to loopback only locally).',
        maxLength: 2048,
      },
      metadata: {
        type: 'object',
        description: 'Caller-defined labels, returned with the job and its events.',
        maxProperties: 16,
        propertyNames: { minLength: 1, maxLength: 128 },
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
  readonly timeoutSeconds?: number;
  readonly metadata?: Record<string, string>;
  readonly callbackUrl?: string;
}

/** What submitting needs. */
export interface SubmitDeps {
  readonly store: JobStore;
  readonly queue: JobQueue;
  readonly knownTypes: readonly string[];
  /** The input rules of the types that have one (functions/processors/types.ts). */
  readonly inputSchemas: Readonly<Partial<Record<string, Schema>>>;
  readonly limits: SubmitLimits;
  readonly lifecycle: LifecycleSettings;
  /** Secret of the keyed hash that turns caller + Idempotency-Key into a job id. */
  readonly idempotencySecret: string;
  /** Callback URL rules: the mode, and a resolver for the host (the addresses it names). */
  readonly webhooks: { readonly mode: WebhookMode; resolve(host: string): Promise<string[]> };
  /** @default noTelemetry */
  readonly telemetry?: Telemetry;
  readonly now: () => Date;
}

/** The outcome of a submit: the job, and whether it is the replay of an earlier identical submit. */
export interface Submitted {
  readonly job: JobRecord;
  readonly replayed: boolean;
}

/** What the API accepts as an `Idempotency-Key`: 1 to 255 visible ASCII characters. The OpenAPI document states this schema. */
export const idempotencyKeySchema: Schema = { type: 'string', minLength: 1, maxLength: 255, pattern: '^[\\x21-\\x7e]+$' };

/** Deepest nesting accepted in a submit body. */
export const MAX_DEPTH = 32;

/**
 * Validates the body and creates the job. The record is written before the message is sent, so the
 * worker always finds it. With an Idempotency-Key the id is derived from caller and key, so the
 * conditional write itself detects a repeat: no extra write on the hot path. `enqueueDeadline` gives
 * up on a send that hangs while there is still time to flag the job for the reconciler and answer 503.
 */
export async function submitJob(deps: SubmitDeps, owner: string, body: unknown, idempotencyKey?: string, enqueueDeadline?: AbortSignal): Promise<Submitted> {
  if (idempotencyKey !== undefined && validate(idempotencyKeySchema, idempotencyKey).length > 0) {
    throw invalidParameterProblem('Idempotency-Key', 'must be 1 to 255 visible ASCII characters');
  }
  // Stored, hashed and serialized: bounded nesting keeps every step off the edge of the stack.
  if (jsonDepth(body) > MAX_DEPTH) {
    // Named by the member of the body that nests too deep (`/input`, as a rule), else the body itself.
    const members = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.entries(body) : [];
    const deep = members.find(([, value]) => jsonDepth(value) >= MAX_DEPTH)?.[0];
    throw invalidParameterProblem(deep === undefined ? '' : `/${pointerSegment(deep)}`, `the body nests deeper than ${MAX_DEPTH} levels`);
  }
  const errors = validate(submitSchema(deps.limits), body);
  // What can be told of the callback URL without a lookup, and a known type's input rule, are told with the
  // schema's findings, so that one answer names every bad field.
  const fields: { readonly type?: unknown; readonly input?: unknown; readonly callbackUrl?: unknown } = body !== null && typeof body === 'object' ? body : {};
  if (typeof fields.callbackUrl === 'string' && !errors.some((error) => error.field === '/callbackUrl')) errors.push(...callbackUrlErrors(fields.callbackUrl, deps.webhooks.mode));
  const inputRule = typeof fields.type === 'string' && deps.knownTypes.includes(fields.type) ? deps.inputSchemas[fields.type] : undefined;
  if (inputRule) errors.push(...validate(inputRule, fields.input ?? null, '/input'));
  if (errors.length > 0) throw validationProblem(errors);
  // The record holds the body as parsed: written out again, it can be larger than it was sent.
  const storedBytes = Buffer.byteLength(JSON.stringify(body));
  if (storedBytes > deps.limits.maxBodyBytes) throw storedBodyTooLargeProblem(storedBytes, deps.limits.maxBodyBytes);
  const request = body as SubmitBody;
  if (!deps.knownTypes.includes(request.type)) throw unknownJobTypeProblem(request.type, deps.knownTypes);
  if (request.callbackUrl !== undefined) {
    const refusal = await callbackResolutionRefusal(deps, request.callbackUrl);
    if (refusal) {
      // A repeat of a keyed request whose job exists answers as the first one did, whatever the host resolves
      // to now (a lookup that fails for a moment): the job keeps the URL it was accepted with, and every
      // delivery checks the address again. Only this path reads: a host that resolves costs a repeat nothing.
      // An expired record is no job: the API answers 404 for it, and a create would replace it.
      const existing = idempotencyKey === undefined ? undefined : await deps.store.get(idempotentJobId(deps.idempotencySecret, owner, idempotencyKey));
      if (existing && !isExpired(existing, deps.now())) return replay(deps, existing.id, owner, requestFingerprint(body), enqueueDeadline, existing);
      throw validationProblem([{ field: '/callbackUrl', message: `is refused: ${refusal}` }]);
    }
  }

  const now = deps.now();
  const id = idempotencyKey === undefined ? newJobId() : idempotentJobId(deps.idempotencySecret, owner, idempotencyKey);
  const requestHash = idempotencyKey === undefined ? undefined : requestFingerprint(body);
  const createdAt = now.toISOString();
  const job: JobRecord = {
    id,
    owner,
    type: request.type,
    status: 'QUEUED',
    input: request.input ?? null,
    ...(request.metadata && { metadata: request.metadata }),
    ...(request.delaySeconds && { delaySeconds: request.delaySeconds }),
    timeoutSeconds: request.timeoutSeconds ?? Math.min(deps.limits.defaultTimeoutSeconds, deps.limits.maxTimeoutSeconds),
    ...(requestHash && { requestHash }),
    ...(request.callbackUrl !== undefined && { callbackUrl: request.callbackUrl, webhook: { status: 'pending', attempts: 0 } }),
    attempts: 0,
    createdAt,
    updatedAt: createdAt,
  };
  if (!(await deps.store.create(job, now))) {
    if (requestHash === undefined) throw new Error(`job id collision on ${id}`); // 128 random bits: never silently
    return replay(deps, id, owner, requestHash, enqueueDeadline);
  }
  try {
    await deps.queue.enqueue({ jobId: job.id, type: job.type }, request.delaySeconds, enqueueDeadline);
  } catch (error) {
    if (idempotencyKey === undefined) return withdrawUnqueued(deps, job, error);
    // A concurrent identical request may already have been told 202 for this id: keep the record,
    // and flag it for the reconciler, which enqueues it unless a retry with the same key does first.
    await flagForReconciler(deps, job);
    throw retryWithKeyProblem(deps, 'could not be queued', error);
  }
  (deps.telemetry ?? noTelemetry).count(MetricName.jobsSubmitted);
  return { job, replayed: false };
}

/** The 503 for a keyed job that is kept but not yet known to be queued: the caller retries with the same key. */
function retryWithKeyProblem(deps: SubmitDeps, what: string, cause: unknown): ProblemError {
  return unavailableProblem(`The job ${what} right now. Retry with the same Idempotency-Key: the job will not be created twice.`, deps.limits.retryAfterSeconds, cause);
}

/**
 * Flags a kept job whose message could not be sent for the reconciler; false when even that write failed.
 * Its entry is due when the job may start, not a stale-queue wait later: that marks a job known to have
 * no message, which a repeat of the request then sends (`mayLackMessage`).
 */
function flagForReconciler(deps: SubmitDeps, job: JobRecord): Promise<boolean> {
  // Not a job that started after all (a send given up at the deadline may have gone through): it has its message.
  return deps.store
    .scheduleSweep(job.id, 'QUEUED', runnableAt(job).toISOString(), sweepShardOf(job.id, deps.lifecycle.sweepShards), { neverStarted: true })
    .catch(() => false);
}

/**
 * After a failed send of a job without an Idempotency-Key: nobody else knows its id, so remove the
 * record and let the caller's retry start afresh. Says what became of it when that is not so.
 */
async function withdrawUnqueued(deps: SubmitDeps, job: JobRecord, error: unknown): Promise<Submitted> {
  const removal = await deps.store.discard(job.id, 'QUEUED').then(
    (deleted) => (deleted ? 'removed' : 'started'),
    () => 'failed' as const,
  );
  if (removal === 'removed') throw unavailableProblem('The job could not be queued; nothing was created. Retry the request.', deps.limits.retryAfterSeconds, error);
  if (removal === 'started') {
    // The send was slow, not lost (given up at the deadline): the worker already has the job. It was accepted.
    const current = await deps.store.get(job.id).catch(() => undefined);
    if (!current) {
      throw unavailableProblem(`The job was queued late and has started: read job ${job.id} at ${jobPath(job.id)} rather than submit it again.`, deps.limits.retryAfterSeconds, error);
    }
    (deps.telemetry ?? noTelemetry).count(MetricName.jobsSubmitted);
    return { job: current, replayed: false };
  }
  // The table failed too: rather than leave a record QUEUED forever, let the reconciler run it.
  const flagged = await flagForReconciler(deps, job);
  throw unavailableProblem(
    flagged
      ? `The job could not be queued, and its record could not be removed: job ${job.id} may still run later. Send an Idempotency-Key to retry without that risk.`
      : `The job could not be queued, and its record could neither be removed nor handed to the reconciler: job ${job.id} stays QUEUED until you cancel it (DELETE ${jobPath(job.id)}). Send an Idempotency-Key to retry without that risk.`,
    deps.limits.retryAfterSeconds,
    error,
  );
}

/** Why a callback URL, already found well formed, is refused for what its host resolves to; undefined if it is not. */
async function callbackResolutionRefusal(deps: SubmitDeps, raw: string): Promise<string | undefined> {
  const host = new URL(raw).hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = await deps.webhooks.resolve(host);
  } catch {
    addresses = [];
  }
  return resolvedAddressesRefusal(addresses, deps.webhooks.mode);
}

/**
 * Whether a QUEUED job that never started may have no message. The request that created it flags it
 * for the reconciler when its SendMessage fails, before it answers 503: its entry is then due when the
 * job may start (`flagForReconciler`), where any other entry of a QUEUED job is due a stale-queue wait
 * later. So the caller's retry finds the flag and sends the message at once instead of leaving the job
 * to the next sweep. Without the flag (its own write failed too, or the queue lost the message), a job
 * still waiting a stale-queue wait after it could have started, or past the entry the reconciler left
 * when it last sent its message, is taken to have none. A job that merely waits in the queue or out its `delaySeconds` has its
 * message: a repeat sends nothing.
 */
function mayLackMessage(job: JobRecord, settings: LifecycleSettings, now: Date): boolean {
  const stale = Date.parse(queuedSweepAt(settings, runnableAt(job)));
  if (job.sweepAt === undefined) return now.getTime() > stale;
  // Any other entry is due at least a stale-queue wait after the job could start or a message was last sent
  // (the reconciler waits longer after each message it sends: see resendWaitSeconds).
  const entry = Date.parse(job.sweepAt);
  return entry < stale || now.getTime() > entry;
}

async function replay(deps: SubmitDeps, id: string, owner: string, requestHash: string, enqueueDeadline?: AbortSignal, known?: JobRecord): Promise<Submitted> {
  const existing = known ?? (await deps.store.get(id));
  if (!existing) {
    // It expired and was deleted between the two calls: the caller's retry creates it again.
    throw unavailableProblem('The request raced with the expiry of its earlier job; retry it.', deps.limits.retryAfterSeconds);
  }
  // The id is derived from the owner, so an existing record is this caller's; check anyway.
  if (existing.owner !== owner) throw new Error(`idempotent job ${id} belongs to another owner`);
  if (existing.requestHash !== requestHash) throw idempotencyKeyReusedProblem();
  if (existing.status !== 'QUEUED' || existing.attempts !== 0) return { job: existing, replayed: true };
  const now = deps.now();
  const shard = existing.sweepShard ?? sweepShardOf(existing.id, deps.lifecycle.sweepShards);
  const neverStarted = { neverStarted: true };
  if (!mayLackMessage(existing, deps.lifecycle, now)) {
    // This answer says 202 from the record alone, yet the request that wrote it may have died before
    // its message was sent (or may be sending it still): the reconciler's entry, cleared by the start,
    // makes sure the job runs. Only repeats pay that write, and only the first of them.
    if (existing.sweepAt === undefined) {
      try {
        // Never over a flag the creating request wrote since this read: its caller's retry must still find it.
        await deps.store.scheduleSweep(existing.id, 'QUEUED', queuedSweepAt(deps.lifecycle, runnableAt(existing)), shard, { ...neverStarted, noEntry: true });
      } catch (error) {
        throw retryWithKeyProblem(deps, 'could not be confirmed as queued', error);
      }
    }
    return { job: existing, replayed: true };
  }
  // Sent with what is left of its delay: a repeat must not start a delayed job early. A message
  // beside one that did arrive after all is harmless: starting a job is conditional on its status.
  const wait = secondsUntilRunnable(existing, now);
  try {
    await deps.queue.enqueue({ jobId: existing.id, type: existing.type }, wait > 0 ? wait : undefined, enqueueDeadline);
  } catch (error) {
    // Flagged (if it was not yet), so that the reconciler sends it if no retry does first.
    if (existing.sweepAt === undefined) await flagForReconciler(deps, existing);
    throw retryWithKeyProblem(deps, 'could not be queued', error);
  }
  // Sent: the entry goes to a stale-queue wait, so further repeats (and the reconciler) send nothing more.
  const later = new Date(Math.max(now.getTime(), runnableAt(existing).getTime()));
  await deps.store.scheduleSweep(existing.id, 'QUEUED', queuedSweepAt(deps.lifecycle, later), shard, neverStarted).catch(() => false);
  return { job: existing, replayed: true };
}
