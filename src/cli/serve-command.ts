// `rxds serve`: serves mesh config over ADS (serveMesh), or prints what a node would be served (--print).

import { parseArgs } from "node:util";
import type { MeshServer } from "../server/mesh-server.js";
import { messageOf, parsePort, readArguments, UsageError } from "./command-line.js";

/** What `rxds serve` was asked to do. */
export interface ServeArguments {
  readonly config: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly verbose: boolean;
  readonly debugPort: number | undefined;
  /** Set for --print: the node specs and the output format. */
  readonly print: { readonly node: readonly string[]; readonly output: "yaml" | "json" } | undefined;
}

/** Reads the arguments after `serve`. */
export function parseServeArguments(args: readonly string[]): ServeArguments {
  const { values, positionals } = readArguments(() =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c", multiple: true },
        port: { type: "string", short: "p" },
        host: { type: "string" },
        "debug-port": { type: "string" },
        verbose: { type: "boolean", short: "v" },
        print: { type: "boolean" },
        node: { type: "string", multiple: true },
        output: { type: "string", short: "o" },
      },
    }),
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const config = values.config ?? [];
  if (config.length === 0 || config.includes("")) throw new UsageError("serve: --config <path> is required");
  if (values.host === "") throw new UsageError("--host: expected an address");
  if (values.node !== undefined && !values.print) throw new UsageError("--node: only with --print");
  if (values.print && (values.node ?? []).length === 0) throw new UsageError("--print: needs --node <node>");
  const output = values.output ?? "yaml";
  if (output !== "yaml" && output !== "json") throw new UsageError(`--output: expected yaml or json, got ${JSON.stringify(output)}`);
  return {
    config,
    port: values.port === undefined ? 15010 : parsePort(values.port, "--port"),
    host: values.host ?? "127.0.0.1",
    verbose: values.verbose ?? false,
    debugPort: values["debug-port"] === undefined ? undefined : parsePort(values["debug-port"], "--debug-port"),
    print: values.print ? { node: values.node ?? [], output } : undefined,
  };
}

function timestamped(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

/**
 * Handles SIGINT and SIGTERM from before the server starts (a signal must never find the process
 * without a handler): the first closes the server once it is up and exits 0; a second exits 1 at once.
 */
function closeOnSignals(started: Promise<MeshServer | undefined>): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    timestamped(`${signal}: shutting down`);
    started
      .then((server) => server?.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          timestamped(`error while shutting down: ${messageOf(error)}`);
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

/** Serves, or prints with --print; the server runs until SIGINT or SIGTERM. */
export async function runServe(command: ServeArguments): Promise<void> {
  // Loaded only to serve, so that help and usage errors answer at once.
  const { dumpMesh, serveMesh } = await import("../server/mesh-server.js");
  if (command.print !== undefined) {
    const [{ nodeFromSpecs }, { stringify }] = await Promise.all([import("../server/mesh-view.js"), import("yaml")]);
    try {
      const dump = await dumpMesh(command.config, nodeFromSpecs(command.print.node));
      process.stdout.write(command.print.output === "json" ? `${JSON.stringify(dump, null, 2)}\n` : stringify(dump));
    } catch (error) {
      process.stderr.write(`rxds: ${messageOf(error)}\n`);
      process.exitCode = 1;
    }
    return;
  }
  const started = serveMesh({
    config: command.config,
    port: command.port,
    host: command.host,
    verbose: command.verbose,
    log: timestamped,
    ...(command.debugPort === undefined ? {} : { debugPort: command.debugPort }),
  });
  closeOnSignals(started.catch(() => undefined));
  try {
    await started;
  } catch (error) {
    process.stderr.write(`rxds: ${messageOf(error)}\n`);
    process.exit(1);
  }
}
