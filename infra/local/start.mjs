/**
 * `npm start`: compiles the local runtime if its sources changed since the last start (see launch.mjs)
 * and runs it, with this process's arguments and environment.
 */
import { pathToFileURL } from 'node:url';
import { preparedRuntime } from './launch.mjs';

let runtime;
try {
  runtime = await preparedRuntime();
} catch (error) {
  console.error(`[local runtime] failed to build: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
await import(pathToFileURL(runtime).href);
