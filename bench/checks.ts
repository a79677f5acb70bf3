/**
 * The request budget, checked exactly: what `--quick` and the test assert. Handlers are told apart
 * by operation, which only one of them performs on the happy path: PutItem and SendMessage are the
 * submit's, UpdateItem and Publish the worker's, ReceiveMessage and DeleteMessageBatch the poller's.
 */
import type { OperationCounts } from './request-log.ts';

export interface Check {
  readonly name: string;
  readonly expected: string;
  readonly actual: string;
  readonly ok: boolean;
}

/** DynamoDB operations that write. */
export const WRITE_OPERATIONS = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'] as const;

/** Sum of the counts whose key matches `pattern`. */
export function total(counts: OperationCounts, pattern: RegExp): number {
  return Object.entries(counts)
    .filter(([key]) => pattern.test(key))
    .reduce((sum, [, count]) => sum + count, 0);
}

/** Writes per job, all DynamoDB write operations together. */
export function dynamodbWrites(counts: OperationCounts): number {
  return total(counts, new RegExp(`^dynamodb:(${WRITE_OPERATIONS.join('|')})$`));
}

/** The run a check reads: how many jobs, how many ended as they should, and the requests counted. */
export interface CountedRun {
  readonly jobs: number;
  readonly completed: number;
  readonly distinctEvents: number;
  readonly counts: OperationCounts;
}

/** The budget of DESIGN.md and issue 7, for a run of `echo` jobs that all succeed. */
export function budgetChecks(run: CountedRun, jobsQueue: string): Check[] {
  const { jobs, counts } = run;
  const perJob = (value: number) => (value / jobs).toFixed(3);
  const puts = total(counts, /^dynamodb:PutItem$/);
  const sends = total(counts, /^sqs:SendMessage( |$)/);
  const sendsToJobs = total(counts, new RegExp(`^sqs:SendMessage ${jobsQueue}$`));
  const writes = dynamodbWrites(counts);
  const publishes = total(counts, /^sns:Publish$/);
  return [
    { name: 'every job SUCCEEDED, with the event its record names', expected: String(jobs), actual: String(run.completed), ok: run.completed === jobs },
    { name: 'one distinct event per job', expected: String(jobs), actual: String(run.distinctEvents), ok: run.distinctEvents === jobs },
    { name: 'submit: PutItem per job', expected: '1', actual: perJob(puts), ok: puts === jobs },
    {
      name: 'submit: SendMessage per job (to the jobs queue)',
      expected: '1',
      actual: perJob(sendsToJobs),
      ok: sendsToJobs === jobs && sends === jobs,
    },
    { name: 'job: DynamoDB writes per job', expected: '<= 4', actual: perJob(writes), ok: writes <= 4 * jobs },
    { name: 'job: Publish per job', expected: '1', actual: perJob(publishes), ok: publishes === jobs },
  ];
}

/** The submit section's own count: each 202 cost exactly one PutItem and one SendMessage. */
export function submitChecks(counts: OperationCounts, submits: number, jobsQueue: string, concurrency: number): Check[] {
  const puts = total(counts, /^dynamodb:PutItem$/);
  const sends = total(counts, new RegExp(`^sqs:SendMessage ${jobsQueue}$`));
  const where = `submit at concurrency ${concurrency}`;
  return [
    { name: `${where}: PutItem per 202`, expected: '1', actual: (puts / submits).toFixed(3), ok: puts === submits },
    { name: `${where}: SendMessage per 202`, expected: '1', actual: (sends / submits).toFixed(3), ok: sends === submits },
  ];
}
