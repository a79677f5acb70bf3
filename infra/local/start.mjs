/**
 * `npm start`: compiles the local runtime if its sources changed since the last start (see launch.mjs)
 * and runs it, with this process's arguments and environment.
 */
import { pathToFileURL } from 'node:url';
import { preparedRuntime } from './launch.mjs';

// The bundles take `node:http` with `process.getBuiltinModule` (infra/bundling.ts): Node 20.16 and 22.3 on.
if (typeof process.getBuiltinModule !== 'function') {
  console.error(`[local runtime] Node ${process.version} is too old: npm start needs Node 20.16 or later`);
  process.exit(1);
}

let runtime;
try {
  runtime = await preparedRuntime();
} catch (error) {
  console.error(`[local runtime] failed to build: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
await import(pathToFileURL(runtime).href);
