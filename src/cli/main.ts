#!/usr/bin/env node
// The `rxds` command. `rxds serve --config mesh.yaml` serves a mesh config file over ADS.
import { parseArgs } from "node:util";
import type { MeshServer } from "../server/mesh-server.js";

const usage = `usage: rxds serve --config <mesh.yaml> [--port 15010] [--host 127.0.0.1] [--verbose]
       rxds --help

Commands:
  serve   Serve the Istio resources (VirtualService, DestinationRule, ServiceEntry) and raw
          xDS resources of a config file over ADS, as istiod would: proxyless resources to
          clients whose node metadata has GENERATOR=grpc, sidecar resources to the others.
          The file is reloaded when it changes.

Options of serve:
  -c, --config <file>   the mesh config file (multi-document YAML); required
  -p, --port <port>     the port to listen on, 0 for any free port (default 15010)
      --host <address>  the address to bind (default 127.0.0.1)
  -v, --verbose         also log connects, subscriptions and ACKs
  -h, --help            show this help
`;

/** A mistake in the command line: reported with the usage, exit status 2. */
class UsageError extends Error {}

interface ServeArguments {
  readonly config: string;
  readonly port: number;
  readonly host: string;
  readonly verbose: boolean;
}

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port: expected a port number 0..65535, got ${JSON.stringify(text)}`);
  return port;
}

/** Reads the command line: the serve arguments, or "help". */
function parseCommandLine(args: readonly string[]): ServeArguments | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        config: { type: "string", short: "c" },
        port: { type: "string", short: "p" },
        host: { type: "string" },
        verbose: { type: "boolean", short: "v" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return "help";
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError("missing command");
  if (command !== "serve") throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  if (values.config === undefined || values.config === "") throw new UsageError("serve: --config <file> is required");
  if (values.host === "") throw new UsageError("--host: expected an address");
  return {
    config: values.config,
    port: values.port === undefined ? 15010 : parsePort(values.port),
    host: values.host ?? "127.0.0.1",
    verbose: values.verbose ?? false,
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
          timestamped(`error while shutting down: ${error instanceof Error ? error.message : String(error)}`);
          process.exit(1);
        },
      );
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

async function main(args: readonly string[]): Promise<void> {
  let command: ServeArguments | "help";
  try {
    command = parseCommandLine(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const synopsis = usage.slice(0, usage.indexOf("\n\n"));
    process.stderr.write(`rxds: ${error.message}\n${synopsis}\nRun "rxds --help" for the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (command === "help") {
    process.stdout.write(usage);
    return;
  }
  // Loaded only to serve, so that help and usage errors answer at once.
  const { serveMesh } = await import("../server/mesh-server.js");
  const started = serveMesh({ config: command.config, port: command.port, host: command.host, verbose: command.verbose, log: timestamped });
  closeOnSignals(started.catch(() => undefined));
  try {
    await started;
  } catch (error) {
    process.stderr.write(`rxds: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
