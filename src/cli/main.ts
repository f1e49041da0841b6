#!/usr/bin/env node
// The `rxds` command. `rxds serve --config mesh.yaml` serves mesh config over ADS.
import { parseArgs } from "node:util";
import type { MeshServer } from "../server/mesh-server.js";

const usage = `usage: rxds serve --config <path>... [--port 15010] [--host 127.0.0.1] [--debug-port <port>] [--verbose]
       rxds serve --config <path>... --print --node <node>... [--output yaml|json]
       rxds --help

Commands:
  serve   Serve Istio resources (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry),
          Kubernetes objects (Service, EndpointSlice, Endpoints, Pod, List) and raw xDS
          resources over ADS, as istiod would: proxyless resources to clients whose node
          metadata has GENERATOR=grpc, sidecar resources to the others. Every source is
          reloaded when it changes.

Options of serve:
  -c, --config <path>     a YAML file, a directory of them (recursively) or - for standard
                          input; repeat for several; required
  -p, --port <port>       the port to listen on, 0 for any free port (default 15010)
      --host <address>    the address to bind (default 127.0.0.1)
      --debug-port <port> also serve GET /debug/config_dump?node=<node>[&format=yaml] on it
  -v, --verbose           also log connects, subscriptions and ACKs
      --print             print what a node would be served, and exit
      --node <node>       the node for --print: its id (sidecar~10.0.0.1~pod.ns~ns.svc.cluster.local),
                          a metadata entry KEY=VALUE (GENERATOR=grpc, NAMESPACE=default) or
                          a JSON object {"id": …, "metadata": {…}}; repeat to combine
  -o, --output <format>   yaml (default) or json, for --print
  -h, --help              show this help
`;

/** A mistake in the command line: reported with the usage, exit status 2. */
class UsageError extends Error {}

interface ServeArguments {
  readonly config: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly verbose: boolean;
  readonly debugPort: number | undefined;
  /** Set for --print: the node specs and the output format. */
  readonly print: { readonly node: readonly string[]; readonly output: "yaml" | "json" } | undefined;
}

function parsePort(text: string, option = "--port"): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`${option}: expected a port number 0..65535, got ${JSON.stringify(text)}`);
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
        config: { type: "string", short: "c", multiple: true },
        port: { type: "string", short: "p" },
        host: { type: "string" },
        "debug-port": { type: "string" },
        verbose: { type: "boolean", short: "v" },
        print: { type: "boolean" },
        node: { type: "string", multiple: true },
        output: { type: "string", short: "o" },
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
  const config = values.config ?? [];
  if (config.length === 0 || config.includes("")) throw new UsageError("serve: --config <path> is required");
  if (values.host === "") throw new UsageError("--host: expected an address");
  if (values.node !== undefined && !values.print) throw new UsageError("--node: only with --print");
  if (values.print && (values.node ?? []).length === 0) throw new UsageError("--print: needs --node <node>");
  const output = values.output ?? "yaml";
  if (output !== "yaml" && output !== "json") throw new UsageError(`--output: expected yaml or json, got ${JSON.stringify(output)}`);
  return {
    config,
    port: values.port === undefined ? 15010 : parsePort(values.port),
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
  const { dumpMesh, serveMesh } = await import("../server/mesh-server.js");
  if (command.print !== undefined) {
    const [{ nodeFromSpecs }, { stringify }] = await Promise.all([import("../server/mesh-view.js"), import("yaml")]);
    try {
      const dump = await dumpMesh(command.config, nodeFromSpecs(command.print.node));
      process.stdout.write(command.print.output === "json" ? `${JSON.stringify(dump, null, 2)}\n` : stringify(dump));
    } catch (error) {
      process.stderr.write(`rxds: ${error instanceof Error ? error.message : String(error)}\n`);
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
    process.stderr.write(`rxds: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
