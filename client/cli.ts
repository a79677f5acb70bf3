/**
 * `async-jobs`: the API from a shell. Prints JSON on stdout (indented on a terminal, one line
 * otherwise), messages on stderr, and tells outcomes apart by exit code (see {@link ExitCode}).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { deadlineSignal } from './backoff.ts';
import { AsyncJobsClient, type AsyncJobsClientOptions, type FetchLike, IDEMPOTENCY_KEY_PATTERN, newIdempotencyKey } from './client.ts';
import { ApiError, type AsyncJobsError, JobCancelledError, JobFailedError, NetworkError, RequestNotSentError, WaitTimeoutError } from './errors.ts';
import { LiveProgressBar } from './progress-bar.ts';
import type { Job, JobStatus, SubmitRequest } from './types.ts';

/** What the exit code of `async-jobs` means. */
export const ExitCode = {
  /** The command did what it was asked; for `wait` and `submit --wait`, the job SUCCEEDED. */
  ok: 0,
  /** The job ended FAILED or CANCELLED. */
  jobFailed: 1,
  /**
   * Nothing was sent: the command line is wrong, or its request could not be made (a header value HTTP
   * does not allow, no AWS credentials for `--auth iam`).
   */
  usage: 2,
  /** `--timeout` passed: before the job ended (`wait`; the job may still end later), or before the command was done. */
  timedOut: 3,
  /** The API answered an error, or could not be reached. */
  apiError: 4,
  /** A bug in the CLI itself. */
  internal: 70,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** The default endpoint: the local runtime of `npm start`. */
export const DEFAULT_ENDPOINT = 'http://127.0.0.1:3000';

/** A stream the CLI writes to; `process.stdout` fits. */
export interface CliStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Everything the CLI touches, so it can run in-process in tests. */
export interface CliIo {
  readonly stdout: CliStream;
  readonly stderr: CliStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Aborts a wait in progress (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** @default globalThis.fetch */
  readonly fetch?: FetchLike;
}

export const USAGE = `Usage: async-jobs <command> [options]

Commands:
  submit --type T [--input JSON|@file] [--wait] [--timeout S] [--idempotency-key K] [--callback-url U]
         [--delay-seconds S] [--timeout-seconds S] [--metadata NAME=VALUE]...
  get ID [--timeout S]
  wait ID [--timeout S]
  cancel ID [--timeout S]
  list [--status S] [--limit N] [--timeout S]

Options:
  --endpoint URL   the API (default: $ASYNC_JOBS_URL, else ${DEFAULT_ENDPOINT})
  --auth MODE      iam: sign requests with SigV4 (standard AWS credential chain; the region of an
                   execute-api endpoint, else $AWS_REGION or the AWS profile's); jwt: send --token as
                   a bearer token; none (default: jwt with --token, else $ASYNC_JOBS_AUTH, else jwt
                   when $ASYNC_JOBS_TOKEN is set, else none)
  --token JWT      the token for --auth jwt (default: $ASYNC_JOBS_TOKEN)
  --timeout S      how long the command may take; for wait (and submit --wait), how long it waits:
                   the job goes on after it
  --timeout-seconds S, --delay-seconds S, --metadata NAME=VALUE
                   the job's own timeoutSeconds (one attempt), delaySeconds and metadata labels
  -h, --help       show this help

Exit codes: 0 ok (job succeeded), 1 job failed or cancelled, 2 usage error (nothing sent),
            3 timed out, 4 API error or API unreachable, 130 interrupted (Ctrl-C), 70 a bug in the CLI.
`;

const OPTIONS = {
  endpoint: { type: 'string' },
  auth: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  type: { type: 'string' },
  input: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  'idempotency-key': { type: 'string' },
  'callback-url': { type: 'string' },
  'delay-seconds': { type: 'string' },
  'timeout-seconds': { type: 'string' },
  metadata: { type: 'string', multiple: true },
  status: { type: 'string' },
  limit: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** The options each command takes, besides `--endpoint` and `--help`; and how many positionals. */
const COMMANDS: Readonly<Record<string, { readonly options: readonly OptionName[]; readonly ids: number }>> = {
  submit: { options: ['type', 'input', 'wait', 'timeout', 'idempotency-key', 'callback-url', 'delay-seconds', 'timeout-seconds', 'metadata'], ids: 0 },
  get: { options: ['timeout'], ids: 1 },
  wait: { options: ['timeout'], ids: 1 },
  cancel: { options: ['timeout'], ids: 1 },
  list: { options: ['status', 'limit', 'timeout'], ids: 0 },
};

const STATUSES: readonly JobStatus[] = ['QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'];

/** A command line that cannot be run; exit code 2. */
class UsageError extends Error {}

/** `--timeout` passed before a command that does not wait was done; exit code 3. */
class CommandTimedOut extends Error {
  constructor(
    message: string,
    readonly timeoutMs: number,
    readonly idempotencyKey: string | undefined,
  ) {
    super(message);
  }
}

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Runs one command line; resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(args, io);
  } catch (error) {
    return report(error, io);
  }
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  const [command, ...ids] = positionals;
  if (values.help || command === 'help') {
    io.stdout.write(USAGE);
    return ExitCode.ok;
  }
  if (command === undefined) throw new UsageError('missing command');
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command '${command}'`);
  for (const name of Object.keys(values) as OptionName[]) {
    const global = name === 'endpoint' || name === 'help' || name === 'auth' || name === 'token';
    if (!global && !spec.options.includes(name)) throw new UsageError(`${command} takes no --${name}`);
  }
  if (ids.length !== spec.ids) throw new UsageError(spec.ids === 1 ? `${command} takes one job id` : `${command} takes no arguments`);
  const endpoint = values.endpoint ?? io.env.ASYNC_JOBS_URL ?? DEFAULT_ENDPOINT;
  if (!/^https?:\/\//.test(endpoint)) throw new UsageError(`the endpoint '${endpoint}' is not an http(s) URL`);
  const client = new AsyncJobsClient({ baseUrl: endpoint, ...(await authOptions(values, io)) });
  const id = ids[0] ?? '';
  const { timeoutMs } = timeout(values.timeout);

  switch (command) {
    case 'submit': {
      const request = await submitRequest(values);
      const ownKey = values['idempotency-key'];
      if (ownKey && !IDEMPOTENCY_KEY_PATTERN.test(ownKey)) {
        throw new UsageError(`--idempotency-key must be 1 to 255 printable ASCII characters without spaces, got '${ownKey}'`);
      }
      // Chosen here, not by the client, so that even an interrupted submit can say which key gets its job back.
      const idempotencyKey = ownKey || newIdempotencyKey();
      if (io.signal) interrupted.set(io.signal, { idempotencyKey });
      if (!values.wait) {
        const message = withKeyHint(`submit got no answer within ${values.timeout} s (--timeout)`, idempotencyKey);
        const timedOut = (ms: number) => new CommandTimedOut(message, ms, idempotencyKey);
        const job = await withinTimeout(io.signal, timeoutMs, timedOut, (signal) => client.submit(request, { idempotencyKey, ...(signal && { signal }) }));
        printJson(io, job);
        return ExitCode.ok;
      }
      const options = { idempotencyKey, ...(io.signal && { signal: io.signal }), ...(timeoutMs !== undefined && { timeoutMs }) };
      return waitWithProgress(io, 'SUBMITTING', (waitOptions) => client.submitAndWait(request, { ...options, ...waitOptions }));
    }
    case 'wait': {
      const options = { ...(io.signal && { signal: io.signal }), ...(timeoutMs !== undefined && { timeoutMs }) };
      return waitWithProgress(io, 'WAITING', (waitOptions) => client.wait(id, { ...options, ...waitOptions }));
    }
    case 'get':
    case 'cancel': {
      const maybe = command === 'cancel' ? `; the job may be cancelled all the same (async-jobs get ${id} tells)` : '';
      const timedOut = (ms: number) => new CommandTimedOut(`${command} got no answer within ${values.timeout} s (--timeout)${maybe}`, ms, undefined);
      const job = await withinTimeout(io.signal, timeoutMs, timedOut, (signal) => {
        const options = signal ? { signal } : {};
        return command === 'get' ? client.get(id, options) : client.cancel(id, options);
      });
      printJson(io, job);
      return ExitCode.ok;
    }
    default: {
      const status = values.status?.toUpperCase();
      if (status !== undefined && !STATUSES.includes(status as JobStatus)) {
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      }
      const limit = values.limit === undefined ? 20 : wholeNumber('--limit', values.limit, 1);
      const timedOut = (ms: number) => new CommandTimedOut(`list was not done within ${values.timeout} s (--timeout)`, ms, undefined);
      const jobs = await withinTimeout(io.signal, timeoutMs, timedOut, async (signal) => {
        const found: Job[] = [];
        // One page holds at most 100 jobs (the API's bound); more pages make up the rest.
        const pages = client.list({ limit: Math.min(limit, 100), ...(status && { status: status as JobStatus }), ...(signal && { signal }) });
        for await (const page of pages) {
          found.push(...page.jobs.slice(0, limit - found.length));
          if (found.length >= limit) break;
        }
        return found;
      });
      printJson(io, jobs);
      return ExitCode.ok;
    }
  }
}

/**
 * How the client authenticates. A flag wins over the environment: `--token` means `--auth jwt` whatever
 * `$ASYNC_JOBS_AUTH` says, and contradicts `--auth iam` or `--auth none` (a usage error, rather than a
 * token dropped without a word). A token or key that HTTP cannot carry is refused here, before anything is sent.
 */
async function authOptions(values: Values, io: CliIo): Promise<Pick<AsyncJobsClientOptions, 'fetch' | 'headers'>> {
  if (values.token && values.auth && values.auth !== 'jwt') throw new UsageError(`--token goes with --auth jwt, not --auth ${values.auth}`);
  // An empty variable counts as unset, as `ASYNC_JOBS_AUTH= async-jobs …` means.
  const auth = values.auth ?? (values.token ? 'jwt' : undefined) ?? (io.env.ASYNC_JOBS_AUTH || undefined) ?? (io.env.ASYNC_JOBS_TOKEN ? 'jwt' : 'none');
  if (!['iam', 'jwt', 'none'].includes(auth)) throw new UsageError(`--auth must be iam, jwt or none, got '${auth}'`);
  if (auth === 'none') sentWithoutCredentials.add(io);
  if (auth === 'iam') {
    // The signer pulls in the AWS SDK's credential chain: loaded only when the API uses IAM.
    const { iamSignedFetch } = await import('./iam-signer.ts');
    return { fetch: iamSignedFetch(io.fetch && { fetch: io.fetch }) };
  }
  const fetch = io.fetch && { fetch: io.fetch };
  if (auth === 'none') return { ...fetch };
  // Surrounding white space goes, as fetch would drop it; a token is never echoed.
  const token = (values.token || io.env.ASYNC_JOBS_TOKEN)?.trim();
  const source = values.token ? '--token' : '$ASYNC_JOBS_TOKEN';
  if (!token) throw new UsageError('--auth jwt needs --token or $ASYNC_JOBS_TOKEN');
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`${source} must be printable ASCII, without spaces or line breaks`);
  return { ...fetch, headers: { authorization: `Bearer ${token}` } };
}

/**
 * Runs `body` with a signal that aborts on Ctrl-C (`outer`) or, with a `timeoutMs`, once that passed:
 * then with `timedOut(timeoutMs)` as its reason, which is what `body` then rejects with.
 */
async function withinTimeout<T>(
  outer: AbortSignal | undefined,
  timeoutMs: number | undefined,
  timedOut: (timeoutMs: number) => CommandTimedOut,
  body: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  if (timeoutMs === undefined) return body(outer);
  const linked = deadlineSignal(outer, timeoutMs, () => timedOut(timeoutMs));
  try {
    return await body(linked.signal);
  } finally {
    linked.release();
  }
}

/** Options a wait takes from the CLI: progress reporting. */
interface CliWaitOptions {
  readonly onPoll?: (job: Job) => void;
}

/**
 * Runs a wait, with a live progress bar on stderr when both outputs are terminals (when stdout is
 * piped, the output is the JSON alone), and prints the final job.
 */
async function waitWithProgress(io: CliIo, pendingLabel: string, wait: (options: CliWaitOptions) => Promise<Job>): Promise<number> {
  const bar = io.stdout.isTTY && io.stderr.isTTY ? new LiveProgressBar(io.stderr, pendingLabel) : undefined;
  bar?.start();
  let lastJob: Job | undefined;
  try {
    const job = await wait({
      onPoll: (seen) => {
        lastJob = seen;
        bar?.update(seen);
      },
    });
    bar?.stop();
    printJson(io, job);
    return ExitCode.ok;
  } catch (error) {
    bar?.stop();
    // Interrupted: the job runs on, so print it as last seen (its id is what `cancel` needs), as a timeout does.
    if (io.signal?.aborted && lastJob) {
      printJson(io, lastJob);
      interrupted.set(io.signal, { lastJob });
    } else if (lastJob && (error instanceof ApiError || error instanceof NetworkError)) {
      // A poll failed once the job was known: print it as last seen; its id (not a key to submit again with) finds it.
      printJson(io, lastJob);
      acceptedJobs.set(error, lastJob);
    }
    throw error;
  }
}

/** The job as last seen before a poll of a wait failed, by the error it failed with. */
const acceptedJobs = new WeakMap<AsyncJobsError, Job>();

/** What a command knew when its signal interrupted it: the job as last seen, or its submit's Idempotency-Key. */
const interrupted = new WeakMap<AbortSignal, { readonly idempotencyKey?: string; readonly lastJob?: Job }>();

async function submitRequest(values: Values): Promise<SubmitRequest> {
  if (!values.type) throw new UsageError('submit needs --type');
  return {
    type: values.type,
    ...(values.input !== undefined && { input: await readInput(values.input) }),
    ...(values['callback-url'] && { callbackUrl: values['callback-url'] }),
    ...(values['delay-seconds'] !== undefined && { delaySeconds: wholeNumber('--delay-seconds', values['delay-seconds'], 0) }),
    ...(values['timeout-seconds'] !== undefined && { timeoutSeconds: wholeNumber('--timeout-seconds', values['timeout-seconds'], 1) }),
    ...(values.metadata && { metadata: metadataOf(values.metadata) }),
  };
}

/** A whole number of at least `min` (the API checks the upper bounds, and answers 400 naming the field). */
function wholeNumber(flag: string, value: string, min: number): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(parsed >= min)) throw new UsageError(`${flag} must be a whole number${min > 0 ? ` above ${min - 1}` : ''}, got '${value}'`);
  return parsed;
}

/** `--metadata NAME=VALUE`, repeated: the labels, each name once. */
function metadataOf(pairs: readonly string[]): Record<string, string> {
  const metadata = new Map<string, string>();
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new UsageError(`--metadata takes NAME=VALUE, got '${pair}'`);
    const name = pair.slice(0, at);
    if (metadata.has(name)) throw new UsageError(`--metadata names '${name}' twice`);
    metadata.set(name, pair.slice(at + 1));
  }
  // Any name as an own property, `__proto__` included.
  return Object.fromEntries(metadata);
}

/** `--input`: inline JSON, or `@path` to read it from a file. */
async function readInput(value: string): Promise<unknown> {
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = await readFile(value.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read --input file: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--input is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function timeout(value: string | undefined): { timeoutMs?: number } {
  if (value === undefined) return {};
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError('--timeout must be a number of seconds above 0');
  return { timeoutMs: Math.round(seconds * 1000) };
}

function printJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${io.stdout.isTTY ? JSON.stringify(value, null, 2) : JSON.stringify(value)}\n`);
}

