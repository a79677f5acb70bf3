/**
 * The bill `npm run bench` prints: what batching does to it. A worker invocation costs its Lambda
 * request, its receive and its delete whatever its batch holds, so a job alone in its batch (a quiet
 * queue) costs more than one of a full batch, and the report says how much, and from which batch size
 * the total stays under the goal.
 */
import { describe, expect, it } from 'vitest';
import { bill } from '../../bench/cost.ts';

/** The latest run's counts (bench/results.md at 86f5aba): 6,000 jobs in batches of about 9.9. */
const jobs = 6000;
const latest = bill({
  durations: 'the isolated submits',
  jobs,
  counts: {
    'dynamodb:PutItem': 6000,
    'dynamodb:UpdateItem': 12000,
    'sns:Publish': 6000,
    'sqs:SendMessage async-jobs': 6000,
    'sqs:ReceiveMessage async-jobs': 620,
    'sqs:DeleteMessageBatch async-jobs': 611,
    'sqs:ReceiveMessage async-jobs-dlq': 2,
    'sqs:ReceiveMessage async-jobs-webhooks': 2,
  },
  units: { writes: 18000, failedWrites: 0, table: 18000, indexes: { 'by-owner': 6000 }, maxItemBytes: 336 },
  invocationsPerJob: 608 / jobs,
  workerMsPerJob: 3928 / 420,
  submitMs: 2658 / 420,
  logBytesPerJob: 670.8,
});

describe('the bill of a run', () => {
  it('totals the issue’s list as the latest run printed it', () => {
    // Assess
    expect(latest.total).toBeCloseTo(4.87, 2);
  });

  it('says what a job alone in its batch costs: a worker request, a receive and a delete more', () => {
    // Act
    const { batching } = latest;

    // Assess
    expect(batching.perBatch).toBeCloseTo(1.0, 6);
    expect(batching.batchSize).toBeCloseTo(9.87, 2);
    expect(batching.perJob + batching.perBatch / batching.batchSize).toBeCloseTo(latest.total, 9);
    expect(batching.alone).toBeCloseTo(5.77, 2);
    expect(batching.underFiveFrom).toBeCloseTo(4.31, 2);
  });
});
