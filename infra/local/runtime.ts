/**
 * The whole system on one machine: emulators, the resources the stack declares, every function in
 * its own instances with its own environment, the HTTP API and the queue's event source mapping.
 * `npm start` runs this; the end-to-end and integration tests use it too.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { type AttributeValue, DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { SQSEvent } from 'aws-lambda';
import { fromItem } from '../../functions/aws/job-store.ts';
import { SqsJobQueue } from '../../functions/aws/job-queue.ts';
import { attemptOverAt, isFinal, JOB_STATUSES, type JobStatus, secondsUntilRunnable } from '../../functions/core/job.ts';
import { completionEvent } from '../../functions/core/lifecycle.ts';
import { isCorsOrigin, localRegion, queue, reconciler, webhooks, worker } from '../config.ts';
import {
  type FunctionName,
  type FunctionSpec,
  type ResourceKind,
  fallbackFunction,
  functionEnvironment,
  functionNames,
  functionSpecs,
  defaultJobTimeoutSeconds,
  maxJobTimeoutSeconds,
  routed,
  routes,
  triggered,
} from '../functions.ts';
import { type LocalAuth, type LocalIamUser, authorize, issueToken, newLocalIamUser, newLocalJwtIssuer } from './auth.ts';
import { projectBuild, projectRoot, stagedBundles } from './build.ts';
import { startSecretsEmulator } from './secrets-emulator.ts';
import { type DynamoEngine, type Emulator, startDynalite, startDynamoDbLocal, startSqsSns } from './emulators.ts';
import { startEventTap } from './event-tap.ts';
import { CorsPolicy, createGateway } from './http-gateway.ts';
import { LambdaPool } from './lambda-pool.ts';
import { claimDataFolder } from './data-folder.ts';
import { MESSAGE_JOURNAL_FILE, MessageJournal } from './message-journal.ts';
import { resolveLocalhostSubdomains } from './localhost-dns.ts';
import { type LocalResources, createResources } from './resources.ts';
import { startPollerThread } from './poller-thread.ts';

/** Options of {@link startLocalRuntime}. */
export interface LocalRuntimeOptions {
  /** Port of the HTTP API on 127.0.0.1; 0 picks a free one. @default 3000 */
  readonly port?: number;
  /** @default 'dynalite' */
  readonly dynamodb?: DynamoEngine;
  /** Keep DynamoDB data in this folder across restarts. @default in memory */
  readonly dataDir?: string;
  /** Receives each completion event the topic publishes. @default none */
  readonly onEvent?: (event: unknown, raw: string) => void;
  /** Receives the runtime's own errors (not the functions' logs). @default printed to stderr */
  readonly onError?: (error: unknown) => void;
  /** Receives the functions' logs (their stdout and stderr). @default written to this process's streams */
  readonly onFunctionOutput?: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Told the handler duration of each invocation that returned or threw, ms (what Lambda bills). @default none */
  readonly onInvocation?: (name: FunctionName, durationMs: number) => void;
  /** Overrides for the queue, e.g. a short visibility timeout in tests. @default from config */
  readonly visibilityTimeoutSeconds?: number;
  /** Concurrent pollers of the jobs queue. @default 5, as Lambda's SQS event source starts with */
  readonly pollers?: number;
  /** Timeout of the worker function. @default config.worker.timeoutSeconds */
  readonly workerTimeoutSeconds?: number;
  /** How often the reconciler runs. @default config.reconciler.intervalSeconds */
  readonly reconcileIntervalSeconds?: number;
  /**
   * Where the functions reach DynamoDB and SNS, given the emulators' endpoints; lets a test put a
   * fault-injecting proxy in between. The runtime's own pollers always use the emulators directly.
   * @default the emulators' endpoints
   */
  readonly functionEndpoints?: (emulators: { dynamodb: string; sns: string }) => Promise<{ dynamodb: string; sns: string }>;
  /**
   * `local` lets callback URLs use http to loopback; `cloud` applies the deployed rules (https only,
   * no loopback, private or link-local targets). @default 'local'
   */
  readonly webhookMode?: 'local' | 'cloud';
  /** The webhook signing secret (`whsec_…`). @default kept in the data folder, or `.local/`, created on first start */
  readonly webhookSecret?: string;
  /**
   * The API's authorizer: `iam` verifies SigV4 signatures against local access keys, `jwt` verifies
   * tokens signed by a local key; `none` takes every caller as `anonymous`. @default 'none'
   */
  readonly auth?: 'none' | 'iam' | 'jwt';
  /** The IAM users accepted in `iam` mode. @default one user, `local`, with a fresh key pair */
  readonly iamUsers?: readonly LocalIamUser[];
  /** Browser origins allowed to call the API, as the construct's `corsOrigins` (CORS). @default none */
  readonly corsOrigins?: readonly string[];
  /** Host names besides localhost and loopback addresses the API answers (a forwarding proxy's). @default none */
  readonly allowedHosts?: readonly string[];
}

