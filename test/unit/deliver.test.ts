/**
 * Delivering a completion event to a job's callback URL: only the one event the job's final write
 * fixed is ever signed and sent, whatever else reaches the delivery queue.
 */
import { describe, expect, it } from 'vitest';
import { type DeliveryDeps, deliverEvent, handleDelivery } from '#core/deliver';
import { newEventId } from '#core/ids';
import type { JobRecord } from '#core/job';
import { completionEvent } from '#core/lifecycle';
import { webhookHeaders } from '#core/webhooks';
import { InMemoryJobStore } from '../support/in-memory-store.ts';

const AT = '2026-11-24T12:00:00.000Z';

function job(fields: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'job_AAAAAAAAAAAAAAAAAAAAAA',
    owner: 'alice',
    type: 'echo',
    status: 'SUCCEEDED',
    input: { n: 1 },
    result: { n: 1 },
    timeoutSeconds: 60,
    attempts: 1,
    createdAt: AT,
    updatedAt: AT,
    startedAt: AT,
    finishedAt: AT,
    eventId: newEventId(),
    callbackUrl: 'https://hooks.example.com/jobs',
    webhook: { status: 'pending', attempts: 0 },
    ...fields,
  } as JobRecord;
}

function deliverer(store: InMemoryJobStore) {
  const sent: { target: string; headers: Record<string, string>; body: string }[] = [];
  const warnings: string[] = [];
  const deps: DeliveryDeps = {
    store,
    send: async (target, headers, body) => {
      sent.push({ target, headers, body });
      return { status: 204 };
    },
    secrets: async () => [`whsec_${Buffer.alloc(32, 7).toString('base64')}`],
    schedule: [1, 2],
    jitter: 0,
    maxRetryAfterSeconds: 60,
    now: () => new Date(AT),
    logger: { info: () => undefined, warn: (message) => warnings.push(message) },
  };
  return { deps, sent, warnings };
}

describe('deliverEvent', () => {
  it('signs and sends the job’s completion event, and records it delivered', async () => {
    // Prepare
    const store = new InMemoryJobStore();
    const ended = job();
    store.jobs.set(ended.id, ended);
    const { deps, sent } = deliverer(store);
    const raw = JSON.stringify(completionEvent(ended));
    // Act
    const outcome = await deliverEvent(deps, raw, 1);
    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    expect(sent).toHaveLength(1);
    expect(sent[0]?.body).toBe(raw);
    expect(sent[0]?.headers['webhook-id']).toBe(ended.eventId);
    expect((await store.get(ended.id))?.webhook).toMatchObject({ status: 'delivered', lastStatusCode: 204 });
  });

  it('sends the job’s own event, not a body someone queued under its event id', async () => {
    // Prepare: a message sent straight to the delivery queue, with the real ids and a result of its own
    const store = new InMemoryJobStore();
    const ended = job();
    store.jobs.set(ended.id, ended);
    const { deps, sent, warnings } = deliverer(store);
    const genuine = completionEvent(ended);
    const forged = JSON.stringify({ ...genuine, data: { ...genuine.data, result: { amount: 1_000_000 } } });
    // Act
    const outcome = await deliverEvent(deps, forged, 1);
    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    expect(sent.map(({ body }) => body)).toEqual([JSON.stringify(genuine)]);
    expect(sent[0]?.headers['webhook-signature']).toBe(webhookHeaders(await deps.secrets(), genuine.id, Date.parse(AT) / 1000, JSON.stringify(genuine))['webhook-signature']);
    expect(warnings).toEqual(['the queued event differs from its job; the job’s own event is sent']);
  });

  it.each([
    ['an event id the job’s final write did not fix', job(), (ended: JobRecord) => ({ ...completionEvent(ended), id: newEventId(), data: { ...completionEvent(ended).data, result: 'forged' } })],
    [
      'a job that has not ended',
      job({ status: 'QUEUED', finishedAt: undefined, eventId: undefined }),
      (queued: JobRecord) => ({ id: newEventId(), type: 'job.succeeded', timestamp: AT, data: { id: queued.id, status: 'SUCCEEDED', result: 'forged' } }),
    ],
  ])('sends nothing for %s, and leaves the job’s webhook state alone', async (_case, record, eventOf) => {
    // Prepare
    const store = new InMemoryJobStore();
    store.jobs.set(record.id, record);
    const { deps, sent, warnings } = deliverer(store);
    // Act
    const outcome = await deliverEvent(deps, JSON.stringify(eventOf(record)), 1);
    // Assess
    expect(outcome).toEqual({ kind: 'done' });
    expect(sent).toEqual([]);
    expect((await store.get(record.id))?.webhook).toEqual({ status: 'pending', attempts: 0 });
    expect(warnings).toEqual(['not the completion event of its job; not delivered']);
  });

  it.each([
    ['a failed attempt before the last', 1, 'answers 503', []],
    ['a failed last attempt', 3, 'answers 503', ['WebhooksDeadLettered']],
    ['an error before the last attempt', 1, 'cannot be read', []],
    ['an error on the last attempt', 3, 'cannot be read', ['WebhooksDeadLettered']],
  ])('counts a dead letter once the message goes to the DLQ, and says so with the job’s id: %s, when the store %s', async (_case, attempt, trouble, deadLettered) => {
    // Prepare (a schedule of two retries: three attempts, the queue's maxReceiveCount)
    const store = new InMemoryJobStore();
    const ended = job();
    store.jobs.set(ended.id, ended);
    const { deps } = deliverer(store);
    const warned: { message: string; fields?: Record<string, unknown> }[] = [];
    deps.logger.warn = (message, fields) => warned.push({ message, ...(fields && { fields }) });
    const counted: string[] = [];
    const failing: DeliveryDeps = {
      ...deps,
      ...(trouble === 'answers 503'
        ? { send: async () => ({ status: 503 }) }
        : {
            store: Object.assign(Object.create(store) as InMemoryJobStore, {
              get: async () => {
                throw new Error('ProvisionedThroughputExceededException');
              },
            }),
          }),
      telemetry: { count: (name) => counted.push(name), milliseconds: () => undefined },
    };
    // Act
    const outcome = await handleDelivery(failing, JSON.stringify(completionEvent(ended)), attempt).catch((error: unknown) => error);
    // Assess
    expect(counted.filter((name) => name === 'WebhooksDeadLettered')).toEqual(deadLettered);
    const forGood = warned.filter(({ message }) => message === 'webhook failed for good; the message goes to the DLQ');
    expect(forGood).toEqual(deadLettered.map(() => expect.objectContaining({ fields: expect.objectContaining({ jobId: ended.id, eventId: ended.eventId, attempt }) })));
    if (trouble === 'answers 503') expect(outcome).toMatchObject({ kind: 'retry' });
    else expect(outcome).toBeInstanceOf(Error);
  });
});
