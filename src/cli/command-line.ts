// What the commands of `rxds` share to read their command lines.

/** A mistake in the command line: reported with the usage, exit status 2. */
export class UsageError extends Error {}

/** What `parse` (a call of node:util's parseArgs) returns; what it throws becomes a UsageError. */
export function readArguments<R>(parse: () => R): R {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
}

/** A port number 0..65535 given to `option`. */
export function parsePort(text: string, option: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`${option}: expected a port number 0..65535, got ${JSON.stringify(text)}`);
  return port;
}

/** A `host:port` address given as `what`. */
export function parseAddress(text: string | undefined, what: string): string {
  if (text === undefined || text === "") throw new UsageError(`${what}: expected host:port`);
  const colon = text.lastIndexOf(":");
  if (colon <= 0) throw new UsageError(`${what}: expected host:port, got ${JSON.stringify(text)}`);
  parsePort(text.slice(colon + 1), what);
  return text;
}

/** A positive number of milliseconds given to `option`. */
export function parseMilliseconds(text: string, option: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(ms > 0)) throw new UsageError(`${option}: expected a positive number of milliseconds, got ${JSON.stringify(text)}`);
  return ms;
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
