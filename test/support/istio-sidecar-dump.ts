// The real istiod sidecar configuration in test/fixtures/istio-sidecar-dump/, decoded once per test run
// into the resources istiod sends: Listener, RouteConfiguration, Cluster and ClusterLoadAssignment messages.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import type { DescMessage, JsonObject, JsonValue, MessageShape } from "@bufbuild/protobuf";
import { anyPack, anyUnpack, AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { Cluster_DiscoveryType, ClusterSchema, type Cluster } from "../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema, type Listener } from "../../gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "../../gen/envoy/config/route/v3/route_pb.js";
import { genRegistry, OpaqueAnyDecoder } from "./opaque-any.js";

const fixture = new URL("../../../test/fixtures/istio-sidecar-dump/config_dump.json.gz", import.meta.url);

/** What istiod sent the dump's sidecar, decoded, and who that sidecar is. */
export interface SidecarDump {
  /** The sidecar's node id and metadata, from Envoy's bootstrap. */
  readonly node: { readonly id: string; readonly metadata: JsonObject };
  /** The active dynamic listeners (the two `error_state` entries left out). */
  readonly listeners: readonly Listener[];
  readonly routeConfigurations: readonly RouteConfiguration[];
  /** The dynamic clusters (the bootstrap's static ones left out). */
  readonly clusters: readonly Cluster[];
  /** The endpoint sets of the EDS clusters, by EDS service name. */
  readonly endpoints: ReadonlyMap<string, ClusterLoadAssignment>;
  /** The Any types of the dump that gen/ lacks, kept as opaque Struct bytes (see opaque-any.ts). */
  readonly opaqueTypes: readonly string[];
}

// The parts of Envoy's admin ConfigDump JSON read here.
interface ConfigDumpJson {
  readonly configs: readonly JsonObject[];
}

/** Reads and decodes the dump. Throws, naming the resource, if any resource does not decode. */
export async function readSidecarDump(): Promise<SidecarDump> {
  const dump = JSON.parse(gunzipSync(readFileSync(fixture)).toString("utf8")) as ConfigDumpJson;
  const section = (kind: string): JsonObject => {
    const found = dump.configs.find((c) => c["@type"] === `type.googleapis.com/envoy.admin.v3.${kind}` && Object.keys(c).length > 1);
    if (!found) throw new Error(`config dump: no ${kind}`);
    return found;
  };
  const decoder = new OpaqueAnyDecoder(await genRegistry());
  // Each resource in the dump is an Any ("@type" and the message's fields).
  const decode = <Desc extends DescMessage>(schema: Desc, json: JsonValue | undefined, where: string): MessageShape<Desc> => {
    let message: MessageShape<Desc> | undefined;
    try {
      message = anyUnpack(decoder.fromJson(AnySchema, json ?? null), schema);
    } catch (error) {
      throw new Error(`config dump: ${where}: ${(error as Error).message}`, { cause: error });
    }
    if (!message) throw new Error(`config dump: ${where}: not a ${schema.typeName}`);
    return message;
  };
  const list = (json: JsonValue | undefined): JsonObject[] => (Array.isArray(json) ? (json as JsonObject[]) : []);
  const at = (json: JsonValue | undefined, key: string): JsonValue | undefined => (json !== null && typeof json === "object" && !Array.isArray(json) ? json[key] : undefined);

  const bootstrapNode = at(at(section("BootstrapConfigDump"), "bootstrap"), "node");
  const listeners = list(section("ListenersConfigDump")["dynamic_listeners"])
    .filter((entry) => entry["active_state"] !== undefined)
    .map((entry, i) => decode(ListenerSchema, at(entry["active_state"], "listener"), `dynamic_listeners[${i}] ${String(entry["name"])}`));
  const routeConfigurations = list(section("RoutesConfigDump")["dynamic_route_configs"]).map((entry, i) =>
    decode(RouteConfigurationSchema, entry["route_config"], `dynamic_route_configs[${i}]`),
  );
  const clusters = list(section("ClustersConfigDump")["dynamic_active_clusters"]).map((entry, i) => decode(ClusterSchema, entry["cluster"], `dynamic_active_clusters[${i}]`));
  const assignments = list(section("EndpointsConfigDump")["dynamic_endpoint_configs"]).map((entry, i) =>
    decode(ClusterLoadAssignmentSchema, entry["endpoint_config"], `dynamic_endpoint_configs[${i}]`),
  );
  // istiod sends endpoint sets for EDS clusters only; Envoy dumps one for every cluster.
  const edsNames = new Set(clusters.filter((c) => isEds(c)).map(edsServiceName));
  const endpoints = new Map(assignments.filter((a) => edsNames.has(a.clusterName)).map((a) => [a.clusterName, a] as const));
  return {
    node: { id: String(at(bootstrapNode, "id")), metadata: (at(bootstrapNode, "metadata") ?? {}) as JsonObject },
    listeners,
    routeConfigurations,
    clusters,
    endpoints,
    opaqueTypes: decoder.opaqueTypes,
  };
}

/** Whether the cluster's endpoints come from EDS. */
export function isEds(cluster: Cluster): boolean {
  return cluster.clusterDiscoveryType.case === "type" && cluster.clusterDiscoveryType.value === Cluster_DiscoveryType.EDS;
}

/** The EDS resource name of an EDS cluster: its service_name, else its own name. */
export function edsServiceName(cluster: Cluster): string {
  return cluster.edsClusterConfig?.serviceName || cluster.name;
}

/** The dump's resources packed as istiod sends them, by type URL, then by name. */
export function packSidecarDump(dump: SidecarDump): ReadonlyMap<string, ReadonlyMap<string, Any>> {
  return new Map([
    ["type.googleapis.com/envoy.config.listener.v3.Listener", new Map(dump.listeners.map((l) => [l.name, anyPack(ListenerSchema, l)]))],
    ["type.googleapis.com/envoy.config.route.v3.RouteConfiguration", new Map(dump.routeConfigurations.map((r) => [r.name, anyPack(RouteConfigurationSchema, r)]))],
    ["type.googleapis.com/envoy.config.cluster.v3.Cluster", new Map(dump.clusters.map((c) => [c.name, anyPack(ClusterSchema, c)]))],
    ["type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", new Map([...dump.endpoints].map(([name, a]) => [name, anyPack(ClusterLoadAssignmentSchema, a)]))],
  ]);
}
