/**
 * `npm start` in a checkout with nothing built yet (after `npm ci`, or after an edit): the API comes up
 * once the function behind `POST /jobs` is built, and the other functions follow. Everything must still
 * work, and a function that does not build must still stop the start with esbuild's message.
 */
import { appendFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshInstall } from '../../bench/npm-start.ts';
import { npmStart } from '../support/npm-start.ts';

let install: Awaited<ReturnType<typeof freshInstall>>;

beforeAll(async () => {
  install = await freshInstall('test-install');
});

afterAll(async () => {
  await install?.remove();
});

async function waitForStatus(url: string, id: string): Promise<{ status: string; result?: unknown }> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    const response = await fetch(`${url}/jobs/${id}`);
    if (response.status === 200) return (await response.json()) as { status: string; result?: unknown };
  }
  throw new Error(`job ${id} did not end`);
}

describe('npm start with nothing built yet', () => {
  it('answers every route and runs the job, with the functions built after the API came up', async () => {
    // Prepare
    await install.clearBuilds();
    const start = await npmStart([], {}, install.root);
    try {
      // Act
      const submitted = await fetch(`${start.url}/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'echo', input: { fresh: true } }),
      });
      const { id } = (await submitted.json()) as { id: string };
      const ended = await waitForStatus(start.url, id);
      const document = await fetch(`${start.url}/openapi.json`);
      const unknown = await fetch(`${start.url}/nowhere`);

      // Assess
      expect(submitted.status).toBe(202);
      expect(ended).toMatchObject({ status: 'SUCCEEDED', result: { fresh: true } });
      expect(document.status).toBe(200);
      expect(unknown.status).toBe(404);
      expect(start.output()).not.toMatch(/failed to build/);
    } finally {
      await start.stop();
    }
  }, 120_000);

  it('stops with esbuild\'s message, naming the file, when a function other than the first does not build', async () => {
    // Prepare
    await install.clearBuilds();
    await appendFile(path.join(install.root, 'functions', 'get-job.ts'), '\nexport const broken = ;\n');
    const start = await npmStart([], {}, install.root);
    try {
      // Act
      await start.waitForLine(/failed to build/, 60_000);
      for (let waited = 0; start.groupAlive() && waited < 15_000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));

      // Assess
      expect(start.output()).toMatch(/functions\/get-job\.ts:\d+:\d+: ERROR/);
      expect(start.groupAlive()).toBe(false);
      expect(start.child.exitCode).toBe(1);
    } finally {
      await start.stop();
    }
  }, 120_000);
});
