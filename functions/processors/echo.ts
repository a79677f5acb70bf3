import type { Processor } from '#core/processor';

/** `echo`: returns its input unchanged. */
export const echo: Processor = async (input) => input;
