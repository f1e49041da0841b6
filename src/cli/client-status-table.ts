// What `rxds status` prints: a CSDS ClientStatusResponse (from rxds, grpc-js-xds, grpc-go…) as one table per client,
// a row per resource, each error on an indented line under its row; or, with --json, the response as proto3 JSON.

import { createRegistry, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { ClientResourceStatus } from "../../gen/envoy/admin/v3/config_dump_shared_pb.js";
import {
  ClientConfig_GenericXdsConfigSchema,
  ClientConfigSchema,
  file_envoy_service_status_v3_csds,
  type ClientConfig,
  type ClientConfig_GenericXdsConfig,
  type ClientStatusResponse,
} from "../../gen/envoy/service/status/v3/csds_pb.js";
import { xdsResourceRegistry } from "../server/config/xds-resources.js";
import { textTable } from "./text-table.js";

const registry = createRegistry(file_envoy_service_status_v3_csds, xdsResourceRegistry);

/** The response as text: per client, a line naming its node, then its resources in a table. */
export function renderClientStatus(response: ClientStatusResponse): string {
  if (response.config.length === 0) return "no xDS client (the process serves CSDS but holds no client)\n";
  return response.config.map(renderClient).join("\n");
}

function renderClient(config: ClientConfig): string {
  const node = config.node;
  const agent = node === undefined || node.userAgentName === "" ? "" : ` (${node.userAgentName}${versionOf(node.userAgentVersionType)})`;
  const scope = config.clientScope === "" ? "" : `, scope ${config.clientScope}`;
  const lines = [`client ${node?.id || "(no node id)"}${agent}${scope}`];
  const resources = config.genericXdsConfigs;
  if (resources.length === 0) return `${lines[0]}\n  no resources watched\n`;
  const rows = resources.map((r) => [typeName(r.typeUrl), r.name || '""', statusName(r.clientStatus), r.versionInfo, timeOf(r.lastUpdated)]);
  const [header, ...rowLines] = textTable(["TYPE", "NAME", "STATUS", "VERSION", "UPDATED"], rows, "  ");
  lines.push(header!);
  resources.forEach((resource, i) => {
    lines.push(rowLines[i]!);
    const detail = errorLine(resource);
    if (detail !== undefined) lines.push(`    ${detail}`);
  });
  return `${lines.join("\n")}\n`;
}

/** The indented line under a resource with an error state: a NACK, or an error without a version (gRFC A88). */
function errorLine(resource: ClientConfig_GenericXdsConfig): string | undefined {
  const state = resource.errorState;
  if (state === undefined) return undefined;
  const when = state.lastUpdateAttempt === undefined ? "" : ` at ${timeOf(state.lastUpdateAttempt)}`;
  if (resource.clientStatus === ClientResourceStatus.NACKED) {
    return `NACKed${state.versionInfo === "" ? "" : ` version ${state.versionInfo}`}${when}: ${state.details}`;
  }
  return `error${when}: ${state.details}`;
}

function statusName(status: ClientResourceStatus): string {
  return ClientResourceStatus[status] ?? `status ${status}`;
}

/** The message name of a type URL: `Listener`, `RouteConfiguration`, `Cluster`, `ClusterLoadAssignment`… */
function typeName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf(".") + 1) || typeUrl;
}

function timeOf(timestamp: Timestamp | undefined): string {
  return timestamp === undefined ? "" : timestampDate(timestamp).toISOString();
}

function versionOf(version: NonNullable<ClientConfig["node"]>["userAgentVersionType"]): string {
  return version.case === "userAgentVersion" && version.value !== "" ? ` ${version.value}` : "";
}

/**
 * The response as proto3 JSON, resources included. A resource of a type this rxds does not know (another client may
 * watch other types) is shown as its type URL and base64 bytes instead of failing the whole dump.
 */
export function clientStatusJson(response: ClientStatusResponse): JsonValue {
  return {
    config: response.config.map((config) => {
      const { genericXdsConfigs, ...rest } = config;
      const json = toJson(ClientConfigSchema, { ...rest, genericXdsConfigs: [] }, { registry }) as JsonObject;
      json["genericXdsConfigs"] = genericXdsConfigs.map(resourceJson);
      return json;
    }),
  };
}

function resourceJson(resource: ClientConfig_GenericXdsConfig): JsonValue {
  try {
    return toJson(ClientConfig_GenericXdsConfigSchema, resource, { registry });
  } catch {
    const { xdsConfig, ...rest } = resource;
    const json = toJson(ClientConfig_GenericXdsConfigSchema, { ...rest, xdsConfig: undefined }, { registry }) as JsonObject;
    if (xdsConfig !== undefined) json["xdsConfig"] = { "@type": xdsConfig.typeUrl, value: Buffer.from(xdsConfig.value).toString("base64") };
    return json;
  }
}
