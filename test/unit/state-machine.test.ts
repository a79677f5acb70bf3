import { describe, expect, it } from 'vitest';
import { JOB_STATUSES, type JobStatus } from '#core/job';
import { IllegalTransitionError, assertTransition, canTransition, eventTypeFor } from '#core/state-machine';

/** The lifecycle as DESIGN.md states it, written out independently of the implementation's table. */
const LEGAL = new Set<string>([
  'QUEUED->RUNNING',
  'QUEUED->CANCELLED',
  'RUNNING->SUCCEEDED',
  'RUNNING->FAILED',
  'RUNNING->CANCELLED',
  'RUNNING->QUEUED',
]);

const ALL_PAIRS = JOB_STATUSES.flatMap((from) =>
  JOB_STATUSES.map((to): [JobStatus, JobStatus, boolean] => [from, to, LEGAL.has(`${from}->${to}`)]),
);

describe('job lifecycle', () => {
  it('covers every one of the 25 status pairs, 6 of them legal', () => {
    // Assess
    expect(ALL_PAIRS).toHaveLength(25);
    expect(ALL_PAIRS.filter(([, , legal]) => legal)).toHaveLength(6);
  });

  it.each(ALL_PAIRS)('%s -> %s is legal: %s', (from, to, legal) => {
    // Act
    const allowed = canTransition(from, to);

    // Assess
    expect(allowed).toBe(legal);
  });

  it.each(ALL_PAIRS.filter(([, , legal]) => legal))('assertTransition accepts %s -> %s', (from, to) => {
    // Act / Assess
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(ALL_PAIRS.filter(([, , legal]) => !legal))('assertTransition refuses %s -> %s', (from, to) => {
    // Act
    let thrown: unknown;
    try {
      assertTransition(from, to);
    } catch (error) {
      thrown = error;
    }

    // Assess
    expect(thrown).toBeInstanceOf(IllegalTransitionError);
    expect(thrown).toMatchObject({ name: 'IllegalTransitionError', from, to, message: `illegal job transition ${from} -> ${to}` });
  });
});

describe('eventTypeFor', () => {
  it.each<[JobStatus, string | undefined]>([
    ['QUEUED', undefined],
    ['RUNNING', undefined],
    ['SUCCEEDED', 'job.succeeded'],
    ['FAILED', 'job.failed'],
    ['CANCELLED', 'job.cancelled'],
  ])('a transition to %s announces %s', (status, expected) => {
    // Act
    const type = eventTypeFor(status);

    // Assess
    expect(type).toBe(expected);
  });
});
