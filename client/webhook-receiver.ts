/**
 * `npm run webhook-receiver`: a small receiver for trying webhooks. It listens on localhost,
 * verifies each delivery's Standard Webhooks signature and prints it.
 *
 *   npm run webhook-receiver -- [--port 3001] [--secret whsec_… | --data-dir <folder>] [--status 200]
 *
 * The secret defaults to ASYNC_JOBS_WEBHOOK_SECRET, else to the one `npm start` created: in the folder
 * of `--data-dir` when it was started with one (pass the same folder), else in .local/.
 * `--status` makes it answer with another status (500 to watch retries, 410 to stop them).
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { signingKey, verifyWebhook } from './webhook.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Read at each delivery, so the receiver may start before `npm start` has created the secret. */
function secretFrom(flag: string | undefined, dataDir: string | undefined): string | undefined {
  if (flag) return flag;
  // A flag names the secret over the environment: --data-dir before ASYNC_JOBS_WEBHOOK_SECRET.
  if (dataDir === undefined && process.env.ASYNC_JOBS_WEBHOOK_SECRET) return process.env.ASYNC_JOBS_WEBHOOK_SECRET;
  try {
    return readFileSync(path.join(dataDir === undefined ? path.join(projectRoot, '.local') : path.resolve(dataDir), 'webhook-secret'), 'utf8').trim();
  } catch {
    return undefined;
  }
}

const { values } = parseArgs({ options: { port: { type: 'string' }, secret: { type: 'string' }, 'data-dir': { type: 'string' }, status: { type: 'string' } } });
// The API the printed curl goes to: the one the CLI is pointed at, else npm start's default.
const api = (process.env.ASYNC_JOBS_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const portText = values.port ?? process.env.WEBHOOK_PORT ?? '3001';
const port = Number(portText);
const status = Number(values.status ?? 204);

/** The shortest key a signing secret may have: Standard Webhooks secrets are 24 to 64 bytes. */
const MIN_SECRET_BYTES = 16;

/** A start that cannot work ends at once, in one line, rather than with a stack trace or a receiver that refuses every delivery. */
function refuse(message: string): never {
  console.error(`webhook receiver: ${message}`);
  process.exit(2);
}

if (!/^\d+$/.test(portText) || port > 65535) refuse(`the port must be a number from 0 to 65535 (--port or WEBHOOK_PORT), got '${portText}'`);
if (!Number.isInteger(status) || status < 200 || status > 599) refuse(`--status must be an HTTP status from 200 to 599, got '${values.status}'`);
const given = secretFrom(values.secret, values['data-dir']);
if (given !== undefined) {
  // Of the form verifyWebhook takes, and long enough to be a real one (npm start's and the stack's are 32 bytes):
  // a word typed by mistake would start a receiver that refuses every delivery.
  let key: Buffer;
  try {
    key = signingKey(given);
  } catch (error) {
    refuse(error instanceof Error ? error.message : String(error));
  }
  if (key.length < MIN_SECRET_BYTES) refuse(`the signing secret is ${key.length} bytes; a signing secret is at least ${MIN_SECRET_BYTES} (npm start prints its own)`);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const secret = secretFrom(values.secret, values['data-dir']);
    try {
      if (!secret) {
        const where = values['data-dir'] === undefined ? 'run npm start once (it creates one)' : `no webhook-secret in ${values['data-dir']}: start npm start with that --data-dir`;
        throw new Error(`no signing secret: ${where}, or pass --secret whsec_…`);
      }
      const event = verifyWebhook(body, req.headers, secret) as { id?: string; type?: string; data?: { id?: string; status?: string } };
      console.log(`[verified] ${req.headers['webhook-id']} ${event.type} ${event.data?.id} ${event.data?.status} -> answering ${status}`);
      console.log(body);
      res.writeHead(status);
      res.end();
    } catch (error) {
      console.log(`[REJECTED] ${error instanceof Error ? error.message : String(error)}`);
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('invalid signature\n');
    }
  });
});

server.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EADDRINUSE') refuse(`port ${port} is in use: pass --port <n> (or set WEBHOOK_PORT), and the same port in the callbackUrl`);
  refuse(error.message);
});
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as { port: number };
  console.log(
    `webhook receiver on http://127.0.0.1:${bound}/ (answers ${status}); try: curl -s -X POST ${api}/jobs -H 'content-type: application/json' -d '{"type":"echo","input":"hi","callbackUrl":"http://127.0.0.1:${bound}/"}'`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => server.close(() => process.exit(0)));
