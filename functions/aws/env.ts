/** Reads a variable the function's construct sets; a missing one fails the cold start, not a request. */
export function requiredEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`environment variable ${name} is not set`);
  return value;
}
