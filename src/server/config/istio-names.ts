/** Istio's config root namespace: its EnvoyFilters and its PeerAuthentication without selector apply mesh-wide. */
export const rootNamespace = "istio-system";

/** The DNS suffix of Kubernetes service names, as istiod assumes by default. */
export const clusterDomain = "svc.cluster.local";

/**
 * Expands a short host name the way istiod resolves VirtualService and DestinationRule hosts
 * (`ResolveShortnameToFQDN`): a name without a dot becomes `<name>.<namespace>.svc.cluster.local`;
 * a name with a dot, and `*`, stay as written.
 */
export function expandHost(host: string, namespace: string): string {
  if (host === "*" || host.includes(".")) return host;
  return `${host}.${namespace}.${clusterDomain}`;
}

/** istiod's cluster and EDS name, `BuildSubsetKey`: `outbound|<port>|<subset>|<fqdn>`. */
export function clusterName(port: number, subset: string, host: string): string {
  return `outbound|${port}|${subset}|${host}`;
}

/** `util.DomainName`: `<host>:<port>`, the name istiod gives a virtual host. */
export function domainName(host: string, port: number): string {
  return `${host}:${port}`;
}

/**
 * The other names a client may use for a Kubernetes-style service, as istiod's
 * `generateAltVirtualHostsForKubernetesService` lists them for a client in `clientNamespace`
 * (with `:<port>` variants when `port` is given): `name`, `name.ns.svc`, `name.ns` from the same
 * namespace; `name.ns`, `name.ns.svc` from another; none for a host outside `*.svc.cluster.local`.
 */
export function alternativeHosts(host: string, clientNamespace: string, port?: number): string[] {
  const suffix = `.svc.${clusterDomain.slice("svc.".length)}`;
  if (!host.endsWith(suffix)) return [];
  const stem = host.slice(0, -suffix.length);
  const dot = stem.indexOf(".");
  if (dot <= 0 || dot === stem.length - 1 || stem.indexOf(".", dot + 1) !== -1) return [];
  const name = stem.slice(0, dot);
  const namespace = stem.slice(dot + 1);
  const names = namespace === clientNamespace ? [name, `${stem}.svc`, stem] : [stem, `${stem}.svc`];
  const out: string[] = [];
  for (const each of names) {
    out.push(each);
    if (port !== undefined) out.push(domainName(each, port));
  }
  return out;
}

/**
 * The other listener names a gRPC client may ask for a service by (`xds:///<name>:<port>`), besides its
 * FQDN: from `clientNamespace`, `name`, `name.ns` and `name.ns.svc`; from another namespace, or one not
 * known (undefined), `name.ns` and `name.ns.svc`. Without the port; none for a host outside
 * `*.svc.cluster.local`.
 */
export function listenerAliases(host: string, clientNamespace: string | undefined): string[] {
  return alternativeHosts(host, clientNamespace ?? "");
}

/** Protocols whose ports carry HTTP routes (unset means sniffed, which istiod also treats as HTTP). */
export function isHttpProtocol(protocol: string | undefined): boolean {
  return protocol === undefined || ["HTTP", "HTTP2", "GRPC", "GRPC-WEB"].includes(protocol);
}