/** A line on stderr: JSON when stderr is not a terminal, so scripts can read it too. */
function printError(io: CliIo, message: string, details: object): void {
  io.stderr.write(io.stderr.isTTY ? `async-jobs: ${message}\n` : `${JSON.stringify({ error: message, ...details })}\n`);
}

/** Maps what a command threw to its output and exit code. */
function report(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    // The usage is for a person at a terminal; a script gets its one JSON line, as for any other error.
    if (io.stderr.isTTY) io.stderr.write(`async-jobs: ${error.message}\n\n${USAGE}`);
    else printError(io, error.message, {});
    return ExitCode.usage;
  }
  if (error instanceof RequestNotSentError) {
    // Not sent, so nothing happened at the API: no key to submit again with, nothing to retry as is.
    printError(io, error.message, {});
    return ExitCode.usage;
  }
  if (error instanceof CommandTimedOut) {
    printError(io, error.message, { timeoutMs: error.timeoutMs, ...(error.idempotencyKey && { idempotencyKey: error.idempotencyKey }) });
    return ExitCode.timedOut;
  }
  if (error instanceof JobFailedError || error instanceof JobCancelledError) {
    printJson(io, error.job);
    printError(io, error.message, { problem: error.problem });
    return ExitCode.jobFailed;
  }
  if (error instanceof WaitTimeoutError) {
    if (error.lastJob) printJson(io, error.lastJob);
    printError(io, withKeyHint(error.message, error.jobId === undefined ? error.idempotencyKey : undefined), {
      jobId: error.jobId,
      timeoutMs: error.timeoutMs,
      ...keyOf(error),
    });
    return ExitCode.timedOut;
  }
  if (error instanceof ApiError || error instanceof NetworkError) {
    const job = acceptedJobs.get(error);
    const message = job
      ? `${error.message}; job ${job.id} was last seen ${job.status} (async-jobs wait ${job.id} follows it)`
      : withAuthHint(withKeyHint(error.message, mayHaveMadeJob(error) ? error.idempotencyKey : undefined), error, io);
    printError(io, message, { ...(error instanceof ApiError && { problem: error.problem }), ...(job && { jobId: job.id }), ...keyOf(error) });
    return ExitCode.apiError;
  }
  if (io.signal?.aborted) {
    const { idempotencyKey, lastJob } = interrupted.get(io.signal) ?? {};
    if (lastJob) printError(io, `interrupted; job ${lastJob.id} runs on (async-jobs cancel ${lastJob.id} stops it)`, { jobId: lastJob.id });
    else printError(io, withKeyHint('interrupted', idempotencyKey), { ...(idempotencyKey && { idempotencyKey }) });
    return ExitCode.interrupted;
  }
  const message = `unexpected error (a bug): ${error instanceof Error ? error.message : String(error)}`;
  const stack = error instanceof Error ? error.stack : undefined;
  if (io.stderr.isTTY) io.stderr.write(`async-jobs: ${stack ? `unexpected error (a bug): ${stack}` : message}\n`);
  else printError(io, message, { ...(stack && { stack }) });
  return ExitCode.internal;
}

