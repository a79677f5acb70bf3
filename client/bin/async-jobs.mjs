#!/usr/bin/env node
// Launcher of the `async-jobs` CLI: runs the compiled CLI when a build put one in client/dist/,
// else the TypeScript source through tsx (a dev dependency of this repository).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli.js', import.meta.url);
let cli;
if (existsSync(built)) {
  cli = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  cli = await import(new URL('../cli.ts', import.meta.url).href);
}
await cli.main();
