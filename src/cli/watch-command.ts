// `rxds watch <target> --server <host:port> [--node <node>...]`: a live view of one target as a client sees it. On a
// terminal the screen is redrawn on each change; otherwise each changed view is printed after a `--- view N ---` line.

import { parseArgs } from "node:util";
import type { XdsClient } from "../xds-client.js";
import { messageOf, parseAddress, readArguments, UsageError } from "./command-line.js";

/** What `rxds watch` was asked to do. */
export interface WatchArguments {
  readonly target: string;
  readonly server: string;
  readonly node: readonly string[];
}

/** Reads the arguments after `watch`. */
export function parseWatchArguments(args: readonly string[]): WatchArguments {
  const { values, positionals } = readArguments(() =>
    parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { server: { type: "string", short: "s" }, node: { type: "string", multiple: true } },
    }),
  );
  if (positionals.length === 0) throw new UsageError("watch: expected the <target> to watch, e.g. kitex-server:8888");
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  if (values.server === undefined) throw new UsageError("watch: --server <host:port> is required");
  return { target: positionals[0]!, server: parseAddress(values.server, "--server"), node: values.node ?? [] };
}

/**
 * The client: a node of namespace `default` named `rxds-watch` at 127.0.0.1 asking for gRPC resources (GENERATOR=grpc),
 * with --node's id and metadata over it (its NAMESPACE, or the id's, sets the namespace).
 */
async function watchClient(command: WatchArguments): Promise<XdsClient> {
  // Loaded only to watch, so that help and usage errors answer at once.
  const [{ loadBootstrap }, { namespaceFromNodeId }, { nodeFromSpecs }, { XdsClient }] = await Promise.all([
    import("../bootstrap/bootstrap-options.js"),
    import("../bootstrap/istio-env.js"),
    import("../server/mesh-view.js"),
    import("../xds-client.js"),
  ]);
  const given = command.node.length === 0 ? undefined : nodeFromSpecs(command.node);
  const metadata = given?.metadata ?? {};
  const namespace = (typeof metadata["NAMESPACE"] === "string" ? metadata["NAMESPACE"] : undefined) ?? (given?.id ? namespaceFromNodeId(given.id) : undefined) ?? "default";
  const bootstrap = loadBootstrap({
    env: {},
    server: command.server,
    namespace,
    podName: "rxds-watch",
    node: { ...(given?.id ? { id: given.id } : {}), metadata },
  });
  return new XdsClient({ servers: bootstrap.servers, node: bootstrap.node, logger: { debug() {}, info() {}, warn() {}, error() {} } });
}

/** Watches until SIGINT or SIGTERM, then closes the client and exits 0. */
export async function runWatch(command: WatchArguments): Promise<void> {
  const [{ combineLatest, distinctUntilChanged, map }, { renderTarget }] = await Promise.all([import("rxjs"), import("./target-view.js")]);
  let xds: XdsClient;
  let snapshots;
  try {
    xds = await watchClient(command);
    snapshots = xds.resolve(command.target);
  } catch (error) {
    throw new UsageError(messageOf(error));
  }
  const tty = process.stdout.isTTY === true;
  let views = 0;
  const subscription = combineLatest([snapshots, xds.status$, xds.balancing(command.target)])
    .pipe(
      map(([snapshot, status, balancing]) =>
        renderTarget(snapshot, {
          connection: `${status.server} ${status.connection}${status.lastError ? `: ${status.lastError}` : ""}`,
          resources: status.resources,
          balancing,
        }).join("\n"),
      ),
      distinctUntilChanged(),
    )
    .subscribe((view) => {
      if (tty) process.stdout.write(`\x1b[2J\x1b[H${view}\n\n(Ctrl-C to stop)\n`);
      else process.stdout.write(`--- view ${++views} ---\n${view}\n`);
    });
  const stop = () => {
    subscription.unsubscribe();
    void xds.close().then(() => process.exit(0));
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
