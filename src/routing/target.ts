import { isIPv4, isIPv6 } from "node:net";
import { XdsError } from "../xds-error.js";

/** A target as rxds resolves it: the dialled string, its fully qualified host and its port. */
export interface Target {
  /** What the user dialled. */
  readonly dialled: string;
  /** The fully qualified host, lower-case, e.g. `kitex-server.default.svc.cluster.local`. */
  readonly host: string;
  /** The port; 80 when the target names none, as kitex-contrib/xds and Istio's HTTP default do. */
  readonly port: number;
  /** `host:port`: the listener name istiod's gRPC generator answers, and the authority routes are selected by. */
  readonly authority: string;
}

/** Where short names are expanded: the client's namespace and the cluster's DNS domain. */
export interface TargetContext {
  /** The namespace short names belong to. */
  readonly namespace: string;
  /** The cluster's DNS domain. Default `cluster.local`. */
  readonly domain?: string;
}

/**
 * Parses a target: `svc.ns.svc.cluster.local:port` as is, `svc:port`, `svc.ns:port` and `svc.ns.svc:port`
 * expanded with the context's namespace and domain (as Kubernetes DNS search paths would), any other
 * dotted host (a ServiceEntry host such as `api.example.com`) and IP addresses as they are.
 */
export function parseTarget(target: string, context: TargetContext): Target {
  const domain = context.domain ?? "cluster.local";
  const trimmed = target.replace(/^xds:\/\/\//, "");
  const { host, port } = splitHostPort(trimmed, target);
  if (host === "" || /[\s/]/.test(host)) throw new XdsError("INVALID_ARGUMENT", `target ${JSON.stringify(target)}: expected host:port, e.g. kitex-server.default.svc.cluster.local:8888`);
  const lower = host.toLowerCase().replace(/\.$/, "");
  const version = ipVersion(lower);
  const fqdn = version !== 0 ? lower : expand(lower, context.namespace, domain);
  const authority = `${version === 6 ? `[${fqdn}]` : fqdn}:${port}`;
  return { dialled: target, host: fqdn, port, authority };
}

/**
 * 4 or 6 for an IP literal, else 0, as node:net's isIP; only a host with a colon is tested against the IPv6 pattern,
 * whose first use compiles a regex for ~10 ms, which would otherwise be part of every process's first call.
 */
function ipVersion(host: string): number {
  if (host.includes(":")) return isIPv6(host) ? 6 : 0;
  return isIPv4(host) ? 4 : 0;
}

function expand(host: string, namespace: string, domain: string): string {
  const labels = host.split(".");
  if (host.endsWith(`.svc.${domain}`)) return host;
  if (labels.length === 1) return `${host}.${namespace}.svc.${domain}`;
  if (labels.length === 2) return `${host}.svc.${domain}`;
  if (labels.length === 3 && labels[2] === "svc") return `${host}.${domain}`;
  return host;
}

function splitHostPort(value: string, target: string): { host: string; port: number } {
  let host = value;
  let portText: string | undefined;
  if (value.startsWith("[")) {
    const close = value.indexOf("]");
    if (close < 0) throw new XdsError("INVALID_ARGUMENT", `target ${JSON.stringify(target)}: unclosed "[" in an IPv6 address`);
    host = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) throw new XdsError("INVALID_ARGUMENT", `target ${JSON.stringify(target)}: unexpected ${JSON.stringify(rest)} after "]"`);
      portText = rest.slice(1);
    }
  } else {
    const colon = value.lastIndexOf(":");
    if (colon >= 0) {
      if (value.indexOf(":") !== colon) throw new XdsError("INVALID_ARGUMENT", `target ${JSON.stringify(target)}: an IPv6 address must be in brackets, e.g. [::1]:8080`);
      host = value.slice(0, colon);
      portText = value.slice(colon + 1);
    }
  }
  if (portText === undefined) return { host, port: 80 };
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new XdsError("INVALID_ARGUMENT", `target ${JSON.stringify(target)}: port ${JSON.stringify(portText)} is not a number in 1..65535`);
  return { host, port };
}
