// What the composition examples share: the control plane they talk to and the target they watch, from the command
// line, and the process-wide XdsClient of a pod in namespace "default".
import { parseArgs } from "node:util";
import { init, type XdsClient } from "rxds";

/** The client, the target and the other options given as `--server host:port --target host:port [--name value…]`. */
export interface ExampleSetup {
  readonly xds: XdsClient;
  readonly target: string;
  readonly options: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads `--server` (default 127.0.0.1:15010, where `npm run serve` listens), `--target` (default kitex-server:8888,
 * the service of examples/mesh.yaml) and the example's own string options, and makes the client.
 */
export function exampleSetup(own: readonly string[] = []): ExampleSetup {
  const { values } = parseArgs({
    options: Object.fromEntries(["server", "target", ...own].map((name) => [name, { type: "string" as const }])),
  });
  const server = values["server"] ?? "127.0.0.1:15010";
  const target = values["target"] ?? "kitex-server:8888";
  // A pod in namespace default, as init() would read it from Kubernetes' downward API.
  const xds = init({ env: { POD_NAMESPACE: "default", POD_NAME: "example", INSTANCE_IP: "127.0.0.1" }, server });
  return { xds, target, options: values };
}
