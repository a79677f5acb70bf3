/**
 * The handlers, called as Lambda calls them, against real AWS-protocol emulators. Defined once and
 * run per DynamoDB engine (dynalite and DynamoDB Local).
 */
import { GetItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoJobStore, toItem } from '#aws/job-store';
import { newJobId, sweepShardOf } from '#core/ids';
import { lifecycle, names } from '#infra/config';
import type { DynamoEngine } from '#infra/local/emulators';
import { type Backends, startBackends } from '../support/backends.ts';
import { getEvent, httpEvent, lambdaContext, sqsEvent, submitEvent } from '../support/events.ts';

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
    let list: Handler;
    let cancel: Handler;
    let onDeadLetter: Worker;
    let reconcile: () => Promise<{ requeued: number; announced: number; failures: number }>;

    beforeAll(async () => {
      backends = await startBackends(engine);
      eventsQueue = await backends.subscribeTopic('integration-events');
      // The handlers read their environment when loaded, as on a Lambda cold start.
      // Lambda always passes a context; the handlers read it (request id, function name).
      const withContext = (handler: (event: never, context: never) => Promise<unknown>): Handler => (event) => handler(event as never, lambdaContext() as never) as ReturnType<Handler>;
      submit = withContext((await import('../../functions/submit-job.ts')).handler);
      get = withContext((await import('../../functions/get-job.ts')).handler);
      processJobs = (await import('../../functions/process-jobs.ts')).handler as unknown as Worker;
      list = withContext((await import('../../functions/list-jobs.ts')).handler);
      cancel = withContext((await import('../../functions/cancel-job.ts')).handler);
      onDeadLetter = (await import('../../functions/on-dead-letter.ts')).handler as unknown as Worker;
      const reconcileHandler = (await import('../../functions/reconcile-jobs.ts')).handler;
      reconcile = () => reconcileHandler({}, lambdaContext());
    });

    const tableName = () => backends.resources.tableName;
    async function countJobs(): Promise<number> {
      return (await backends.clients.dynamodb.send(new ScanCommand({ TableName: tableName(), Select: 'COUNT' }))).Count ?? 0;
    }
    function cancelEvent(id: string, callerArn?: string) {
      return httpEvent('DELETE', '/jobs/{id}', `/jobs/${id}`, { pathParameters: { id }, ...(callerArn && { callerArn }) });
    }
    function listEvent(query: Record<string, string>, callerArn?: string) {
      const event = httpEvent('GET', '/jobs', '/jobs', { ...(callerArn && { callerArn }) });
      return { ...event, queryStringParameters: query, rawQueryString: new URLSearchParams(query).toString() };
    }
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

    it('never runs nor finishes a job twice when its message is delivered again, and announces only the same event', async () => {
      // Prepare
      const { id, messages } = await submitAndProcess({ type: 'echo', input: 1 });
      const first = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
      const before = json(await get(getEvent(id)));
      // Act
      const again = await processJobs(sqsEvent(messages), lambdaContext());
      // Assess: at least once, with the event id the record fixed, so subscribers drop the copy
      expect(again.batchItemFailures).toEqual([]);
      expect(json(await get(getEvent(id)))).toEqual(before);
      expect(before).toMatchObject({ status: 'SUCCEEDED', attempts: 1 });
      expect(first).toHaveLength(1);
      const repeated = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
      expect(repeated).toEqual(first);
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

    describe('idempotency keys', () => {
      it('turns 50 concurrent identical submits into exactly one job, and every answer carries its id', async () => {
        // Prepare
        const before = await countJobs();
        const body = { type: 'echo', input: { order: 1 } };
        // Act
        const answers = await Promise.all(
          Array.from({ length: 50 }, () => submit(submitEvent(body, { headers: { 'idempotency-key': 'order-1' } }))),
        );
        // Assess
        expect(answers.map((answer) => answer.statusCode)).toEqual(Array(50).fill(202));
        const ids = new Set(answers.map((answer) => json(answer).id));
        expect(ids.size).toBe(1);
        expect(answers.filter((answer) => answer.headers?.['idempotent-replayed'] === 'true')).toHaveLength(49);
        expect(await countJobs()).toBe(before + 1);
        expect(await backends.drain(backends.resources.queueUrl, 1)).toHaveLength(1);
      });

      it('replays with the same id for the same body in another key order, and answers 422 for a different body', async () => {
        // Prepare
        const first = await submit(submitEvent({ type: 'echo', input: { a: 1, b: 2 } }, { headers: { 'idempotency-key': 'k-422' } }));
        await backends.drain(backends.resources.queueUrl, 1);
        // Act
        const same = await submit(submitEvent('{"input":{"b":2,"a":1},"type":"echo"}', { headers: { 'idempotency-key': 'k-422' } }));
        const different = await submit(submitEvent({ type: 'echo', input: { a: 2 } }, { headers: { 'idempotency-key': 'k-422' } }));
        // Assess
        expect(same.statusCode).toBe(202);
        expect(json(same).id).toBe(json(first).id);
        expect(same.headers?.['idempotent-replayed']).toBe('true');
        expect(different.statusCode).toBe(422);
        expect(json(different)).toMatchObject({ type: '/problems/idempotency-key-reused' });
      });

      it('scopes keys to the caller: the same key from two callers makes two jobs', async () => {
        // Act
        const alice = await submit(submitEvent({ type: 'echo' }, { callerArn: 'arn:aws:iam::1:user/alice', headers: { 'idempotency-key': 'shared' } }));
        const bob = await submit(submitEvent({ type: 'echo' }, { callerArn: 'arn:aws:iam::1:user/bob', headers: { 'idempotency-key': 'shared' } }));
        await backends.drain(backends.resources.queueUrl, 1);
        // Assess
        expect([alice.statusCode, bob.statusCode]).toEqual([202, 202]);
        expect(json(alice).id).not.toBe(json(bob).id);
        expect(bob.headers?.['idempotent-replayed']).toBeUndefined();
      });
    });

    describe('cancel', () => {
      it('cancels a QUEUED job at once (200) and never runs it when its message arrives', async () => {
        // Prepare
        const id = json(await submit(submitEvent({ type: 'echo', input: 'x' }))).id as string;
        const messages = await backends.drain(backends.resources.queueUrl, 1);
        // Act
        const cancelled = await cancel(cancelEvent(id));
        const response = await processJobs(sqsEvent(messages), lambdaContext());
        // Assess
        expect(cancelled.statusCode).toBe(200);
        expect(json(cancelled)).toMatchObject({ status: 'CANCELLED', done: true, error: { type: '/problems/job-cancelled' } });
        expect(response.batchItemFailures).toEqual([]);
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'CANCELLED', attempts: 0 });
        const events = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
        expect(events.map((event) => [event.type, event.data.id])).toEqual([['job.cancelled', id]]);
      });

      it('asks a RUNNING job to stop (202); its processor sees the signal and the job ends CANCELLED', async () => {
        // Prepare
        const id = json(await submit(submitEvent({ type: 'sleep', input: { seconds: 20 } }))).id as string;
        const messages = await backends.drain(backends.resources.queueUrl, 1);
        const running = processJobs(sqsEvent(messages), lambdaContext());
        await new Promise((resolve) => setTimeout(resolve, 500));
        const startedAt = Date.now();
        // Act
        const asked = await cancel(cancelEvent(id));
        await running;
        // Assess
        expect(asked.statusCode).toBe(202);
        expect(json(asked)).toMatchObject({ status: 'RUNNING', cancelRequested: true });
        expect(Date.now() - startedAt).toBeLessThan(10_000);
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'CANCELLED', done: true });
        await backends.drain(eventsQueue, 1);
      });

      it('answers 409 for a job that has ended, and 404 for another caller’s job', async () => {
        // Prepare
        const { id } = await submitAndProcess({ type: 'echo' });
        await backends.drain(eventsQueue, 1);
        // Act
        const finished = await cancel(cancelEvent(id));
        const foreign = await cancel(cancelEvent(id, 'arn:aws:iam::1:user/mallory'));
        // Assess
        expect(finished.statusCode).toBe(409);
        expect(json(finished)).toMatchObject({ type: '/problems/job-already-finished' });
        expect(foreign.statusCode).toBe(404);
      });
    });

    describe('list', () => {
      it('lists the caller’s jobs newest first, page by page, filtered by status, never another caller’s', async () => {
        // Prepare
        const owner = `arn:aws:iam::1:user/lister-${engine}`;
        const ids: string[] = [];
        for (const type of ['echo', 'fail', 'echo', 'echo', 'fail']) {
          const { id } = await submitAndProcess({ type }, owner);
          ids.push(id);
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await submit(submitEvent({ type: 'echo' }, { callerArn: 'arn:aws:iam::1:user/someone-else' }));
        await backends.drain(backends.resources.queueUrl, 1);
        await backends.drain(eventsQueue, 1);
        // Act
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = json(await list(listEvent({ limit: '2', ...(cursor && { cursor }) }, owner)));
          seen.push(...(page.jobs as { id: string }[]).map((job) => job.id));
          cursor = page.nextCursor as string | undefined;
        } while (cursor);
        const failed = json(await list(listEvent({ status: 'FAILED' }, owner)));
        // Assess
        expect(seen).toEqual([...ids].reverse());
        expect((failed.jobs as { id: string }[]).map((job) => job.id)).toEqual([ids[4], ids[1]]);
      });

      it.each([
        ['an unknown status', { status: 'DONE' }, 'status'],
        ['a limit over 100', { limit: '101' }, 'limit'],
        ['a limit that is not a number', { limit: 'ten' }, 'limit'],
        ['a forged cursor', { cursor: 'bm90LWEtY3Vyc29y' }, 'cursor'],
        ['a cursor of the caller naming only the owner', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous' })).toString('base64url') }, 'cursor'],
        ['a cursor of the caller without its job id', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous', createdAt: 'x' })).toString('base64url') }, 'cursor'],
        ['a cursor of the caller with an empty job id', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous', createdAt: '2026-01-01T00:00:00.000Z', id: '' })).toString('base64url') }, 'cursor'],
        ['a cursor of the caller with a field the table has no key for', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous', createdAt: '2026-01-01T00:00:00.000Z', id: 'job_AAAAAAAAAAAAAAAAAAAAAA', status: 'QUEUED' })).toString('base64url') }, 'cursor'],
        ['a cursor of the caller with a job id longer than the table takes', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous', createdAt: '2026-01-01T00:00:00.000Z', id: `job_${'A'.repeat(3000)}` })).toString('base64url') }, 'cursor'],
        ['a cursor of the caller with a time that is not one', { cursor: Buffer.from(JSON.stringify({ owner: 'anonymous', createdAt: '2'.repeat(1100), id: 'job_AAAAAAAAAAAAAAAAAAAAAA' })).toString('base64url') }, 'cursor'],
        ['an unknown parameter', { sort: 'asc' }, 'sort'],
      ])('answers 400 naming the field for %s', async (_case, query, field) => {
        // Act
        const result = await list(listEvent(query));
        // Assess
        expect(result.statusCode).toBe(400);
        expect(json(result).errors).toEqual([expect.objectContaining({ field })]);
      });

      it('lists a page whose records are larger than one batch read returns (a batch answers about 1 MB here, 16 MB on AWS)', async () => {
        // Prepare: 64 jobs of one owner, each with an input of 120 KB (the list does not return inputs, but reads them)
        const { jobStoreFrom } = await import('#aws/wiring');
        const store = jobStoreFrom(backends.clients.dynamodb);
        const owner = `arn:aws:iam::1:user/big-lister-${engine}`;
        const created: string[] = [];
        for (let i = 0; i < 64; i += 1) {
          const at = new Date(Date.UTC(2026, 0, 1, 0, 0, i));
          const id = `job_big${engine === 'dynalite' ? 'A' : 'B'}${String(i).padStart(18, '0')}`;
          await store.create({ id, owner, type: 'echo', status: 'QUEUED', input: 'y'.repeat(120_000), timeoutSeconds: 60, attempts: 0, createdAt: at.toISOString(), updatedAt: at.toISOString() }, at);
          created.push(id);
        }
        // Act (DynamoDB Local may end a page early, by the size of what its query read; the cursor goes on)
        const statuses: number[] = [];
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const result = await list(listEvent({ limit: '64', ...(cursor && { cursor }) }, owner));
          statuses.push(result.statusCode ?? 0);
          seen.push(...((json(result).jobs ?? []) as { id: string }[]).map((job) => job.id));
          cursor = json(result).nextCursor as string | undefined;
        } while (cursor && statuses.length < 40);
        // Assess
        expect(new Set(statuses)).toEqual(new Set([200]));
        expect(seen).toEqual([...created].reverse());
      });

      it('reads no more records than a page can carry: jobs with large results are read a page at a time, none twice', async () => {
        // Prepare: 30 ended jobs of one owner with results of 300 KB; a page carries at most 5 MB of them
        const { DynamoJobStore } = await import('#aws/job-store');
        const { listJobs } = await import('#core/list');
        const owner = `arn:aws:iam::1:user/large-results-${engine}`;
        const readKeys: number[] = [];
        // Counts the records batch reads answered (a batch may leave some unprocessed, asked for again)
        const counting = {
          send: async (command: never) => {
            const answer = (await backends.clients.dynamodb.send(command)) as { Responses?: Record<string, unknown[]> };
            for (const items of Object.values(answer.Responses ?? {})) readKeys.push(items.length);
            return answer;
          },
        };
        const store = new DynamoJobStore(counting as never, tableName(), { owner: names.ownerIndex, sweep: names.sweepIndex });
        const created: string[] = [];
        for (let i = 0; i < 30; i += 1) {
          const at = new Date(Date.UTC(2026, 0, 2, 0, 0, i)).toISOString();
          const id = `job_res${engine === 'dynalite' ? 'A' : 'B'}${String(i).padStart(18, '0')}`;
          const item = toItem({ id, owner, type: 'echo', status: 'SUCCEEDED', input: null, result: 'r'.repeat(300_000), timeoutSeconds: 60, attempts: 1, createdAt: at, updatedAt: at, finishedAt: at });
          await backends.clients.dynamodb.send(new PutItemCommand({ TableName: tableName(), Item: item }));
          created.push(id);
        }
        // Act
        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await listJobs(store, owner, { limit: '100', ...(cursor && { cursor }) }, new Date());
          pages.push(page.jobs.map((job) => job.id));
          cursor = page.nextCursor;
        } while (cursor && pages.length < 10);
        // Assess: every job once, newest first; about a page's worth of records read per page, not 100
        // (DynamoDB Local ends the keys-only query itself after a few such jobs: its pages are smaller)
        expect(pages.flat()).toEqual([...created].reverse());
        const read = readKeys.reduce((sum, keys) => sum + keys, 0);
        expect(read).toBeLessThan(30 + 2 * pages.length);
      });

      it('refuses another caller’s cursor', async () => {
        // Prepare
        const owner = 'arn:aws:iam::1:user/cursor-owner';
        for (let i = 0; i < 3; i += 1) await submit(submitEvent({ type: 'echo' }, { callerArn: owner }));
        await backends.drain(backends.resources.queueUrl, 1);
        const page = json(await list(listEvent({ limit: '1' }, owner)));
        // Act
        const stolen = await list(listEvent({ cursor: page.nextCursor as string }, 'arn:aws:iam::1:user/thief'));
        // Assess
        expect(page.nextCursor).toBeTypeOf('string');
        expect(stolen.statusCode).toBe(400);
      });
    });

    describe('failures in the worker', () => {
      it('retries a retryable failure with backoff and attempts counted, then succeeds', async () => {
        // Prepare
        const { id, messages, response } = await submitAndProcess({ type: 'flaky', input: { failAttempts: 1 } });
        // Assess the first attempt
        expect(response.batchItemFailures).toHaveLength(1);
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'QUEUED', attempts: 1 });
        // Act: the redelivery
        const again = await processJobs(sqsEvent(messages), lambdaContext());
        // Assess
        expect(again.batchItemFailures).toEqual([]);
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'SUCCEEDED', attempts: 2, result: { attempt: 2 } });
        await backends.drain(eventsQueue, 1);
      });

      it('fails a job after the configured attempts with a problem saying why', async () => {
        // Prepare
        const { id, messages } = await submitAndProcess({ type: 'flaky', input: { failAttempts: 99 } });
        // Act: each redelivery once its backoff has passed (the test moves the retry's due time instead of waiting it out)
        for (let i = 0; i < 5; i += 1) {
          await backends.clients.dynamodb.send(
            new UpdateItemCommand({
              TableName: tableName(),
              Key: { id: { S: id } },
              UpdateExpression: 'SET retryAt = :due',
              ConditionExpression: 'attribute_exists(retryAt)',
              ExpressionAttributeValues: { ':due': { S: new Date(Date.now() - 1_000).toISOString() } },
            }),
          ).catch(() => undefined); // ended: no retry is due any more
          await processJobs(sqsEvent(messages), lambdaContext());
        }
        // Assess
        const job = json(await get(getEvent(id)));
        expect(job).toMatchObject({ status: 'FAILED', error: { type: '/problems/attempts-exhausted' } });
        expect(job.attempts).toBeGreaterThanOrEqual(2);
        expect((job.error as { detail: string }).detail).toContain('transient failure');
        await backends.drain(eventsQueue, 1);
      });

      it('fails a job that runs past its timeout with a timeout problem, its processor stopped', async () => {
        // Act
        const startedAt = Date.now();
        const { id } = await submitAndProcess({ type: 'sleep', input: { seconds: 30 }, timeoutSeconds: 1 });
        // Assess
        expect(Date.now() - startedAt).toBeLessThan(10_000);
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'FAILED', error: { type: '/problems/job-timed-out' } });
        await backends.drain(eventsQueue, 1);
      });

      /** Submits a job and leaves it RUNNING as a killed worker would (asked to stop too, if `cancelled`); returns its message. */
      async function leftRunningByAKilledWorker(cancelled: boolean): Promise<{ id: string; messages: string[] }> {
        const id = json(await submit(submitEvent({ type: 'echo' }))).id as string;
        const messages = await backends.drain(backends.resources.queueUrl, 1);
        await backends.clients.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName(),
            Key: { id: { S: id } },
            UpdateExpression: `SET #s = :r${cancelled ? ', cancelRequestedAt = :at' : ''} REMOVE sweepAt, sweepShard`,
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':r': { S: 'RUNNING' }, ...(cancelled && { ':at': { S: new Date().toISOString() } }) },
          }),
        );
        return { id, messages };
      }

      it.each([
        ['marks a job FAILED when its message reaches the dead-letter queue', false, 'FAILED', '/problems/job-abandoned', 'job.failed'],
        [
          'ends CANCELLED, not FAILED, a job whose owner asked it to stop (DELETE answered 202) before its message reached the dead-letter queue',
          true,
          'CANCELLED',
          '/problems/job-cancelled',
          'job.cancelled',
        ],
      ])('%s', async (_, cancelled, status, problem, eventType) => {
        // Prepare: a job left RUNNING by a worker that was killed (and cancelled, in the second case).
        const { id, messages } = await leftRunningByAKilledWorker(cancelled as boolean);
        // Act
        const response = await onDeadLetter(sqsEvent(messages), lambdaContext());
        // Assess
        expect(response.batchItemFailures).toEqual([]);
        expect(json(await get(getEvent(id)))).toMatchObject({ status, error: { type: problem } });
        const events = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
        expect(events.map((event) => event.type)).toEqual([eventType]);
      });
    });

    describe('expiry and reconciliation', () => {
      it('reads as many due sweep entries as asked, past the 1 MB a page of the index holds', async () => {
        // Prepare: 20 due entries of jobs with 120 KB inputs, in a shard of their own (the index projects whole items)
        const store = new DynamoJobStore(backends.clients.dynamodb, tableName(), { owner: names.ownerIndex, sweep: names.sweepIndex });
        const past = new Date(Date.now() - 60_000).toISOString();
        for (let i = 0; i < 20; i += 1) {
          const item = toItem({
            id: newJobId(),
            owner: 'arn:aws:iam::1:user/sweep-pages',
            type: 'echo',
            status: 'QUEUED',
            input: 'x'.repeat(120_000),
            timeoutSeconds: 60,
            attempts: 0,
            createdAt: past,
            updatedAt: past,
            sweepAt: past,
            sweepShard: 'pages',
          });
          await backends.clients.dynamodb.send(new PutItemCommand({ TableName: tableName(), Item: item }));
        }
        // Act
        const due = await store.dueForSweep('pages', new Date(), 15);
        const all = await store.dueForSweep('pages', new Date(), 100);
        // Assess
        expect(due).toHaveLength(15);
        expect(all).toHaveLength(20);
      });


      it('reads an expired job as 404 before DynamoDB deletes it, and leaves it out of lists', async () => {
        // Prepare
        const owner = 'arn:aws:iam::1:user/expiry';
        const { id } = await submitAndProcess({ type: 'echo' }, owner);
        await backends.drain(eventsQueue, 1);
        await backends.clients.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName(),
            Key: { id: { S: id } },
            UpdateExpression: 'SET expiresAt = :past',
            ExpressionAttributeValues: { ':past': { N: String(Math.floor(Date.now() / 1000) - 1) } },
          }),
        );
        // Act
        const read = await get(getEvent(id, { callerArn: owner }));
        const listed = json(await list(listEvent({}, owner)));
        // Assess
        expect(read.statusCode).toBe(404);
        expect(listed.jobs).toEqual([]);
      });

      it('re-enqueues a QUEUED job whose message went missing, and announces an ended job that was not', async () => {
        // Prepare: a QUEUED record without a message, and a SUCCEEDED one never published, both overdue.
        const id = json(await submit(submitEvent({ type: 'echo' }))).id as string;
        await backends.drain(backends.resources.queueUrl, 1);
        const past = new Date(Date.now() - 60_000).toISOString();
        await backends.clients.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName(),
            Key: { id: { S: id } },
            UpdateExpression: 'SET sweepAt = :past, sweepShard = :shard',
            ExpressionAttributeValues: { ':past': { S: past }, ':shard': { S: sweepShardOf(id, lifecycle.sweepShards) } },
          }),
        );
        const ended = json(await submit(submitEvent({ type: 'echo' }))).id as string;
        await backends.drain(backends.resources.queueUrl, 1);
        const { Item } = await backends.clients.dynamodb.send(new GetItemCommand({ TableName: tableName(), Key: { id: { S: ended } } }));
        await backends.clients.dynamodb.send(
          new PutItemCommand({
            TableName: tableName(),
            Item: {
              ...Item,
              status: { S: 'SUCCEEDED' },
              result: { S: '"done"' },
              eventId: { S: 'evt_reconciledAAAAAAAAAAAA' },
              finishedAt: { S: past },
              sweepAt: { S: past },
              sweepShard: { S: sweepShardOf(ended, lifecycle.sweepShards) },
            },
          }),
        );
        // Act
        const report = await reconcile();
        // Assess
        expect(report.requeued).toBeGreaterThanOrEqual(1);
        expect(report.announced).toBeGreaterThanOrEqual(1);
        const messages = await backends.drain(backends.resources.queueUrl, 1);
        expect(messages.map((body) => JSON.parse(body).jobId).sort()).toEqual([id, ended].sort());
        // The worker runs the one and announces the other: only the worker publishes.
        await processJobs(sqsEvent(messages), lambdaContext());
        const events = (await backends.drain(eventsQueue, 2)).map((body) => JSON.parse(body));
        expect(events).toContainEqual(expect.objectContaining({ id: 'evt_reconciledAAAAAAAAAAAA', type: 'job.succeeded' }));
        expect(json(await get(getEvent(id)))).toMatchObject({ status: 'SUCCEEDED' });
        expect((await reconcile()).announced).toBe(0);
      });

      it('never puts a job whose end was recorded as announced back in the sweep', async () => {
        // Prepare: an ended job whose publish was recorded (it left the sweep)
        const id = json(await submit(submitEvent({ type: 'echo' }))).id as string;
        await backends.drain(backends.resources.queueUrl, 1);
        await backends.clients.dynamodb.send(
          new UpdateItemCommand({
            TableName: tableName(),
            Key: { id: { S: id } },
            UpdateExpression: 'SET #s = :s, eventId = :e, publishedAt = :at',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':s': { S: 'CANCELLED' }, ':e': { S: 'evt_announcedAAAAAAAAAAAAA' }, ':at': { S: new Date().toISOString() } },
          }),
        );
        const { jobStoreFrom } = await import('#aws/wiring');
        // Act: a reconciler run that read the entry before the publish was recorded defers it
        const scheduled = await jobStoreFrom(backends.clients.dynamodb).scheduleSweep(id, 'CANCELLED', new Date().toISOString(), '0');
        // Assess
        const { Item } = await backends.clients.dynamodb.send(new GetItemCommand({ TableName: tableName(), Key: { id: { S: id } } }));
        expect(scheduled).toBe(false);
        expect(Item?.sweepAt).toBeUndefined();
      });

      it('makes a sweep write only while its guard holds: never a job that started, never over an entry it did not read', async () => {
        // Prepare: one QUEUED job that never started, one that started and is QUEUED again for a retry
        const { jobStoreFrom } = await import('#aws/wiring');
        const store = jobStoreFrom(backends.clients.dynamodb);
        const [fresh, retrying] = [json(await submit(submitEvent({ type: 'echo' }))).id as string, json(await submit(submitEvent({ type: 'echo' }))).id as string];
        await backends.drain(backends.resources.queueUrl, 2);
        await store.transition(retrying, 'QUEUED', 'RUNNING', { countAttempt: true });
        await store.transition(retrying, 'RUNNING', 'QUEUED', {});
        const [first, second, third] = ['2026-01-01T00:00:00.000Z', '2026-01-01T00:05:00.000Z', '2026-01-01T00:10:00.000Z'];
        // Act
        const outcomes = {
          freshNeverStarted: await store.scheduleSweep(fresh, 'QUEUED', first, '0', { neverStarted: true }),
          retryingNeverStarted: await store.scheduleSweep(retrying, 'QUEUED', first, '0', { neverStarted: true }),
          freshSeenOther: await store.scheduleSweep(fresh, 'QUEUED', third, '0', { seenSweepAt: second }),
          freshSeenItsOwn: await store.scheduleSweep(fresh, 'QUEUED', second, '0', { seenSweepAt: first }),
          retryingSeenNone: await store.scheduleSweep(retrying, 'QUEUED', second, '0', { seenSweepAt: first }),
          freshNoEntry: await store.scheduleSweep(fresh, 'QUEUED', third, '0', { noEntry: true }),
          retryingDiscarded: await store.discard(retrying, 'QUEUED'),
        };
        // Assess
        expect(outcomes).toEqual({
          freshNeverStarted: true,
          retryingNeverStarted: false,
          freshSeenOther: false,
          freshSeenItsOwn: true,
          retryingSeenNone: false,
          freshNoEntry: false,
          retryingDiscarded: false,
        });
        expect((await store.get(fresh))?.sweepAt).toBe(second);
        expect((await store.get(retrying))?.sweepAt).toBeUndefined();
      });

      it('starts a job waiting out a retry only once the retry is due', async () => {
        // Prepare: a job that failed retryably, due again in a minute
        const { jobStoreFrom } = await import('#aws/wiring');
        const store = jobStoreFrom(backends.clients.dynamodb);
        const id = json(await submit(submitEvent({ type: 'echo' }))).id as string;
        await backends.drain(backends.resources.queueUrl, 1);
        const now = Date.now();
        await store.transition(id, 'QUEUED', 'RUNNING', { countAttempt: true });
        const retryAt = new Date(now + 60_000).toISOString();
        const requeued = await store.transition(id, 'RUNNING', 'QUEUED', { retryAt });
        const start = (at: number) => store.transition(id, 'QUEUED', 'RUNNING', { countAttempt: true, clear: ['retryAt'] }, { retryDueBy: new Date(at).toISOString() });
        // Act
        const waiting = await store.get(id);
        const early = await start(now + 10_000);
        const due = await start(now + 60_000);
        // Assess: the retry's time reads back (the worker, the dead-letter handler and Retry-After go by it)
        expect(requeued).toMatchObject({ status: 'QUEUED', retryAt });
        expect(waiting).toMatchObject({ status: 'QUEUED', retryAt });
        expect(early).toBeUndefined();
        expect(due).toMatchObject({ status: 'RUNNING', attempts: 2 });
        expect(due).not.toHaveProperty('retryAt');
      });

      it('refuses to put a running job back in the queue once its owner asked it to stop', async () => {
        // Prepare: a RUNNING job, and one whose owner then asked it to stop
        const { jobStoreFrom } = await import('#aws/wiring');
        const store = jobStoreFrom(backends.clients.dynamodb);
        const [asked, notAsked] = [json(await submit(submitEvent({ type: 'echo' }))).id as string, json(await submit(submitEvent({ type: 'echo' }))).id as string];
        await backends.drain(backends.resources.queueUrl, 2);
        for (const id of [asked, notAsked]) await store.transition(id, 'QUEUED', 'RUNNING', { countAttempt: true });
        const askedAt = new Date().toISOString();
        expect(await store.requestCancel(asked, askedAt)).toMatchObject({ id: asked, status: 'RUNNING', cancelRequestedAt: askedAt });
        // Act
        const requeued = await Promise.all([asked, notAsked].map((id) => store.transition(id, 'RUNNING', 'QUEUED', {}, { cancelRequested: false })));
        // Assess
        expect(requeued.map((job) => job?.status)).toEqual([undefined, 'QUEUED']);
        expect((await store.get(asked))?.status).toBe('RUNNING');
      });

      it('defers a job by delaySeconds: its message arrives only after the delay', async () => {
        // Act
        await submit(submitEvent({ type: 'echo', delaySeconds: 2 }));
        const early = await backends.drain(backends.resources.queueUrl, 1);
        const late = await backends.drain(backends.resources.queueUrl, 3);
        // Assess
        expect(early).toEqual([]);
        expect(late).toHaveLength(1);
      });

      it('tells the caller to come back when a delayed job may start: Retry-After is what is left of the delay', async () => {
        // Act
        const accepted = await submit(submitEvent({ type: 'echo', delaySeconds: 600 }));
        const read = await get(getEvent(json(accepted).id as string));
        // Assess
        expect(accepted.headers?.['retry-after']).toBe('600');
        expect(read.statusCode).toBe(202);
        expect(Number(read.headers?.['retry-after'])).toBeGreaterThan(590);
        expect(Number(read.headers?.['retry-after'])).toBeLessThanOrEqual(600);
      });
    });

    it('answers 503 with Retry-After and leaves no record when the job cannot be queued', async () => {
      // Prepare: a submit function whose queue does not exist.
      const before = await backends.clients.dynamodb.send(new ScanCommand({ TableName: backends.resources.tableName }));
      const realQueueUrl = process.env.QUEUE_URL;
      vi.resetModules();
      process.env.QUEUE_URL = `${realQueueUrl}-missing`;
      const brokenHandler = (await import('../../functions/submit-job.ts')).handler;
      const brokenSubmit: Handler = (event) => brokenHandler(event as never, lambdaContext()) as ReturnType<Handler>;
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
