import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { stringify } from "yaml";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { XdsError } from "../xds-error.js";
import { nodeFromSpecs } from "./mesh-view.js";

/**
 * Serves `GET /debug/config_dump?node=…` on `host:port`: what `dump` gives for the node the `node` parameters describe
 * (as `--node` takes them), as JSON, or YAML with `format=yaml`; 400 with the reason for a bad node. Rejects with an
 * XdsError when it cannot listen.
 */
export function serveConfigDump(host: string, port: number, dump: (node: Node) => Record<string, unknown>): Promise<HttpServer> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    if (url.pathname !== "/debug/config_dump") {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: try /debug/config_dump?node=GENERATOR=grpc&node=NAMESPACE=default\n");
      return;
    }
    try {
      const dumped = dump(nodeFromSpecs(url.searchParams.getAll("node")));
      const yaml = url.searchParams.get("format") === "yaml";
      response.writeHead(200, { "content-type": yaml ? "application/yaml" : "application/json" });
      response.end(yaml ? stringify(dumped) : `${JSON.stringify(dumped, null, 2)}\n`);
    } catch (error) {
      response.writeHead(400, { "content-type": "text/plain" }).end(`${error instanceof Error ? error.message : String(error)}\n`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", (error) => reject(new XdsError("INVALID_ARGUMENT", `debug endpoint: cannot listen on ${host}:${port}: ${error.message}`, { cause: error })));
    server.listen(port, host, () => resolve(server));
  });
}

/** The `host:port` an HTTP server listens on (`[v6]:port` for IPv6); undefined when it does not listen. */
export function listeningAddress(server: HttpServer | undefined): string | undefined {
  const bound = server?.address() as AddressInfo | null | undefined;
  return bound ? `${bound.family === "IPv6" ? `[${bound.address}]` : bound.address}:${bound.port}` : undefined;
}
