/**
 * Amazon's DynamoDB Local, as the local runtime starts it, is reachable from this machine only: its jar
 * listens on every interface, so the runtime starts it through LoopbackDynamoDbLocal (committed compiled).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { type Emulator, loopbackLauncherDir, startDynamoDbLocal } from '#infra/local/emulators';
import { compileLoopbackLauncher } from '../../scripts/build-dynamodb-local.ts';

/** The local addresses of the sockets listening on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel writes them). */
function listeningAddresses(port: number): string[] {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  // tcp6 is missing where IPv6 is disabled.
  return ['/proc/net/tcp', '/proc/net/tcp6'].filter((file) => existsSync(file)).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[3] === '0A' && fields[1]?.endsWith(`:${portHex}`)) // 0A: LISTEN
      .map((fields) => (fields[1] as string).split(':')[0] as string),
  );
}

/** 127.0.0.1 as /proc/net writes it: little-endian in tcp, IPv4-mapped in tcp6. */
const LOOPBACK = ['0100007F', '0000000000000000FFFF00000100007F'];

/** This machine's first IPv4 address that is not loopback, if it has one. */
function networkAddress(): string | undefined {
  return Object.values(os.networkInterfaces())
    .flat()
    .find((entry) => entry?.family === 'IPv4' && !entry.internal)?.address;
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('DynamoDB Local as the local runtime starts it', () => {
  let emulator: Emulator;
  let port: number;
  beforeAll(async () => {
    emulator = await startDynamoDbLocal();
    port = Number(new URL(emulator.endpoint).port);
  });
  afterAll(async () => {
    await emulator?.stop();
  });

  it('answers on 127.0.0.1', async () => {
    const client = new DynamoDBClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
    try {
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(TableNames).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  // /proc/net is Linux's; the connection test below covers other systems.
  it.skipIf(process.platform !== 'linux')('listens on 127.0.0.1 alone, not on every interface', () => {
    const addresses = listeningAddresses(port);
    expect(addresses.length).toBeGreaterThan(0);
    for (const address of addresses) expect(LOOPBACK).toContain(address);
  });

  it.skipIf(networkAddress() === undefined)("refuses a connection to this machine's network address", async () => {
    expect(await connects(networkAddress() as string, port)).toBe(false);
    expect(await connects('127.0.0.1', port)).toBe(true);
  });
});

describe('the committed launcher', () => {
  // The class is compiled by javac 17 (`--release 17`); another javac may write other bytes for the same source.
  let javac: string | undefined;
  try {
    javac = execFileSync('javac', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    javac = undefined;
  }
  const javac17 = javac !== undefined && /^javac 17\./.test(javac);

  // CI installs JDK 17 (.ci/run), so there the check always runs; elsewhere it needs that JDK.
  it.skipIf(!javac17 && !process.env.CI)('is what LoopbackDynamoDbLocal.java compiles to (npm run build:dynamodb-local)', () => {
    expect(javac, 'the check needs javac 17 (openjdk-17-jdk-headless)').toMatch(/^javac 17\./);
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'loopback-launcher-'));
    try {
      compileLoopbackLauncher(outdir);
      const fresh = readFileSync(path.join(outdir, 'LoopbackDynamoDbLocal.class'));
      const committed = readFileSync(path.join(loopbackLauncherDir, 'LoopbackDynamoDbLocal.class'));
      expect(committed.equals(fresh), 'the committed class differs from its source: run npm run build:dynamodb-local and commit it').toBe(true);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