/** A running local system. */
export interface LocalRuntime {
  readonly url: string;
  readonly port: number;
  readonly resources: LocalResources;
  readonly endpoints: { readonly dynamodb: string; readonly sqs: string; readonly sns: string };
  readonly labels: { readonly dynamodb: string; readonly sqs: string };
  /** The secret webhooks are signed with (`whsec_…`). */
  readonly webhookSecret: string;
  /** How the API authorizes callers, with what a caller needs: the IAM users' keys, or a token issuer. */
  readonly auth: LocalAuth & { issueToken(sub: string | undefined, ttlSeconds?: number): string };
  /**
   * Jobs a runtime on the same data folder left RUNNING when it stopped, and when the worker takes each
   * over (as on Lambda, once the stopped invocation's deadline has passed: the attempt counts as failed).
   */
  readonly interruptedJobs: readonly { readonly jobId: string; readonly takenOverAt: Date }[];
  /** Child processes it started (DynamoDB Local), for callers that verify they are gone. */
  readonly childPids: readonly number[];
  /**
   * Settles once every function is built: the API answers before that when the build was not cached
   * (the function behind `POST /jobs` comes first). Rejects with the build's error, if the build of the
   * others fails (an error in their own code): their invocations fail with it meanwhile.
   */
  readonly built: Promise<void>;
  invoke(name: FunctionName, event: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

/** Lambda's SQS event source starts with five concurrent batches. */
const DEFAULT_POLLERS = 5;

const NODE_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

/**
 * fauxqs names queues `http://sqs.<region>.localhost:<port>/...` and the SQS client sends each call
 * to its queue URL's host; giving it that same host as endpoint keeps the two in agreement.
 */
function sqsEndpoint(emulatorEndpoint: string): string {
  const { port } = new URL(emulatorEndpoint);
  return `http://sqs.${localRegion}.localhost:${port}`;
}

/** What the runtime asks of a function's instances. */
type FunctionPool = Pick<LambdaPool, 'invoke' | 'warm' | 'close'>;

/** A function whose bundle is still being built: what it is asked waits for the build. */
function whenBuilt(pool: Promise<LambdaPool>): FunctionPool {
  // A failed build is reported once, by the runtime; here it only fails the invocations.
  const built = pool.catch(() => undefined);
  return {
    invoke: async (event) => (await pool).invoke(event),
    warm: async () => (await built)?.warm(),
    close: async () => (await built)?.close(),
  };
}

/** Credentials the local handlers sign with; the emulators accept any. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** Starts everything; on any failure, stops what was already started. */
export async function startLocalRuntime(options: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const badOrigin = options.corsOrigins?.find((origin) => !isCorsOrigin(origin));
  if (badOrigin !== undefined) throw new Error(`CORS origins must be '*' or origins such as https://app.example.com (scheme and host, no path); got "${badOrigin}"`);
  resolveLocalhostSubdomains();
  // The SDK warns that Node 20 support ends; Lambda runs Node 22, only this local host is older.
  process.env[NODE_WARNING_SWITCH] = 'true';
  // Lambda runs functions in UTC (TZ=:UTC). An instance's time zone is its process's, whatever its own
  // environment says, so the whole process takes UTC: a processor's local time is then what it is deployed.
  process.env.TZ = 'UTC';
  const onError = options.onError ?? ((error: unknown) => console.error('[local runtime]', error));
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping = false;
  /** Told first when stopping starts: what fails from then on is the stop's doing. */
  const quiescers: (() => void)[] = [];
  const stop = async () => {
    stopping = true;
    for (const quiesce of quiescers.splice(0)) quiesce();
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        onError(error);
      }
    }
  };
  try {
    // DynamoDB Local runs in its package's folder: give it an absolute path, and make sure it exists.
    const dataDir = options.dataDir && path.resolve(options.dataDir);
    if (dataDir) {
      await mkdir(dataDir, { recursive: true });
      // Before anything starts; released last, once DynamoDB has closed its files.
      cleanups.push(await claimDataFolder(dataDir));
    }
    // The function behind `POST /jobs` is built (when not cached) and started first: a fresh start takes a job sooner.
    const submitter = routed('POST', '/jobs');
    const bundlesPromise = stagedBundles(submitter);
    const dynamoPromise = options.dynamodb === 'dynamodb-local' ? startDynamoDbLocal(dataDir) : startDynalite(dataDir);
    const sqsSnsPromise = startSqsSns(localRegion);
    const [bundles, dynamo, sqsSns] = await Promise.allSettled([bundlesPromise, dynamoPromise, sqsSnsPromise]);
    if (bundles.status === 'fulfilled') cleanups.push(() => bundles.value.release());
    if (dynamo.status === 'fulfilled') cleanups.push(() => dynamo.value.stop());
    if (sqsSns.status === 'fulfilled') cleanups.push(() => sqsSns.value.stop());
    for (const result of [bundles, dynamo, sqsSns]) if (result.status === 'rejected') throw result.reason;
    const dynamoEmulator = (dynamo as PromiseFulfilledResult<Emulator>).value;
    const sqsSnsEmulator = (sqsSns as PromiseFulfilledResult<Emulator>).value;
    const built = (bundles as PromiseFulfilledResult<Awaited<typeof bundlesPromise>>).value;

    const common = { region: localRegion, credentials: LOCAL_CREDENTIALS };
    const clients = {
      dynamodb: new DynamoDBClient({ ...common, endpoint: dynamoEmulator.endpoint }),
      sqs: new SQSClient({ ...common, endpoint: sqsEndpoint(sqsSnsEmulator.endpoint) }),
      sns: new SNSClient({ ...common, endpoint: sqsSnsEmulator.endpoint }),
    };
    cleanups.push(async () => {
      for (const client of Object.values(clients)) client.destroy();
    });
    const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? queue.visibilityTimeoutSeconds;
    const resources = await createResources(clients, { visibilityTimeoutSeconds, maxReceiveCount: queue.maxReceiveCount });
    // fauxqs keeps messages in memory only: after a restart with a data folder, the jobs-queue messages
    // SQS would still hold are gone. Send them again, and from now on note which ones a function holds.
    let journal: MessageJournal | undefined;
    let interruptedJobs: LocalRuntime['interruptedJobs'] = [];
    if (dataDir) {
      journal = await MessageJournal.open(path.join(dataDir, MESSAGE_JOURNAL_FILE), onError);
      const { announcing, interrupted } = await requeueUnfinished(clients, resources, journal.jobIds(), new Date(), onError);
      interruptedJobs = interrupted;
      await journal.restart(announcing);
      await resumeWebhooks(clients, resources, new Set(announcing.values()), onError);
      const closing = journal;
      cleanups.push(() => closing.close());
    }
    /** The invoke of a jobs-queue or dead-letter mapping, noted in the journal when there is one. */
    const journaled = (name: FunctionName) => (event: SQSEvent) =>
      journal ? journal.around(event, () => pools[name].invoke(event)) : pools[name].invoke(event);

    // The variables a deployed function has: its bindings (from the same declaration the stack
    // uses), the standard AWS ones, and the endpoints of the emulators.
    const bound: Record<ResourceKind, string> = {
      table: resources.tableName,
      ownerIndex: resources.tableName,
      sweepIndex: resources.tableName,
      queue: resources.queueUrl,
      deadLetterQueue: resources.deadLetterQueueUrl,
      topic: resources.topicArn,
      webhookQueue: resources.webhookQueueUrl,
      signingSecret: WEBHOOK_SECRET_NAME,
    };
    const webhookSecret = options.webhookSecret ?? (await persistentSecret(dataDir, 'webhook-secret', () => `whsec_${randomBytes(32).toString('base64')}`));
    const secretsEmulator = await startSecretsEmulator(localRegion, new Map([[WEBHOOK_SECRET_NAME, webhookSecret]]));
    cleanups.push(() => secretsEmulator.stop());
    bound.signingSecret = secretsEmulator.arnOf(WEBHOOK_SECRET_NAME);
    const workerTimeoutSeconds = options.workerTimeoutSeconds ?? worker.timeoutSeconds;
    const settings = {
      IDEMPOTENCY_SECRET: await persistentSecret(dataDir, 'idempotency-secret', () => randomBytes(32).toString('base64url')),
      DEFAULT_JOB_TIMEOUT_SECONDS: String(defaultJobTimeoutSeconds(workerTimeoutSeconds)),
      MAX_JOB_TIMEOUT_SECONDS: String(maxJobTimeoutSeconds(workerTimeoutSeconds)),
      WEBHOOK_MODE: options.webhookMode ?? 'local',
      WEBHOOK_RETRY_SCHEDULE: webhooks.localRetryScheduleSeconds.join(','),
    };
    const emulated = { dynamodb: dynamoEmulator.endpoint, sns: sqsSnsEmulator.endpoint };
    const reached = options.functionEndpoints ? await options.functionEndpoints(emulated) : emulated;
    const awsEnv = {
      AWS_REGION: localRegion,
      AWS_DEFAULT_REGION: localRegion,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_DYNAMODB: reached.dynamodb,
      AWS_ENDPOINT_URL_SQS: sqsEndpoint(sqsSnsEmulator.endpoint),
      AWS_ENDPOINT_URL_SNS: reached.sns,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsEmulator.endpoint,
      [NODE_WARNING_SWITCH]: 'true',
      // As Lambda sets it (Powertools Logger reads it for its timestamps).
      TZ: ':UTC',
    };
    const poolOf = (name: FunctionName, bundle: string, host: string) => {
      const spec: FunctionSpec = functionSpecs[name];
      return new LambdaPool({
        name,
        bundle,
        host,
        env: {
          ...functionEnvironment(name, bound, settings, { sourceMaps: projectBuild.sourceMaps }),
          ...awsEnv,
          AWS_LAMBDA_FUNCTION_NAME: name,
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memoryMb),
          AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
          // Powertools counts an instance's first invocation as its cold start only in an on-demand environment.
          AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
        },
        timeoutMs: (spec.trigger === 'jobs-queue' ? workerTimeoutSeconds : spec.timeoutSeconds) * 1000,
        memoryMb: spec.memoryMb,
        maxInstances: spec.trigger === 'jobs-queue' ? (options.pollers ?? DEFAULT_POLLERS) : spec.trigger ? 1 : 32,
        ...(options.onFunctionOutput && { onOutput: options.onFunctionOutput }),
        ...(options.onInvocation && { onInvocation: (durationMs: number) => options.onInvocation?.(name, durationMs) }),
      });
    };
    const pools = Object.fromEntries(
      functionNames.map((name) => [
        name,
        name === submitter ? poolOf(name, built.first, built.host) : whenBuilt(built.all.then((all) => poolOf(name, all.functions[name], all.host))),
      ]),
    ) as Record<FunctionName, FunctionPool>;
    cleanups.push(() => Promise.all(Object.values(pools).map((pool) => pool.close())));
    // One instance of each function starts ahead of its first invocation: the one behind `POST /jobs`
    // first and alone, so that a fresh `npm start` accepts a job as soon as it can; then the worker and
    // `GET /jobs/{id}`, which the job and its polls need next; then the rest. One at a time: on two
    // cores, instances loading side by side slow the first requests (all at once, the first 202 took
    // 0.3 s longer).
    const nextOnes = [triggered('jobs-queue'), routed('GET', '/jobs/{id}')];
    const warmingOrder = [...nextOnes, ...functionNames.filter((name) => name !== submitter && !nextOnes.includes(name))];
    // A pool closed by an early stop neither warms nor reports the instances it stopped.
    const quietly = (error: unknown) => {
      if (!stopping) onError(error);
    };
    const warmFirst = pools[submitter].warm().catch(quietly);
    // Nothing waits for these: an invocation that needs an instance still warming takes it when it is ready.
    void warmFirst.then(async () => {
      for (const name of warmingOrder) await pools[name].warm().catch(quietly);
    });

