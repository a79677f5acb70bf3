/**
 * The browser entry bundles for the browser: nothing it pulls in needs Node. A bundler is the
 * judge (esbuild, platform browser), so an indirect `node:` import is caught too.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const clientDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../client');

function bundleForBrowser(entry: string) {
  return build({ entryPoints: [path.join(clientDir, entry)], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
}

describe('the client in a browser', () => {
  it('bundles client/browser.ts for the browser without any Node module', async () => {
    // Act
    const result = await bundleForBrowser('browser.ts');
    // Assess
    const code = result.outputFiles[0]?.text ?? '';
    expect(result.errors).toEqual([]);
    expect(code).toMatch(/export \{[^}]*\bAsyncJobsClient\b/);
    expect(code).not.toMatch(/from\s*["']node:/);
  });

  it('would notice a Node import: the Node entry, with verifyWebhook, does not bundle for the browser', async () => {
    // Act
    const bundling = bundleForBrowser('index.ts');
    // Assess
    await expect(bundling).rejects.toThrow(/node:crypto/);
  });
});
