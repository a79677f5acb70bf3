/**
 * The client keeps its own copy of the API's types (client/types.ts), so it can be used without the
 * server's code. These tests hold that copy to what the server sends: the members of a job and of its
 * webhook delivery, which of them are always present, and the event envelope.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Job, JobEvent, WebhookDelivery } from '../../client/index.ts';
import type { JobResource } from '#core/job';
import { jobResourceSchema } from '#core/job-schema';
import type { JobEvent as ServerJobEvent } from '#core/ports';

/** Every member of `T`, each marked as always present or not: an object of this type must name them all. */
type Presence<T> = { readonly [K in keyof T]-?: object extends Pick<T, K> ? 'optional' : 'required' };

const jobMembers: Presence<Job> = {
  id: 'required',
  type: 'required',
  status: 'required',
  done: 'required',
  progress: 'optional',
  result: 'optional',
  error: 'optional',
  metadata: 'optional',
  attempts: 'required',
  timeoutSeconds: 'required',
  delaySeconds: 'optional',
  cancelRequested: 'optional',
  callbackUrl: 'optional',
  webhook: 'optional',
  createdAt: 'required',
  startedAt: 'optional',
  finishedAt: 'optional',
  expiresAt: 'optional',
  links: 'required',
};

const webhookMembers: Presence<WebhookDelivery> = {
  status: 'required',
  attempts: 'required',
  lastStatusCode: 'optional',
  lastError: 'optional',
  lastAttemptAt: 'optional',
};

interface ObjectSchema {
  readonly required?: readonly string[];
  readonly properties: Readonly<Record<string, unknown>>;
}

function membersOf(schema: ObjectSchema): { readonly all: string[]; readonly required: string[] } {
  return { all: Object.keys(schema.properties).sort(), required: [...(schema.required ?? [])].sort() };
}

function membersOfType(presence: Readonly<Record<string, 'optional' | 'required'>>): { readonly all: string[]; readonly required: string[] } {
  return {
    all: Object.keys(presence).sort(),
    required: Object.entries(presence)
      .filter(([, marked]) => marked === 'required')
      .map(([name]) => name)
      .sort(),
  };
}

describe('the client’s types against what the API sends', () => {
  it('a Job has every member of the served job schema, and requires exactly the ones the schema requires', () => {
    expect(membersOfType(jobMembers)).toEqual(membersOf(jobResourceSchema as ObjectSchema));
  });

  it('a job’s webhook delivery has every member of the served schema, with the same statuses', () => {
    const schema = (jobResourceSchema as ObjectSchema).properties.webhook as ObjectSchema & { properties: { status: { enum: string[] } } };
    expect(membersOfType(webhookMembers)).toEqual(membersOf(schema));
    const statuses: Record<WebhookDelivery['status'], true> = { pending: true, retrying: true, delivered: true, gone: true, failed: true, refused: true };
    expect(Object.keys(statuses).sort()).toEqual([...schema.properties.status.enum].sort());
  });

  it('what the server builds is what the client reads, member for member (checked by `npm run typecheck`)', () => {
    // (The server's ProblemDetails is an interface, which TypeScript does not match to the client's index
    // signature for extension members; a copy of it, an object type, it does.)
    const asClientJob = ({ error, ...rest }: JobResource): Job => ({ ...rest, ...(error && { error: { ...error } }) });
    const asClientEvent = ({ data: { error, ...rest }, ...event }: ServerJobEvent): JobEvent => ({ ...event, data: { ...rest, ...(error && { error: { ...error } }) } });
    expectTypeOf(asClientJob).returns.toEqualTypeOf<Job>();
    expectTypeOf(asClientEvent).returns.toEqualTypeOf<JobEvent>();
    expectTypeOf<keyof JobResource>().toEqualTypeOf<keyof Job>();
    expectTypeOf<keyof ServerJobEvent['data']>().toEqualTypeOf<keyof JobEvent['data']>();
  });
});
