/** `npm start`: the whole system on this machine. Its options are in HELP below (`npm start -- --help`). */
import { parseArgs } from 'node:util';
import { localRegion, webhooks } from '../config.ts';
import { localUserArn } from './auth.ts';
import { startLocalRuntime } from './runtime.ts';

const USAGE = 'usage: npm start -- [--dynamodb-local] [--data-dir <folder>] [--auth iam|jwt|none] [--cors-origin <origin>]... [--allow-host <name>]...';

const HELP = `Runs the async jobs API on this machine: the functions the stack deploys, against local emulators.
${USAGE}

  --dynamodb-local      use Amazon's DynamoDB Local (needs Java) instead of dynalite
  --data-dir <folder>   keep the jobs and the secrets in <folder> across restarts (default: in memory;
                        the secrets in .local/)
  --auth iam|jwt|none   require SigV4 signatures with local access keys, or JWTs from a local issuer, as the
                        deployed API does; none (the default) lets anyone call
  --cors-origin <o>     let browser pages of origin <o> call the API (repeatable; * for any)
  --allow-host <name>   also answer requests for host <name>, a proxy's that forwards to the API (repeatable)
  -h, --help            this text

PORT sets the HTTP port (default 3000; 0 picks a free one). The README's "Quick start (local)" says more.`;

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

async function main(): Promise<void> {
  // Read before anything can take long: the watch below compares against the process that started this one.
  const parent = process.ppid;
  let values: { 'dynamodb-local'?: boolean; 'data-dir'?: string; auth?: string; 'cors-origin'?: string[]; 'allow-host'?: string[]; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: {
        'dynamodb-local': { type: 'boolean' },
        'data-dir': { type: 'string' },
        auth: { type: 'string' },
        'cors-origin': { type: 'string', multiple: true },
        'allow-host': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  if (values.auth !== undefined && !['iam', 'jwt', 'none'].includes(values.auth)) usage(`--auth must be iam, jwt or none, got '${values.auth}'`);
  const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`PORT must be a port number, got '${process.env.PORT}'`);

  const runtime = await startLocalRuntime({
    port,
    dynamodb: values['dynamodb-local'] ? 'dynamodb-local' : 'dynalite',
    ...(values['data-dir'] && { dataDir: values['data-dir'] }),
    auth: (values.auth ?? 'none') as 'none' | 'iam' | 'jwt',
    ...(values['cors-origin'] && { corsOrigins: values['cors-origin'] }),
    ...(values['allow-host'] && { allowedHosts: values['allow-host'] }),
    onEvent: (_event, raw) => console.log(`[event] ${raw}`),
  });
  let stopping = false;
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`[local runtime] ${reason}: stopping`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    runtime.stop().then(
      () => {
        console.log('[local runtime] stopped');
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // npm runs this under `sh -c`, and a shell that passes no signal on (dash, Debian's sh) would leave it
  // serving when npm alone is sent SIGTERM, as `kill <pid>` or a process manager does: under npm, stop
  // once the process that started this one is gone. Run directly (`node infra/local/start.mjs`, or
  // backgrounded by a script that then exits), it stays up. Windows keeps the parent's id: no watch there.
  if (process.env.npm_lifecycle_event === 'start') {
    setInterval(() => {
      if (process.ppid !== parent) shutdown('npm, which started it, is gone');
    }, 500).unref();
  }
  // Without a cached build, the API is up before every function is built: a function that does not
  // build stops the start, as it would have before the API came up.
  runtime.built.catch(async (error: unknown) => {
    if (stopping) return;
    stopping = true;
    console.error(`[local runtime] failed to build: ${error instanceof Error ? error.message : String(error)}`);
    await runtime.stop().catch(() => undefined);
    process.exit(1);
  });
  const { auth } = runtime;
  // Named, so that the command goes to this API whatever PORT was (the CLI's default is port 3000).
  const cliEndpoint = `ASYNC_JOBS_URL=${runtime.url} `;
  // A request that passes as the API is configured: signed by curl itself in IAM mode, with the token below in JWT mode.
  const firstUser = auth.type === 'iam' ? auth.users[0] : undefined;
  const credentials =
    firstUser !== undefined
      ? `--aws-sigv4 'aws:amz:${localRegion}:execute-api' --user '${firstUser.accessKeyId}:${firstUser.secretAccessKey}' `
      : auth.type === 'jwt'
        ? `-H "authorization: Bearer $ASYNC_JOBS_TOKEN" `
        : '';
  console.log(
    `async-jobs API on ${runtime.url} (${runtime.labels.dynamodb}, ${runtime.labels.sqs}); try: ` +
      `curl -i ${credentials}-X POST ${runtime.url}/jobs -H 'content-type: application/json' -d '{"type":"sleep","input":{"seconds":2}}'`,
  );
  if (auth.type === 'iam') {
    for (const user of auth.users) {
      console.log(
        `IAM auth: sign requests for execute-api in ${localRegion} as ${localUserArn(user)}: ` +
          `${cliEndpoint}AWS_ACCESS_KEY_ID=${user.accessKeyId} AWS_SECRET_ACCESS_KEY=${user.secretAccessKey} npx async-jobs --auth iam get <id>`,
      );
    }
  }
  if (auth.type === 'jwt') {
    console.log(
      `JWT auth (issuer ${auth.issuer.issuer}, audience ${auth.issuer.audience}): a token for sub "local-user", valid 12 h: ` +
        `export ASYNC_JOBS_URL=${runtime.url} ASYNC_JOBS_TOKEN=${auth.issueToken('local-user')}`,
    );
  }
  for (const { jobId, takenOverAt } of runtime.interruptedJobs) {
    console.log(
      `[local runtime] job ${jobId} was RUNNING when the runtime last stopped: the worker takes it over at ${takenOverAt.toISOString()}, ` +
        "once the stopped invocation's deadline has passed (as on Lambda); it shows RUNNING until then, and that attempt counts as failed",
    );
  }
  console.log(
    `webhooks are signed with ${runtime.webhookSecret} (npm run webhook-receiver verifies them); ` +
      `failed deliveries are retried after ${webhooks.localRetryScheduleSeconds.join(', ')} s: the deployed schedule's shape, in seconds instead of up to hours`,
  );
}

main().catch((error: unknown) => {
  console.error(`[local runtime] failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
