/**
 * The job types this deployment runs, by name: what `POST /jobs` accepts. The submit handler imports
 * this list alone, so no processor's code, nor anything a processor imports, is in its bundle or its
 * cold start. registry.ts maps each name to its processor; the type checker holds both to the same names.
 */
import type { Schema } from '#core/schema';

export const jobTypes = ['echo', 'sleep', 'fail', 'flaky'] as const;

/** A registered job type. */
export type JobType = (typeof jobTypes)[number];

/**
 * What a type's `input` must be, where it has a rule: `POST /jobs` checks the input against it (an absent
 * input as `null`) and answers 400 naming each field, instead of accepting a job that can only fail, and
 * the OpenAPI document states it. A type without one takes any JSON. Its processor still checks what it
 * relies on: a job submitted before the rule changed may reach it.
 */
export const inputSchemas: Readonly<Partial<Record<JobType, Schema>>> = {
  sleep: {
    type: 'object',
    required: ['seconds'],
    properties: { seconds: { type: 'number', minimum: 0, maximum: 60, description: 'Seconds to sleep, reporting progress each second.' } },
  },
  flaky: {
    oneOf: [
      { type: 'null' },
      {
        type: 'object',
        properties: {
          failAttempts: { type: 'integer', minimum: 0, description: 'Attempts that fail retryably before it may succeed (default 0).' },
          failureRate: { type: 'number', minimum: 0, maximum: 1, description: 'Chance that a later attempt fails retryably (default 0).' },
        },
      },
    ],
  },
};
