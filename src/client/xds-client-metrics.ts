// gRFC A78's xDS client metrics, recorded by AdsClient when it has a meter:
//
//   grpc.xds_client.connected                 gauge    {bool}      grpc.target, grpc.xds.server
//   grpc.xds_client.server_failure            counter  {failure}   grpc.target, grpc.xds.server
//   grpc.xds_client.resource_updates_valid    counter  {resource}  grpc.target, grpc.xds.server, grpc.xds.resource_type
//   grpc.xds_client.resource_updates_invalid  counter  {resource}  grpc.target, grpc.xds.server, grpc.xds.resource_type
//   grpc.xds_client.resources                 gauge    {resource}  grpc.target, grpc.xds.authority, grpc.xds.cache_state,
//                                                                  grpc.xds.resource_type
//
// A server is connected from the moment a stream to it is created, and no longer once it fails without a response
// (gRFC A57: refused, or ended before any response), which counts one server failure; its next response connects it
// again. One XdsClient serves every target of the process, so grpc.target is "#rxds" (gRPC's per-channel clients give
// the channel's target; its servers "#server"). Resource types are named without `type.googleapis.com/`, the authority
// is "#old" (rxds has no xdstp names) and the cache state one of requested, does_not_exist, acked, nacked,
// nacked_but_cached.

import type { ResourceStatus } from "./xds-status.js";
import type { MetricCounter, MetricObservation, MetricObservableGauge, MetricsMeter } from "./metrics-meter.js";

/** The grpc.target of an XdsClient's metrics. */
export const XDS_CLIENT_METRICS_TARGET = "#rxds";

/** Records A78's metrics of one client. */
export class XdsClientMetrics {
  private readonly valid: MetricCounter;
  private readonly invalid: MetricCounter;
  private readonly failures: MetricCounter;
  private readonly connectedGauge: MetricObservableGauge;
  private readonly resourcesGauge: MetricObservableGauge;
  /** Whether each server (by URI) is connected, for the gauge; a server is listed once a stream to it was created. */
  private readonly connected = new Map<string, boolean>();
  private readonly observeConnected = (observation: MetricObservation): void => {
    for (const [server, up] of this.connected) observation.observe(up ? 1 : 0, { "grpc.target": XDS_CLIENT_METRICS_TARGET, "grpc.xds.server": server });
  };
  private readonly observeResources = (observation: MetricObservation): void => {
    const counts = new Map<string, { type: string; state: string; count: number }>();
    for (const resource of this.resources()) {
      const type = typeName(resource.typeUrl);
      const state = cacheState(resource);
      const key = `${type}\n${state}`;
      const entry = counts.get(key);
      if (entry === undefined) counts.set(key, { type, state, count: 1 });
      else entry.count++;
    }
    for (const { type, state, count } of counts.values()) {
      observation.observe(count, { "grpc.target": XDS_CLIENT_METRICS_TARGET, "grpc.xds.authority": "#old", "grpc.xds.cache_state": state, "grpc.xds.resource_type": type });
    }
  };

  constructor(
    meter: MetricsMeter,
    /** The statuses of the watched resources, read at collection time. */
    private readonly resources: () => readonly ResourceStatus[],
  ) {
    this.connectedGauge = meter.createObservableGauge("grpc.xds_client.connected", {
      unit: "{bool}",
      description: "Whether the xDS client currently has a working ADS stream to the xDS server.",
    });
    this.failures = meter.createCounter("grpc.xds_client.server_failure", { unit: "{failure}", description: "xDS servers going from healthy to unhealthy." });
    this.valid = meter.createCounter("grpc.xds_client.resource_updates_valid", { unit: "{resource}", description: "Resources received that were valid." });
    this.invalid = meter.createCounter("grpc.xds_client.resource_updates_invalid", { unit: "{resource}", description: "Resources received that were invalid." });
    this.resourcesGauge = meter.createObservableGauge("grpc.xds_client.resources", { unit: "{resource}", description: "Number of xDS resources." });
    this.connectedGauge.addCallback(this.observeConnected);
    this.resourcesGauge.addCallback(this.observeResources);
  }

  /** A stream to `server` was created: it counts as connected unless it failed since its last response. */
  streamCreated(server: string): void {
    if (!this.connected.has(server)) this.connected.set(server, true);
  }

  /** A stream to `server` failed without a response (gRFC A57). */
  serverFailed(server: string): void {
    if (this.connected.get(server) !== false) this.failures.add(1, { "grpc.target": XDS_CLIENT_METRICS_TARGET, "grpc.xds.server": server });
    this.connected.set(server, false);
  }

  /** A response from `server` of `typeUrl` held `valid` valid and `invalid` invalid resources. */
  responded(server: string, typeUrl: string, valid: number, invalid: number): void {
    this.connected.set(server, true);
    const attributes = { "grpc.target": XDS_CLIENT_METRICS_TARGET, "grpc.xds.server": server, "grpc.xds.resource_type": typeName(typeUrl) };
    if (valid > 0) this.valid.add(valid, attributes);
    if (invalid > 0) this.invalid.add(invalid, attributes);
  }

  /** Stops reporting the gauges (the client closed). */
  close(): void {
    this.connectedGauge.removeCallback(this.observeConnected);
    this.resourcesGauge.removeCallback(this.observeResources);
  }
}

function typeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf("/") + 1);
}

function cacheState(resource: ResourceStatus): string {
  switch (resource.state) {
    case "REQUESTED":
      return "requested";
    case "DOES_NOT_EXIST":
      return "does_not_exist";
    case "ACKED":
      return "acked";
    case "NACKED":
      return resource.version === "" ? "nacked" : "nacked_but_cached";
  }
}
