import { isIP } from "node:net";
import type { NameTable } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import { lazyMessageType, type ResourceType } from "../client/resource-type.js";
import { nameTableSchema } from "../client/resource-schemas.js";
import { fieldRejecter } from "./field-error.js";

/** What Istio's name table says about one hostname. */
export interface NameEntryModel {
  /** The hostname as sent (its key in the table). */
  readonly hostname: string;
  /** Its addresses: cluster VIPs, or endpoint IPs for headless services; each a valid IPv4 or IPv6 literal. */
  readonly ips: readonly string[];
  /** Where the host came from, e.g. "Kubernetes". */
  readonly registry: string;
  readonly namespace: string;
  /** The short name of a Kubernetes service ("reviews"). */
  readonly shortName: string;
  /** Other names for the same addresses. */
  readonly altHosts: readonly string[];
}

/** A validated NDS name table. */
export interface NameTableModel {
  /** Entries keyed by lower-cased hostname without a trailing dot. */
  readonly hosts: ReadonlyMap<string, NameEntryModel>;
  /** Finds a host by its name, else by an alt host of some entry; case-insensitive, a trailing dot ignored. */
  lookup(host: string): NameEntryModel | undefined;
}

/** Validates Istio's NameTable: non-empty hostnames unique ignoring case, and IP literals only. */
export function validateNameTable(message: NameTable, name: string): NameTableModel {
  const reject = fieldRejecter("name table", name);
  const hosts = new Map<string, NameEntryModel>();
  for (const [hostname, info] of Object.entries(message.table)) {
    const path = `table[${JSON.stringify(hostname)}]`;
    const key = normalize(hostname);
    if (key === "") reject(path, "hostname must not be empty");
    if (hosts.has(key)) reject(path, `duplicate hostname (same as ${JSON.stringify(hosts.get(key)!.hostname)} ignoring case)`);
    info.ips.forEach((ip, i) => {
      if (isIP(ip) === 0) reject(`${path}.ips[${i}]`, `must be an IPv4 or IPv6 address, got ${JSON.stringify(ip)}`);
    });
    hosts.set(
      key,
      Object.freeze({
        hostname,
        ips: Object.freeze([...info.ips]),
        registry: info.registry,
        namespace: info.namespace,
        shortName: info.shortname,
        altHosts: Object.freeze([...info.altHosts]),
      }),
    );
  }
  // Alt hosts are looked up after the primary names; the first entry naming an alt host keeps it.
  const alternates = new Map<string, NameEntryModel>();
  for (const entry of hosts.values()) {
    for (const alt of entry.altHosts) {
      const key = normalize(alt);
      if (key !== "" && !alternates.has(key)) alternates.set(key, entry);
    }
  }
  return Object.freeze({
    hosts,
    lookup(host: string): NameEntryModel | undefined {
      const key = normalize(host);
      return hosts.get(key) ?? alternates.get(key);
    },
  });
}

/** NDS: Istio's one name table, named ""; SotW omission does not delete it. */
export const nameTableType: ResourceType<NameTableModel> = lazyMessageType(nameTableSchema, {
  deletedByOmission: false,
  name: () => "",
  unnamed: true,
  validate: validateNameTable,
});

function normalize(host: string): string {
  const lower = host.toLowerCase();
  return lower.endsWith(".") ? lower.slice(0, -1) : lower;
}