    const stopTap = options.onEvent
      ? await startEventTap(clients, resources.topicArn, `${resources.topicArn.split(':').pop()}-local-tap`, options.onEvent, onError)
      : undefined;
    if (stopTap) cleanups.push(stopTap);

    // The pollers start once the submitter is up (until then there is no job for them to take), unless stopping began.
    const pollersStarted = Promise.all([warmFirst, built.all]).then(([, all]) => {
      if (stopping) return undefined;
      const thread = startPollerThread(
        all.pollerHost,
        { endpoint: sqsEndpoint(sqsSnsEmulator.endpoint), region: localRegion, credentials: LOCAL_CREDENTIALS },
        [
          {
            queueUrl: resources.queueUrl,
            queueArn: resources.queueArn,
            batchSize: worker.batchSize,
            pollers: options.pollers ?? DEFAULT_POLLERS,
            invoke: journaled(triggered('jobs-queue')),
          },
          {
            queueUrl: resources.deadLetterQueueUrl,
            queueArn: resources.deadLetterQueueArn,
            batchSize: worker.batchSize,
            pollers: 1,
            // A dead letter keeps its message id: the dead-letter handler's success ends it in the journal too.
            invoke: journaled(triggered('dead-letter-queue')),
          },
          {
            queueUrl: resources.webhookQueueUrl,
            queueArn: resources.webhookQueueArn,
            batchSize: webhooks.batchSize,
            pollers: 1,
            invoke: (event) => pools[triggered('webhook-queue')].invoke(event),
          },
        ],
        onError,
      );
      quiescers.push(thread.quiesce);
      return thread;
    }, () => undefined);
    cleanups.push(
      async () => (await pollersStarted)?.stop(),
      startSchedule((options.reconcileIntervalSeconds ?? reconciler.intervalSeconds) * 1000, () =>
        pools[triggered('schedule')].invoke(scheduledEvent()).catch(onError),
      ),
    );
    // Stopping runs in reverse: instances go first, so a batch in flight ends now instead of
    // holding the poller until its job finishes.
    cleanups.push(() => Promise.all(Object.values(pools).map((pool) => pool.close())));

