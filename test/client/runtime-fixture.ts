/**
 * The local runtime and a client for a test file, every answer checked against the OpenAPI
 * document after each test.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { AsyncJobsClient } from '../../client/index.ts';
import { type LocalRuntime, startLocalRuntime } from '../../infra/local/runtime.ts';
import { checkingFetch, localDocument, ResponseChecker } from '../support/openapi-check.ts';

export interface RuntimeFixture {
  readonly runtime: LocalRuntime;
  readonly client: AsyncJobsClient;
  readonly checked: ReturnType<typeof checkingFetch>;
}

/** Registers the hooks; the returned object is filled in before the first test runs. */
export function useLocalRuntime(): RuntimeFixture {
  const checked = checkingFetch(new ResponseChecker(localDocument()));
  const fixture = { checked } as { runtime: LocalRuntime; client: AsyncJobsClient; checked: typeof checked };
  beforeAll(async () => {
    // Errors of instances stopped mid-job at the end are expected; a failing test shows them.
    fixture.runtime = await startLocalRuntime({ port: 0, onError: (error) => console.error('[local runtime]', error) });
    fixture.client = new AsyncJobsClient({ baseUrl: fixture.runtime.url, fetch: checked.fetch });
  }, 90_000);
  afterAll(async () => {
    await fixture.runtime?.stop();
  });
  // Every answer the client got in a test must be one the OpenAPI document describes.
  afterEach(() => {
    expect(checked.takeViolations().violations).toEqual([]);
  });
  return fixture;
}
