/**
 * The job types this deployment runs. To add one, write a `Processor` in this folder and add it
 * here under its type name (lower-case, dashes allowed); the submit handler accepts the new type
 * and the worker runs it.
 */
import type { Processor } from '#core/processor';
import { echo } from './echo.ts';
import { fail } from './fail.ts';
import { flaky } from './flaky.ts';
import { sleep } from './sleep.ts';

export const processors: Readonly<Record<string, Processor>> = { echo, sleep, fail, flaky };

/** Registered type names, for validation and error messages. */
export const jobTypes: readonly string[] = Object.keys(processors);
