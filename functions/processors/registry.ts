/**
 * The job types this deployment runs, with their processors. To add one, write a `Processor` in this
 * folder, add its type name to types.ts (lower-case, dashes allowed) and the processor here under that
 * name: the submit handler accepts the new type and the worker runs it. Only the worker imports this file.
 */
import type { Processor } from '#core/processor';
import { echo } from './echo.ts';
import { fail } from './fail.ts';
import { flaky } from './flaky.ts';
import { sleep } from './sleep.ts';
import type { JobType } from './types.ts';

export const processors: Readonly<Record<JobType, Processor>> = { echo, sleep, fail, flaky };

export { jobTypes } from './types.ts';
