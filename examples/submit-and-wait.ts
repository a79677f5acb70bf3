/**
 * The client in a Node script: submit a job, wait for its final state, tell the three outcomes apart.
 *
 *   node --import tsx examples/submit-and-wait.ts [type] [input JSON]
 *
 * ASYNC_JOBS_URL names the API (default: the local runtime, http://127.0.0.1:3000).
 */
import { AsyncJobsClient, JobCancelledError, JobFailedError, WaitTimeoutError } from '../client/index.ts';

const [type = 'sleep', input = '{"seconds":2}'] = process.argv.slice(2);
const jobs = new AsyncJobsClient({ baseUrl: process.env.ASYNC_JOBS_URL ?? 'http://127.0.0.1:3000' });

// 202 Accepted: the job exists and will end, but it has not run yet.
const accepted = await jobs.submit({ type, input: JSON.parse(input) });
console.log(`accepted ${accepted.id} (${accepted.status})`);

try {
  // Polls the job, waiting what the server's Retry-After says, until it ends or 60 s pass.
  const done = await jobs.wait(accepted.id, {
    timeoutMs: 60_000,
    onProgress: (progress) => console.log(`progress ${progress.percent ?? '?'}% ${progress.message ?? ''}`),
  });
  console.log(`succeeded ${JSON.stringify(done.result)}`);
} catch (error) {
  if (error instanceof JobFailedError || error instanceof JobCancelledError) {
    // A final answer, not a transport error: the job ended without succeeding. Do not resubmit blindly.
    console.error(`${error.job.status.toLowerCase()}: ${error.problem?.type} ${error.problem?.detail}`);
    process.exitCode = 1;
  } else if (error instanceof WaitTimeoutError) {
    // Our patience ran out, not the job: it goes on. Look again later; never submit it a second time.
    console.error(`still ${error.lastJob?.status ?? 'unknown'} after 60 s: async-jobs wait ${error.jobId}`);
    process.exitCode = 3;
  } else {
    throw error; // ApiError (4xx/5xx with problem details) or NetworkError
  }
}
