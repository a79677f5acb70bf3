/**
 * The client in a Node script: submit a job, wait for its final state, tell the three outcomes apart.
 *
 *   node --import tsx examples/submit-and-wait.ts [type] [input JSON]
 *
 * ASYNC_JOBS_URL names the API (default: the local runtime, http://127.0.0.1:3000).
 */
import { AsyncJobsClient, AsyncJobsError, JobCancelledError, JobFailedError, WaitTimeoutError } from '../client/index.ts';

const [type = 'sleep', inputText = '{"seconds":2}'] = process.argv.slice(2);
let input: unknown;
try {
  input = JSON.parse(inputText);
} catch {
  console.error(`the input must be JSON, got ${inputText}`);
  process.exit(2);
}
const jobs = new AsyncJobsClient({ baseUrl: process.env.ASYNC_JOBS_URL ?? 'http://127.0.0.1:3000' });

try {
  // 202 Accepted: the job exists and will end, but it has not run yet.
  const accepted = await jobs.submit({ type, input });
  console.log(`accepted ${accepted.id} (${accepted.status})`);
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
  } else if (error instanceof AsyncJobsError) {
    // Refused (a 4xx: its detail says what to fix, field by field), or no answer after the client's retries.
    console.error(error.message);
    process.exitCode = 4;
  } else {
    throw error;
  }
}
