/** Logging helpers the domain and the entry points share (the logger itself is Powertools', in functions/aws). */

/** An error as one line of text: `Name: message`, or the value as a string. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** An error as loggable fields, stack included (logs are private; responses never carry stacks). */
export function errorFields(error: unknown): Record<string, unknown> {
  return error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : { message: String(error) };
}
