// `rxds status <host:port>`: reads CSDS from a process that serves it (rxds's addCsdsService, grpc-js-xds's admin
// services, grpc-go's admin server) and prints what each of its xDS clients holds, or the raw dump with --json.

import { parseArgs } from "node:util";
import { messageOf, parseAddress, parseMilliseconds, readArguments, UsageError } from "./command-line.js";

/** What `rxds status` was asked to do. */
export interface StatusArguments {
  readonly address: string;
  readonly json: boolean;
  readonly timeoutMs: number;
}

/** Reads the arguments after `status`. */
export function parseStatusArguments(args: readonly string[]): StatusArguments {
  const { values, positionals } = readArguments(() =>
    parseArgs({ args: [...args], allowPositionals: true, strict: true, options: { json: { type: "boolean" }, timeout: { type: "string" } } }),
  );
  if (positionals.length === 0) throw new UsageError("status: expected the <host:port> of a process serving CSDS");
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  return {
    address: parseAddress(positionals[0], "status"),
    json: values.json ?? false,
    timeoutMs: values.timeout === undefined ? 10000 : parseMilliseconds(values.timeout, "--timeout"),
  };
}

/** Fetches and prints; a failure to fetch is printed with exit status 1. */
export async function runStatus(command: StatusArguments): Promise<void> {
  const [{ fetchClientStatus }, { clientStatusJson, renderClientStatus }] = await Promise.all([
    import("./fetch-client-status.js"),
    import("./client-status-table.js"),
  ]);
  try {
    const response = await fetchClientStatus(command.address, command.timeoutMs);
    process.stdout.write(command.json ? `${JSON.stringify(clientStatusJson(response), null, 2)}\n` : renderClientStatus(response));
  } catch (error) {
    process.stderr.write(`rxds: ${messageOf(error)}\n`);
    process.exitCode = 1;
  }
}
