/**
 * The handlers, called as Lambda calls them, against real AWS-protocol emulators. Defined once and
 * run per DynamoDB engine (dynalite and DynamoDB Local).
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DynamoEngine } from '#infra/local/emulators';
import { type Backends, startBackends } from '../support/backends.ts';
import { getEvent, lambdaContext, sqsEvent, submitEvent } from '../support/events.ts';

type Handler = (event: unknown, context?: unknown) => Promise<{ statusCode: number; headers?: Record<string, unknown>; body?: string }>;
type Worker = (event: unknown, context: unknown) => Promise<{ batchItemFailures: { itemIdentifier: string }[] }>;

function json(result: { body?: string }): Record<string, unknown> {
  return JSON.parse(result.body ?? 'null') as Record<string, unknown>;
}

export function defineHandlerSuite(engine: DynamoEngine): void {
  describe(`handlers on ${engine} and fauxqs`, () => {
    let backends: Backends;
    let eventsQueue: string;
    let submit: Handler;
    let get: Handler;
    let processJobs: Worker;

    beforeAll(async () => {
      backends = await startBackends(engine);
      eventsQueue = await backends.subscribeTopic('integration-events');
      // The handlers read their environment when loaded, as on a Lambda cold start.
      submit = (await import('../../functions/submit-job.ts')).handler as Handler;
      get = (await import('../../functions/get-job.ts')).handler as Handler;
      processJobs = (await import('../../functions/process-jobs.ts')).handler as unknown as Worker;
    });
    afterAll(async () => {
      await backends?.stop();
    });

    /** Submits, then hands the queued message to the worker the way the event source does. */
    async function submitAndProcess(body: unknown, owner?: string) {
      const accepted = await submit(submitEvent(body, { ...(owner && { callerArn: owner }) }));
      const messages = await backends.drain(backends.resources.queueUrl, 1);
      const response = await processJobs(sqsEvent(messages), lambdaContext());
      return { accepted, messages, response, id: json(accepted).id as string };
    }

    it('accepts a job with 202, Location and Retry-After, records it QUEUED and queues one message', async () => {
      // Act
      const result = await submit(submitEvent({ type: 'echo', input: { hello: 'world' } }));
      // Assess
      expect(result.statusCode).toBe(202);
      const job = json(result);
      expect(job).toMatchObject({ type: 'echo', status: 'QUEUED', done: false, attempts: 0 });
      expect(result.headers?.location).toBe(`/jobs/${job.id}`);
      expect(Number(result.headers?.['retry-after'])).toBeGreaterThan(0);
      const read = await get(getEvent(job.id as string));
      expect(read.statusCode).toBe(202);
      expect(json(read)).toMatchObject({ id: job.id, status: 'QUEUED' });
      const messages = await backends.drain(backends.resources.queueUrl, 1);
      expect(messages.map((body) => JSON.parse(body))).toEqual([{ jobId: job.id, type: 'echo' }]);
    });

    it('runs a job to SUCCEEDED, answers 200 with the result, and publishes one job.succeeded event', async () => {
      // Act
      const { id, response } = await submitAndProcess({ type: 'echo', input: { n: 42 } });
      // Assess
      expect(response.batchItemFailures).toEqual([]);
      const read = await get(getEvent(id));
      expect(read.statusCode).toBe(200);
      expect(json(read)).toMatchObject({ id, status: 'SUCCEEDED', done: true, result: { n: 42 }, attempts: 1 });
      const events = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'job.succeeded', data: { id, status: 'SUCCEEDED', result: { n: 42 } } });
      expect(events[0].id).toMatch(/^evt_/);
    });

    it('ends a job whose processor throws as FAILED with a problem-details error and a job.failed event', async () => {
      // Act
      const { id } = await submitAndProcess({ type: 'fail', input: { message: 'the disk is full' } });
      // Assess
      const read = await get(getEvent(id));
      expect(read.statusCode).toBe(200);
      expect(json(read)).toMatchObject({
        status: 'FAILED',
        done: true,
        error: { type: '/problems/job-failed', title: 'Job failed', status: 500, detail: 'the disk is full' },
      });
      expect(json(read)).not.toHaveProperty('result');
      const events = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
      expect(events.map((event) => [event.type, event.data.id])).toEqual([['job.failed', id]]);
    });

    it('never runs a job twice nor announces it twice when its message is delivered again', async () => {
      // Prepare
      const { id, messages } = await submitAndProcess({ type: 'echo', input: 1 });
      const first = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
      // Act
      const again = await processJobs(sqsEvent(messages), lambdaContext());
      // Assess
      expect(again.batchItemFailures).toEqual([]);
      expect(json(await get(getEvent(id)))).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
      expect(first).toHaveLength(1);
      expect(await backends.drain(eventsQueue, 1)).toEqual([]);
    });

    it('shows progress while a job runs and answers 202 until it ends', async () => {
      // Prepare
      const accepted = await submit(submitEvent({ type: 'sleep', input: { seconds: 1.5 } }));
      const id = json(accepted).id as string;
      const messages = await backends.drain(backends.resources.queueUrl, 1);
      // Act
      const running = processJobs(sqsEvent(messages), lambdaContext());
      await new Promise((resolve) => setTimeout(resolve, 1_250));
      const during = await get(getEvent(id));
      await running;
      const after = await get(getEvent(id));
      // Assess
      expect(during.statusCode).toBe(202);
      expect(json(during)).toMatchObject({ status: 'RUNNING', progress: { completed: 1, total: 2, percent: 50 } });
      expect(after.statusCode).toBe(200);
      expect(json(after)).toMatchObject({ status: 'SUCCEEDED', progress: { completed: 2, total: 2, percent: 100 } });
      await backends.drain(eventsQueue, 1);
    });

    it.each([
      ['an unknown id', 'job_AAAAAAAAAAAAAAAAAAAAAA', undefined],
      ['a malformed id', 'not-a-job', undefined],
      ['another caller’s job', 'OWNED', 'arn:aws:iam::000000000000:user/mallory'],
    ])('answers 404 problem+json for %s', async (_case, idOrOwned, caller) => {
      // Prepare
      let id = idOrOwned;
      if (id === 'OWNED') {
        const accepted = await submit(submitEvent({ type: 'echo' }, { callerArn: 'arn:aws:iam::000000000000:user/alice' }));
        id = json(accepted).id as string;
        await backends.drain(backends.resources.queueUrl, 1);
      }
      // Act
      const result = await get(getEvent(id, { ...(caller && { callerArn: caller }) }));
      // Assess
      expect(result.statusCode).toBe(404);
      expect(result.headers?.['content-type']).toBe('application/problem+json');
      expect(json(result)).toMatchObject({ status: 404, title: 'Job not found' });
    });

    it.each([
      ['malformed JSON', '{"type":', {}, 400, '/problems/malformed-json'],
      ['a missing type', { input: 1 }, {}, 400, '/problems/validation-error'],
      ['an unknown type', { type: 'teleport' }, {}, 422, '/problems/unknown-job-type'],
      ['a wrong content type', 'type=echo', { 'content-type': 'application/x-www-form-urlencoded' }, 415, '/problems/unsupported-media-type'],
      ['a delay over 900 s', { type: 'echo', delaySeconds: 901 }, {}, 400, '/problems/validation-error'],
    ])('refuses %s with a problem and creates nothing', async (_case, body, headers, status, type) => {
      // Act
      const result = await submit(submitEvent(body, { headers: headers as Record<string, string> }));
      // Assess
      expect(result.statusCode).toBe(status);
      expect(result.headers?.['content-type']).toBe('application/problem+json');
      expect(json(result)).toMatchObject({ type, status });
      expect(await backends.drain(backends.resources.queueUrl, 0)).toEqual([]);
    });

    it('answers 503 with Retry-After and leaves no record when the job cannot be queued', async () => {
      // Prepare: a submit function whose queue does not exist.
      const before = await backends.clients.dynamodb.send(new ScanCommand({ TableName: backends.resources.tableName }));
      const realQueueUrl = process.env.QUEUE_URL;
      vi.resetModules();
      process.env.QUEUE_URL = `${realQueueUrl}-missing`;
      const brokenSubmit = (await import('../../functions/submit-job.ts')).handler as Handler;
      process.env.QUEUE_URL = realQueueUrl;
      // Act
      const result = await brokenSubmit(submitEvent({ type: 'echo' }));
      // Assess
      expect(result.statusCode).toBe(503);
      expect(result.headers?.['retry-after']).toBeDefined();
      expect(json(result)).toMatchObject({ type: '/problems/service-unavailable', status: 503 });
      const after = await backends.clients.dynamodb.send(new ScanCommand({ TableName: backends.resources.tableName }));
      expect(after.Count).toBe(before.Count);
    });
  });
}
