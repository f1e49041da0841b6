/**
 * Reads an Istio EnvoyFilter's spec, checked as istiod's validation checks it (pkg/config/validation/envoyfilter), into
 * the patches rxds serve applies: NETWORK_FILTER and HTTP_FILTER patches that add, insert, replace or remove a filter of
 * a sidecar listener (see envoy-filter-patch.ts). Every other patch is valid Istio that rxds serve does not apply: the
 * document gets a warning naming it and why.
 */
import { fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { FilterSchema } from "../../../gen/envoy/config/listener/v3/listener_components_pb.js";
import { HttpFilterSchema } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { ConfigObject, ConfigPath, ConfigReader } from "./config-reader.js";
import type { EnvoyFilter, EnvoyFilterListenerMatch, EnvoyFilterOperation, EnvoyFilterPatch, ResourceMeta } from "./mesh-config-model.js";
import { xdsResourceRegistry } from "./xds-resources.js";

const applyTos = [
  "LISTENER",
  "FILTER_CHAIN",
  "NETWORK_FILTER",
  "HTTP_FILTER",
  "ROUTE_CONFIGURATION",
  "VIRTUAL_HOST",
  "HTTP_ROUTE",
  "CLUSTER",
  "EXTENSION_CONFIG",
  "BOOTSTRAP",
  "LISTENER_FILTER",
] as const;
type ApplyTo = (typeof applyTos)[number];

const operations = ["MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE", "MERGE_AND_REPLACE_LIST"] as const;
const appliedOperations: readonly string[] = ["ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE"];
const contexts = ["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY", "WAYPOINT"] as const;
const filterClasses = ["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] as const;

/** The kinds of match each class of `applyTo` takes (istiod refuses the others). */
const matchKinds: Readonly<Record<ApplyTo, string>> = {
  LISTENER: "listener",
  FILTER_CHAIN: "listener",
  NETWORK_FILTER: "listener",
  HTTP_FILTER: "listener",
  LISTENER_FILTER: "listener",
  ROUTE_CONFIGURATION: "routeConfiguration",
  VIRTUAL_HOST: "routeConfiguration",
  HTTP_ROUTE: "routeConfiguration",
  CLUSTER: "cluster",
  EXTENSION_CONFIG: "",
  BOOTSTRAP: "",
};

const connectionManagerNames = ["envoy.filters.network.http_connection_manager", "envoy.http_connection_manager"];

/** Reads `match.listener`; a filter match needs a name, a sub-filter match an HTTP_FILTER patch on a connection manager. */
function readListenerMatch(reader: ConfigReader, value: unknown, path: ConfigPath, applyTo: ApplyTo): EnvoyFilterListenerMatch {
  const object = reader.object(value, path, ["portNumber", "portName", "filterChain", "listenerFilter", "name"]);
  const name = reader.optionalString(object["name"], [...path, "name"]);
  const portNumber = reader.optionalInteger(object["portNumber"], [...path, "portNumber"], 0, 65535);
  reader.optionalString(object["portName"], [...path, "portName"]);
  reader.optionalString(object["listenerFilter"], [...path, "listenerFilter"]);
  let filterChain: EnvoyFilterListenerMatch["filterChain"];
  if (object["filterChain"] !== undefined) {
    const chainPath = [...path, "filterChain"];
    const chain = reader.object(object["filterChain"], chainPath, ["name", "sni", "transportProtocol", "applicationProtocols", "filter", "destinationPort"]);
    let filter: { name: string; subFilter?: string } | undefined;
    if (chain["filter"] !== undefined) {
      const filterPath = [...chainPath, "filter"];
      const filterMatch = reader.object(chain["filter"], filterPath, ["name", "subFilter"]);
      if (filterMatch["name"] === undefined || filterMatch["name"] === "") reader.fail([...filterPath, "name"], "a filter match needs the name of the filter to match");
      const filterName = reader.string(filterMatch["name"], [...filterPath, "name"]);
      let subFilter: string | undefined;
      if (filterMatch["subFilter"] !== undefined) {
        const subPath = [...filterPath, "subFilter"];
        if (applyTo !== "HTTP_FILTER") reader.fail(subPath, "a subFilter match is for applyTo HTTP_FILTER only");
        if (!connectionManagerNames.includes(filterName)) reader.fail(subPath, `a subFilter match needs the filter match to name ${connectionManagerNames[0]}`);
        const sub = reader.object(filterMatch["subFilter"], subPath, ["name"]);
        if (sub["name"] === undefined || sub["name"] === "") reader.fail([...subPath, "name"], "a subFilter match needs the name of the HTTP filter to match");
        subFilter = reader.string(sub["name"], [...subPath, "name"]);
      }
      filter = { name: filterName, ...(subFilter === undefined ? {} : { subFilter }) };
    }
    const text = (key: string) => {
      const read = reader.optionalString(chain[key], [...chainPath, key]);
      return read === undefined || read === "" ? {} : { [key]: read };
    };
    const destinationPort = reader.optionalInteger(chain["destinationPort"], [...chainPath, "destinationPort"], 0, 65535);
    filterChain = {
      ...text("name"),
      ...text("sni"),
      ...text("transportProtocol"),
      ...text("applicationProtocols"),
      ...(destinationPort === undefined || destinationPort === 0 ? {} : { destinationPort }),
      ...(filter === undefined ? {} : { filter }),
    };
  }
  return {
    ...(name === undefined || name === "" ? {} : { name }),
    ...(portNumber === undefined || portNumber === 0 ? {} : { portNumber }),
    ...(filterChain === undefined ? {} : { filterChain }),
  };
}

/** The message type an Any in proto3 JSON names, when the registry does not know it. */
function unknownType(config: unknown): string | undefined {
  if (config === null || typeof config !== "object" || Array.isArray(config)) return undefined;
  const type = (config as ConfigObject)["@type"];
  if (typeof type !== "string") return undefined;
  return xdsResourceRegistry.getMessage(type.slice(type.lastIndexOf("/") + 1)) === undefined ? type : undefined;
}

/** A patch's `value` as the filter it adds (an Envoy Filter or HttpFilter in proto3 JSON, typed_config and all). */
function readFilterValue<Desc extends typeof FilterSchema | typeof HttpFilterSchema>(reader: ConfigReader, value: unknown, path: ConfigPath, schema: Desc): MessageShape<Desc> {
  const object = reader.mapping(value, path);
  let filter: MessageShape<Desc>;
  try {
    filter = fromJson(schema, object as JsonValue, { registry: xdsResourceRegistry });
  } catch (error) {
    return reader.fail(path, `not a valid ${schema.typeName} in proto3 JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (filter.name === "") reader.fail([...path, "name"], "expected the filter's name");
  return filter;
}

/** Why a valid patch is not applied, or undefined when rxds serve applies it. */
function notAppliedReason(applyTo: ApplyTo, operation: string, match: ConfigObject, patch: ConfigObject, context: string): string | undefined {
  if ((applyTo !== "NETWORK_FILTER" && applyTo !== "HTTP_FILTER") || !appliedOperations.includes(operation)) {
    return `rxds serve applies NETWORK_FILTER and HTTP_FILTER patches that ${appliedOperations.join(", ")} a filter, not ${applyTo} ${operation}`;
  }
  if (context === "GATEWAY" || context === "WAYPOINT") return `context ${context}: rxds serve serves no gateways or waypoints`;
  if (match["proxy"] !== undefined) return "match.proxy: rxds serve does not know each proxy's version and metadata";
  if (patch["filterClass"] !== undefined && patch["filterClass"] !== "UNSPECIFIED") return "patch.filterClass: Istio's own filters it orders against are not served";
  const value = patch["value"] as ConfigObject | undefined;
  const type = unknownType(value?.["typed_config"] ?? value?.["typedConfig"]);
  if (type !== undefined) return `rxds serve does not know the type ${type}`;
  return undefined;
}

/** Reads one `configPatches[]` entry: the patch when rxds serve applies it, else why not. */
function readPatch(reader: ConfigReader, value: unknown, path: ConfigPath): EnvoyFilterPatch | { readonly notApplied: string } {
  const object = reader.object(value, path, ["applyTo", "match", "patch"]);
  const applyTo = reader.oneOf(object["applyTo"], [...path, "applyTo"], applyTos);
  const patch = reader.object(object["patch"], [...path, "patch"], ["operation", "value", "filterClass"]);
  const operation = reader.oneOf(patch["operation"], [...path, "patch", "operation"], operations);
  if (operation !== "REMOVE") {
    if (patch["value"] === undefined) reader.fail([...path, "patch", "value"], "a patch other than REMOVE needs a value");
    reader.mapping(patch["value"], [...path, "patch", "value"]);
  }
  if (patch["filterClass"] !== undefined) reader.oneOf(patch["filterClass"], [...path, "patch", "filterClass"], filterClasses);
  const matchPath = [...path, "match"];
  const match = object["match"] === undefined ? {} : reader.object(object["match"], matchPath, ["context", "proxy", "listener", "routeConfiguration", "cluster"]);
  const context = match["context"] === undefined ? "ANY" : reader.oneOf(match["context"], [...matchPath, "context"], contexts);
  if (match["proxy"] !== undefined) reader.object(match["proxy"], [...matchPath, "proxy"], ["proxyVersion", "metadata"]);
  const given = ["listener", "routeConfiguration", "cluster"].filter((kind) => match[kind] !== undefined);
  if (given.length > 1) reader.fail(matchPath, `expected at most one of listener, routeConfiguration, cluster, got ${given.join(" and ")}`);
  const kind = given[0];
  if (kind !== undefined && kind !== matchKinds[applyTo]) reader.fail([...matchPath, kind], `applyTo ${applyTo} cannot have a ${kind} match`);
  if (kind !== undefined && kind !== "listener") reader.mapping(match[kind], [...matchPath, kind]);
  const listener = kind === "listener" ? readListenerMatch(reader, match["listener"], [...matchPath, "listener"], applyTo) : undefined;
  const reason = notAppliedReason(applyTo, operation, match, patch, context);
  if (reason !== undefined) return { notApplied: reason };
  const common = {
    context: context as EnvoyFilterPatch["context"],
    operation: operation as EnvoyFilterOperation,
    ...(listener === undefined ? {} : { listener }),
  };
  const valuePath = [...path, "patch", "value"];
  if (applyTo === "NETWORK_FILTER") {
    return { ...common, applyTo, ...(operation === "REMOVE" ? {} : { value: readFilterValue(reader, patch["value"], valuePath, FilterSchema) }) };
  }
  return { ...common, applyTo: "HTTP_FILTER", ...(operation === "REMOVE" ? {} : { value: readFilterValue(reader, patch["value"], valuePath, HttpFilterSchema) }) };
}

/**
 * Reads an EnvoyFilter's `spec` into what rxds serve applies; `warn` receives one line per thing accepted but not
 * applied (patches, `targetRefs`), and one saying that GENERATOR=grpc clients get no patch, as from istiod.
 */
export function readEnvoyFilter(reader: ConfigReader, meta: ResourceMeta, spec: unknown, warn: (line: string) => void): EnvoyFilter {
  const object = reader.object(spec ?? {}, ["spec"], ["workloadSelector", "targetRefs", "configPatches", "priority"]);
  let workloadSelector: Readonly<Record<string, string>> | undefined;
  if (object["workloadSelector"] !== undefined) {
    const selector = reader.object(object["workloadSelector"], ["spec", "workloadSelector"], ["labels"]);
    workloadSelector = reader.stringMap(selector["labels"], ["spec", "workloadSelector", "labels"]);
    if (Object.keys(workloadSelector).length === 0) {
      warn(`${reader.where}: spec.workloadSelector has no labels: applied to every workload of namespace ${meta.namespace}`);
      workloadSelector = undefined;
    }
  }
  const priority = reader.optionalInteger(object["priority"], ["spec", "priority"], -2147483648, 2147483647) ?? 0;
  const targeted = reader.list(object["targetRefs"], ["spec", "targetRefs"]).length > 0;
  const patches: EnvoyFilterPatch[] = [];
  reader.list(object["configPatches"], ["spec", "configPatches"]).forEach((value, i) => {
    const read = readPatch(reader, value, ["spec", "configPatches", i]);
    if ("notApplied" in read) warn(`${reader.where}: spec.configPatches[${i}] accepted but not applied: ${read.notApplied}`);
    else patches.push(read);
  });
  if (targeted) {
    warn(`${reader.where}: spec.targetRefs: accepted but not applied: istiod applies an EnvoyFilter with targetRefs to no sidecar, so none of its patches is applied`);
    patches.length = 0;
  }
  if (patches.length > 0) {
    warn(`${reader.where}: applied to sidecar-mode clients only: GENERATOR=grpc clients get no EnvoyFilter patch, as istiod's gRPC generator ignores EnvoyFilter`);
  }
  return { ...meta, ...(workloadSelector === undefined ? {} : { workloadSelector }), priority, patches };
}