/** The submit's Idempotency-Key of an error, as a field of the error line. */
function keyOf(error: AsyncJobsError): { idempotencyKey?: string } {
  return error.idempotencyKey ? { idempotencyKey: error.idempotencyKey } : {};
}

/**
 * Whether a failed request may have made its job even so: its answer was lost, or the API failed or was
 * busy (a retry after a lost answer may get that). A 4xx the API chose (a 400, a 422 for a reused key)
 * refused the request: no job, and the same key gets the same answer.
 */
function mayHaveMadeJob(error: ApiError | NetworkError): boolean {
  return error instanceof NetworkError || error.status >= 500 || error.status === 429;
}

/** A submit that failed may still have made its job: the message says how to get that job rather than a second one. */
function withKeyHint(message: string, idempotencyKey: string | undefined): string {
  return idempotencyKey ? `${message} (the job may exist: submit again with --idempotency-key ${idempotencyKey} to get it, not a second one)` : message;
}

/** The runs whose requests carried no credentials (`--auth none`). */
const sentWithoutCredentials = new WeakSet<CliIo>();

/**
 * API Gateway's own 401 or 403 (no problem details: the function never saw the request) to a request
 * without credentials means the API wants them: say how to send them. (With credentials, it refused
 * those; the local runtime's 403 for a host it does not serve says what to do itself.)
 */
function withAuthHint(message: string, error: ApiError | NetworkError, io: CliIo): string {
  if (!(error instanceof ApiError) || (error.status !== 401 && error.status !== 403) || error.problem.type !== 'about:blank') return message;
  if (!sentWithoutCredentials.has(io) || message.includes('--allow-host')) return message;
  return `${message} (the request carried no credentials, and the API wants them: --auth iam signs it with AWS credentials, --auth jwt sends --token; npm start -- --auth iam|jwt prints local ones)`;
}

/** Runs the process's command line: Ctrl-C stops a wait cleanly; sets the exit code. */
export async function main(): Promise<void> {
  const controller = new AbortController();
  const interrupt = () => controller.abort();
  process.once('SIGINT', interrupt);
  try {
    process.exitCode = await runCli(process.argv.slice(2), {
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', interrupt);
  }
}
