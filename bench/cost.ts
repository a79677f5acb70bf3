/**
 * Dollars per million jobs at list prices (us-east-1), from the requests counted during the end to
 * end run. Prices are the issue's; Lambda GB-seconds at the arm64 price, since the functions run
 * on arm64. CloudWatch Logs is not in the list and is shown apart.
 */
import { api as apiConfig, worker } from '../infra/config.ts';
import { total } from './checks.ts';
import type { WriteUnits } from './dynamodb-units.ts';
import type { OperationCounts } from './request-log.ts';

export const prices = {
  httpApiPerMillion: 1.0,
  lambdaRequestsPerMillion: 0.2,
  /** arm64, first pricing tier. */
  lambdaPerGbSecond: 0.0000133334,
  dynamodbWriteUnitsPerMillion: 0.625,
  dynamodbReadUnitsPerMillion: 0.125,
  sqsRequestsPerMillion: 0.4,
  snsPublishesPerMillion: 0.5,
  stepFunctionsStandardTransitionsPerMillion: 25,
  stepFunctionsTransitionsPerJob: 5,
  cloudWatchLogsIngestionPerGb: 0.5,
  /** START, END and REPORT lines Lambda writes per invocation, roughly. */
  lambdaPlatformLogBytesPerInvocation: 260,
} as const;

/** One line of the bill. */
export interface CostLine {
  readonly item: string;
  /** What one job uses, in the item's unit. */
  readonly perJob: number;
  readonly unit: string;
  readonly dollarsPerMillionJobs: number;
}

export interface CostInput {
  /** Where `workerMsPerJob` and `submitMs` were measured. */
  readonly durations: string;
  readonly jobs: number;
  readonly counts: OperationCounts;
  readonly units: WriteUnits;
  readonly invocationsPerJob: number;
  /** Billed worker milliseconds per job: its invocations' handler time (each rounded up to 1 ms) shared by their jobs. */
  readonly workerMsPerJob: number;
  /** Billed milliseconds of one submit invocation: the mean of their handler times, each rounded up to 1 ms. */
  readonly submitMs: number;
  readonly logBytesPerJob: number;
}

export interface Bill {
  /** Where the handler times of Lambda compute come from. */
  readonly durations: string;
  readonly lines: readonly CostLine[];
  /** The list: everything but logs. */
  readonly total: number;
  readonly totalWithLogs: number;
  /** API Gateway plus Step Functions Standard at about five transitions per job. */
  readonly stepFunctions: number;
  readonly batching: Batching;
}

/**
 * What batching does to the bill: each worker invocation costs a Lambda request, a receive and a delete
 * whatever number of jobs its batch holds, so the total is `perJob + perBatch / batchSize`.
 */
export interface Batching {
  /** Jobs per worker invocation in the counted runs. */
  readonly batchSize: number;
  /** Dollars per million batches: the worker's request, its receive and its delete. */
  readonly perBatch: number;
  /** Dollars per million jobs of everything else. */
  readonly perJob: number;
  /** The total when each job has a batch of its own, as on a quiet queue. */
  readonly alone: number;
  /** The fewest jobs per batch that keep the total under $5 per million jobs (Infinity if none does). */
  readonly underFiveFrom: number;
}

/** The batching of a bill whose worker made `invocationsPerJob` invocations per job. */
export function batchingOf(total: number, invocationsPerJob: number): Batching {
  const perBatch = prices.lambdaRequestsPerMillion + 2 * prices.sqsRequestsPerMillion;
  const perJob = total - invocationsPerJob * perBatch;
  return {
    batchSize: 1 / invocationsPerJob,
    perBatch,
    perJob,
    alone: perJob + perBatch,
    underFiveFrom: perJob < 5 ? perBatch / (5 - perJob) : Number.POSITIVE_INFINITY,
  };
}

export function bill(input: CostInput): Bill {
  const { jobs, counts } = input;
  const per = (value: number) => value / jobs;
  const gbSeconds = (apiConfig.memoryMb / 1024) * (input.submitMs / 1000) + (worker.memoryMb / 1024) * (input.workerMsPerJob / 1000);
  const reads = total(counts, /^dynamodb:(GetItem|Query|BatchGetItem|Scan)$/);
  const sqsRequests = total(counts, /^sqs:/);
  const publishes = total(counts, /^sns:Publish$/);
  const lines: CostLine[] = [
    { item: 'HTTP API request', perJob: 1, unit: 'requests', dollarsPerMillionJobs: prices.httpApiPerMillion },
    {
      item: 'Lambda requests (submit + worker share)',
      perJob: 1 + input.invocationsPerJob,
      unit: 'invocations',
      dollarsPerMillionJobs: (1 + input.invocationsPerJob) * prices.lambdaRequestsPerMillion,
    },
    { item: 'Lambda compute', perJob: gbSeconds, unit: 'GB-s', dollarsPerMillionJobs: gbSeconds * prices.lambdaPerGbSecond * 1e6 },
    {
      item: 'DynamoDB writes, table',
      perJob: per(input.units.table),
      unit: 'WRU',
      dollarsPerMillionJobs: per(input.units.table) * prices.dynamodbWriteUnitsPerMillion,
    },
    ...Object.entries(input.units.indexes).map(([name, units]) => ({
      item: `DynamoDB writes, GSI ${name}`,
      perJob: per(units),
      unit: 'WRU',
      dollarsPerMillionJobs: per(units) * prices.dynamodbWriteUnitsPerMillion,
    })),
    { item: 'DynamoDB reads', perJob: per(reads), unit: 'RRU (about)', dollarsPerMillionJobs: per(reads) * prices.dynamodbReadUnitsPerMillion },
    { item: 'SQS requests', perJob: per(sqsRequests), unit: 'requests', dollarsPerMillionJobs: per(sqsRequests) * prices.sqsRequestsPerMillion },
    { item: 'SNS publishes', perJob: per(publishes), unit: 'publishes', dollarsPerMillionJobs: per(publishes) * prices.snsPublishesPerMillion },
  ];
  const sum = lines.reduce((acc, line) => acc + line.dollarsPerMillionJobs, 0);
  const logBytes = input.logBytesPerJob + (1 + input.invocationsPerJob) * prices.lambdaPlatformLogBytesPerInvocation;
  const logs: CostLine = {
    item: 'CloudWatch Logs ingestion (not in the issue list)',
    perJob: logBytes,
    unit: 'bytes',
    dollarsPerMillionJobs: (logBytes * 1e6 * prices.cloudWatchLogsIngestionPerGb) / 1024 ** 3,
  };
  return {
    durations: input.durations,
    lines: [...lines, logs],
    total: sum,
    totalWithLogs: sum + logs.dollarsPerMillionJobs,
    stepFunctions:
      prices.httpApiPerMillion + prices.stepFunctionsTransitionsPerJob * prices.stepFunctionsStandardTransitionsPerMillion,
    batching: batchingOf(sum, input.invocationsPerJob),
  };
}
