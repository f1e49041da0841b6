// Picks the virtual host whose `domains` best match a request's authority, as Envoy does.
//
// Order of preference (VirtualHost.domains docs): an exact domain; then suffix wildcards
// (`*.foo.com`, `*-bar.foo.com`), longest first; then prefix wildcards (`foo.*`, `foo-*`),
// longest first; then the lone `*`. A wildcard never matches the empty string. Matching
// ignores ASCII case, as Envoy lower-cases both sides (grpc-js-xds is case-sensitive).
//
// Ports. Envoy matches the authority literally, port included, unless the listener strips
// it (`strip_matching_host_port` / `strip_any_host_port`, or the route configuration's
// `ignore_port_in_host_matching`). gRPC dials `host:port` targets and Istio lists both the
// `host` and `host:port` forms, but other control planes list only `host`. So rxds tries,
// within each tier, the authority as given first and then with its port stripped:
//   exact(host:port) > exact(host) > suffix(host:port) > suffix(host) > prefix(host:port) > prefix(host) > `*`.
// A literal `host:port` entry therefore wins over `host`, and an exact domain in either form
// wins over every wildcard. The port is stripped only from `name:digits` and `[v6]:digits`;
// a bare IPv6 address such as `::1` is never cut.

import { asciiLower } from "./ascii-case.js";

/** One virtual host's domains and the value the selector returns for it. */
export interface DomainEntry<T> {
  /** The VirtualHost.domains list. */
  readonly domains: readonly string[];
  /** What to return when this virtual host is selected. */
  readonly value: T;
}

/** Picks the value of the best-matching virtual host for an authority (`host` or `host:port`), or undefined. */
export type VirtualHostSelector<T> = (authority: string) => T | undefined;

interface Candidate<T> {
  /** The domain without its `*` (the whole domain for exact entries). */
  readonly fixed: string;
  readonly value: T;
}

/** Precompiles the domains of `hosts` into a selector; the first virtual host listing a domain wins. */
export function createVirtualHostSelector<T>(hosts: readonly DomainEntry<T>[]): VirtualHostSelector<T> {
  const exact = new Map<string, Candidate<T>>();
  const suffixes: Candidate<T>[] = [];
  const prefixes: Candidate<T>[] = [];
  let any: Candidate<T> | undefined;
  for (const host of hosts) {
    for (const raw of host.domains) {
      const domain = asciiLower(raw);
      if (domain === "*") {
        any ??= { fixed: "", value: host.value };
      } else if (domain.startsWith("*")) {
        suffixes.push({ fixed: domain.slice(1), value: host.value });
      } else if (domain.endsWith("*")) {
        prefixes.push({ fixed: domain.slice(0, -1), value: host.value });
      } else if (!exact.has(domain)) {
        exact.set(domain, { fixed: domain, value: host.value });
      }
    }
  }
  // Longest first; Array.prototype.sort is stable, so ties keep configuration order.
  suffixes.sort((a, b) => b.fixed.length - a.fixed.length);
  prefixes.sort((a, b) => b.fixed.length - a.fixed.length);

  return (authority) => {
    const full = asciiLower(authority);
    const bare = stripPort(full);
    const hit =
      exact.get(full) ??
      (bare === undefined ? undefined : exact.get(bare)) ??
      findSuffix(suffixes, full) ??
      (bare === undefined ? undefined : findSuffix(suffixes, bare)) ??
      findPrefix(prefixes, full) ??
      (bare === undefined ? undefined : findPrefix(prefixes, bare)) ??
      any;
    return hit?.value;
  };
}

function findSuffix<T>(wildcards: readonly Candidate<T>[], host: string): Candidate<T> | undefined {
  for (const w of wildcards) {
    if (host.length > w.fixed.length && host.endsWith(w.fixed)) return w;
  }
  return undefined;
}

function findPrefix<T>(wildcards: readonly Candidate<T>[], host: string): Candidate<T> | undefined {
  for (const w of wildcards) {
    if (host.length > w.fixed.length && host.startsWith(w.fixed)) return w;
  }
  return undefined;
}

/** The authority without a trailing `:port`, or undefined when it has none. */
export function stripPort(authority: string): string | undefined {
  let colon: number;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0 || authority.charCodeAt(close + 1) !== 58 /* : */) return undefined;
    colon = close + 1;
  } else {
    colon = authority.indexOf(":");
    if (colon <= 0 || authority.indexOf(":", colon + 1) >= 0) return undefined;
  }
  if (colon + 1 >= authority.length) return undefined;
  for (let i = colon + 1; i < authority.length; i++) {
    const c = authority.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  return authority.slice(0, colon);
}

/** The first domain listed more than once across all virtual hosts (ignoring ASCII case), for a NACK reason; undefined when all are unique. */
export function findDuplicateDomain(hosts: readonly { readonly domains: readonly string[] }[]): string | undefined {
  const seen = new Set<string>();
  for (const host of hosts) {
    for (const domain of host.domains) {
      const key = asciiLower(domain);
      if (seen.has(key)) return domain;
      seen.add(key);
    }
  }
  return undefined;
}

/** The first domain that is empty or has a `*` other than one leading or trailing wildcard, for a NACK reason; undefined when all are valid. */
export function findMalformedDomain(domains: readonly string[]): string | undefined {
  for (const domain of domains) {
    if (domain.length === 0) return domain;
    const star = domain.indexOf("*");
    if (star < 0 || domain === "*") continue;
    const onlyOne = domain.indexOf("*", star + 1) < 0;
    if (!onlyOne || (star !== 0 && star !== domain.length - 1)) return domain;
  }
  return undefined;
}