    const auth: LocalAuth =
      options.auth === 'iam'
        ? { type: 'iam', users: options.iamUsers ?? [newLocalIamUser('local')] }
        : options.auth === 'jwt'
          ? { type: 'jwt', issuer: newLocalJwtIssuer() }
          : { type: 'none' };
    const server = createGateway(
      routes,
      fallbackFunction,
      (name, event) => pools[name].invoke(event),
      onError,
      (request) => authorize(auth, request),
      options.corsOrigins?.length ? new CorsPolicy(options.corsOrigins) : undefined,
      options.allowedHosts,
    );
    server.listen(options.port ?? 3000, '127.0.0.1');
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as AddressInfo;
    const allBuilt = built.all.then(() => undefined);
    allBuilt.catch(() => undefined); // for the caller to look at when it wants, not an unhandled rejection
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      resources,
      endpoints: { dynamodb: dynamoEmulator.endpoint, sqs: sqsEndpoint(sqsSnsEmulator.endpoint), sns: sqsSnsEmulator.endpoint },
      labels: { dynamodb: dynamoEmulator.label, sqs: sqsSnsEmulator.label },
      interruptedJobs,
      childPids: dynamoEmulator.pid !== undefined ? [dynamoEmulator.pid] : [],
      built: allBuilt,
      webhookSecret,
      auth: {
        ...auth,
        issueToken: (sub, ttlSeconds) => {
          if (auth.type !== 'jwt') throw new Error('the local API does not use JWT auth');
          return issueToken(auth.issuer, sub, ttlSeconds);
        },
      },
      invoke: (name, event) => pools[name].invoke(event),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Sends the jobs-queue messages SQS would still hold: one for every job that has not ended (a QUEUED
 * one with what is left of its `delaySeconds`, so that it does not start early; the worker takes over
 * a RUNNING one once its invocation is over), and one for every ended job whose message a function
 * still held when the runtime stopped (`held`) and whose publish is not recorded: the worker announces
 * it, with the event id its final write fixed. Returns the messages sent for ended jobs, message id to
 * job id: nothing else would send them again.
 */
async function requeueUnfinished(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  resources: LocalResources,
  held: ReadonlySet<string>,
  now: Date,
  onError: (error: unknown) => void,
): Promise<{ announcing: Map<string, string>; interrupted: LocalRuntime['interruptedJobs'] }> {
  // The message the submit sends, through the same adapter.
  const jobs = new SqsJobQueue(clients.sqs, resources.queueUrl);
  const send = async (item: Record<string, AttributeValue>, delaySeconds: number): Promise<string | undefined> => {
    const jobId = item.id?.S;
    const type = item.type?.S;
    if (!jobId || !type) {
      // Not a record this code wrote: reported and left, rather than keeping every other job from starting.
      onError(new Error(`a job record in the data folder has no id or type, so it is not queued again: ${JSON.stringify(item)}`));
      return undefined;
    }
    return jobs.enqueue({ jobId, type }, Math.min(delaySeconds, queue.maxDelaySeconds));
  };
  const notEnded = JOB_STATUSES.filter((status) => !isFinal(status));
  const interrupted: { jobId: string; takenOverAt: Date }[] = [];
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({
        TableName: resources.tableName,
        FilterExpression: `#status IN (${notEnded.map((status) => `:${status}`).join(', ')})`,
        ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
        ExpressionAttributeValues: Object.fromEntries(notEnded.map((status) => [`:${status}`, { S: status }])),
        ProjectionExpression: 'id, #status, #type, createdAt, delaySeconds, runDeadline',
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) {
      const queued = { createdAt: item.createdAt?.S ?? '', ...(item.delaySeconds?.N && { delaySeconds: Number(item.delaySeconds.N) }) };
      await send(item, item.status?.S === 'QUEUED' ? secondsUntilRunnable(queued, now) : 0);
      const runDeadline = item.status?.S === 'RUNNING' && item.runDeadline?.N !== undefined ? Number(item.runDeadline.N) : undefined;
      const over = attemptOverAt({ runDeadline });
      if (item.id?.S && over !== undefined) interrupted.push({ jobId: item.id.S, takenOverAt: new Date(Math.max(over, now.getTime())) });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  // The record of an ended job looks the same whether or not its event went out (nothing is written
  // after the publish on the happy path): only the held messages tell, so only their jobs are read.
  const sent = new Map<string, string>();
  for (const id of held) {
    const { Item } = await clients.dynamodb.send(
      new GetItemCommand({
        TableName: resources.tableName,
        Key: { id: { S: id } },
        ConsistentRead: true,
        ProjectionExpression: 'id, #status, #type, publishedAt',
        ExpressionAttributeNames: { '#status': 'status', '#type': 'type' },
      }),
    );
    if (!Item || !isFinal(Item.status?.S as JobStatus) || Item.publishedAt) continue;
    const messageId = await send(Item, 0);
    if (messageId) sent.set(messageId, id);
  }
  return { announcing: sent, interrupted };
}

/**
 * Sends again, after a restart with a data folder, the webhook deliveries SQS would still hold: the
 * event of every ended job whose delivery was pending or retrying, rebuilt as it was published (the
 * record's `webhook` then was the submit's `pending`, 0 attempts; everything else in the event is the
 * final write's). Jobs requeueUnfinished has announced again (`announcing`) are left out: the topic
 * feeds their delivery. The receive count starts over, so a resumed delivery gets the whole retry
 * schedule again; receivers drop repeats by `webhook-id`, the event id, which stays the same.
 */
async function resumeWebhooks(
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  resources: LocalResources,
  announcing: ReadonlySet<string>,
  onError: (error: unknown) => void,
): Promise<void> {
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await clients.dynamodb.send(
      new ScanCommand({
        TableName: resources.tableName,
        FilterExpression: 'attribute_exists(callbackUrl) AND attribute_exists(eventId)',
        ...(start && { ExclusiveStartKey: start }),
      }),
    );
    for (const item of page.Items ?? []) {
      const job = fromItem(item);
      if (announcing.has(job.id) || !isFinal(job.status) || !['pending', 'retrying'].includes(job.webhook?.status ?? '')) continue;
      try {
        // As the topic delivers it (raw message delivery): the body is the published message itself.
        const event = completionEvent({ ...job, webhook: { status: 'pending', attempts: 0 } });
        await clients.sqs.send(new SendMessageCommand({ QueueUrl: resources.webhookQueueUrl, MessageBody: JSON.stringify(event) }));
      } catch (error) {
        onError(new Error(`the webhook delivery of job ${job.id} could not be sent again: ${error instanceof Error ? error.message : String(error)}`));
      }
    }
    start = page.LastEvaluatedKey;
  } while (start);
}

/** Name of the webhook signing secret in the local Secrets Manager. */
const WEBHOOK_SECRET_NAME = 'async-jobs-webhook-signing';

/** Where secrets are kept without a data folder, so they survive restarts (the receiver reads it too). */
export const localSecretsDir = path.join(projectRoot, '.local');

/**
 * A secret created on first start and kept in the data folder (or `.local/`), so that idempotency
 * keys keep naming the same jobs and receivers keep verifying after a restart.
 */
async function persistentSecret(dataDir: string | undefined, name: string, create: () => string): Promise<string> {
  const file = path.join(dataDir ?? localSecretsDir, name);
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    // First start: create it.
  }
  const secret = create();
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, secret, { mode: 0o600 });
  return secret;
}

/** Runs `task` every `intervalMs` (like an EventBridge schedule), never two at once; returns the stop. */
function startSchedule(intervalMs: number, task: () => Promise<unknown>): () => Promise<void> {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(task);
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/** The event EventBridge sends a scheduled target. */
function scheduledEvent(): unknown {
  return {
    version: '0',
    id: randomBytes(16).toString('hex'),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: localRegion,
    resources: [`arn:aws:events:${localRegion}:000000000000:rule/reconcile-schedule`],
    detail: {},
  };
}
