#!/usr/bin/env node
// The `rxds` command: `serve` serves mesh config over ADS, `status` reads a process's CSDS, `watch` shows a target live.
import { createRequire } from "node:module";
import { messageOf, UsageError } from "./command-line.js";
import { parseServeArguments, runServe } from "./serve-command.js";
import { parseStatusArguments, runStatus } from "./status-command.js";
import { parseWatchArguments, runWatch } from "./watch-command.js";

const usage = `usage: rxds serve --config <path>... [--port 15010] [--host 127.0.0.1] [--debug-port <port>] [--verbose]
       rxds serve --config <path>... --print --node <node>... [--output yaml|json]
       rxds status <host:port> [--json] [--timeout <ms>]
       rxds watch <target> --server <host:port> [--node <node>...]
       rxds --help | --version

Commands:
  serve   Serve Istio resources (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry),
          Kubernetes objects (Service, EndpointSlice, Endpoints, Pod, List) and raw xDS
          resources over ADS, as istiod would: proxyless resources to clients whose node
          metadata has GENERATOR=grpc, sidecar resources to the others. Every source is
          reloaded when it changes.
  status  Read CSDS (envoy.service.status.v3.ClientStatusDiscoveryService) from a process
          that serves it (rxds's addCsdsService, grpc-js-xds's or grpc-go's admin services)
          and print, per xDS client, each resource with its status (REQUESTED, ACKED, NACKED,
          DOES_NOT_EXIST), version, update time and error.
  watch   Connect to an xDS server as a client and show one target live: its listener,
          virtual host and routes, its clusters with their policies, their endpoints with
          health, and the NACKs with their reasons. On a terminal the view is redrawn;
          otherwise each changed view is printed after a "--- view N ---" line.

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

Options of status:
      --json              print the raw dump (ClientStatusResponse) as proto3 JSON
      --timeout <ms>      how long to wait for the answer (default 10000)

Options of watch:
  -s, --server <host:port>  the xDS server (plaintext); required
      --node <node>       the client's node, as for serve --print; default: namespace default,
                          metadata GENERATOR=grpc (GENERATOR=sidecar asks for sidecar resources)

  -h, --help              show this help
  -V, --version           show the version of rxds
`;

const commands = {
  serve: (args: readonly string[]) => runServe(parseServeArguments(args)),
  status: (args: readonly string[]) => runStatus(parseStatusArguments(args)),
  watch: (args: readonly string[]) => runWatch(parseWatchArguments(args)),
};

async function main(args: readonly string[]): Promise<void> {
  try {
    if (args.includes("-h") || args.includes("--help")) {
      process.stdout.write(usage);
      return;
    }
    if (args.length === 1 && (args[0] === "-V" || args[0] === "--version")) {
      const { version } = createRequire(import.meta.url)("rxds/package.json") as { version: string };
      process.stdout.write(`rxds ${version}\n`);
      return;
    }
    const [command, ...rest] = args;
    if (command === undefined) throw new UsageError("missing command");
    if (!Object.hasOwn(commands, command)) throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    await commands[command as keyof typeof commands](rest);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    const synopsis = usage.slice(0, usage.indexOf("\n\n"));
    process.stderr.write(`rxds: ${messageOf(error)}\n${synopsis}\nRun "rxds --help" for the options.\n`);
    process.exitCode = 2;
  }
}

await main(process.argv.slice(2));
