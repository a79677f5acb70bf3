/**
 * The job types this deployment runs, by name: what `POST /jobs` accepts. The submit handler imports
 * this list alone, so no processor's code, nor anything a processor imports, is in its bundle or its
 * cold start. registry.ts maps each name to its processor; the type checker holds both to the same names.
 */
export const jobTypes = ['echo', 'sleep', 'fail', 'flaky'] as const;

/** A registered job type. */
export type JobType = (typeof jobTypes)[number];
