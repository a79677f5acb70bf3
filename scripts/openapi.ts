/**
 * `npm run openapi`: writes the OpenAPI 3.1 description of the API, as the default stack deploys it,
 * to openapi.json at the project root (or to the path given as the first argument).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '#core/openapi';
import { api, jobs, queue, worker } from '#infra/config';
import { maxJobTimeoutSeconds } from '#infra/functions';
import { inputSchemas } from '#processors/types';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.resolve(process.argv[2] ?? path.join(projectRoot, 'openapi.json'));

const document = openApiDocument({
  maxDelaySeconds: queue.maxDelaySeconds,
  defaultTimeoutSeconds: jobs.defaultTimeoutSeconds,
  retryAfterSeconds: api.retryAfterSeconds,
  maxBodyBytes: api.maxBodyBytes,
  // The construct's default worker timeout; a stack with another `workerTimeout` serves its own at GET /openapi.json.
  maxTimeoutSeconds: maxJobTimeoutSeconds(worker.timeoutSeconds),
  inputSchemas,
});

await writeFile(target, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${path.relative(process.cwd(), target) || target} (OpenAPI ${document.openapi}, ${Object.keys(document.paths).length} paths)`);
