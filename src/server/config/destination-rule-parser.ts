import type { ConfigPath, ConfigReader } from "./config-reader.js";
import { readExportTo } from "./export-to.js";
import { expandHost } from "./istio-names.js";
import type {
  ClientTlsSettings,
  ConnectionPoolSettings,
  ConsistentHashSettings,
  DestinationRule,
  HashKey,
  LoadBalancerSettings,
  LocalityLbSettings,
  OutlierDetectionSettings,
  PortTrafficPolicy,
  ResourceMeta,
  Subset,
  TrafficPolicy,
} from "./mesh-config-model.js";
import { readOptionalDuration } from "./virtual-service-parser.js";

const maxUint32 = 4294967295;

/** Copies the defined entries of `values`, so optional fields stay absent (exactOptionalPropertyTypes). */
function defined<T extends object>(values: { [K in keyof T]?: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as T;
}

function readHashKey(reader: ConfigReader, object: Record<string, unknown>, path: ConfigPath): HashKey {
  const keys = ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName"].filter((k) => object[k] !== undefined);
  if (keys.length !== 1) {
    return reader.fail(path, "expected exactly one of httpHeaderName, httpCookie, useSourceIp, httpQueryParameterName");
  }
  const key = keys[0] as string;
  switch (key) {
    case "httpHeaderName":
      return { kind: "header", name: reader.string(object[key], [...path, key]) };
    case "httpQueryParameterName":
      return { kind: "queryParameter", name: reader.string(object[key], [...path, key]) };
    case "useSourceIp":
      if (object[key] !== true) reader.expected([...path, key], "true", object[key]);
      return { kind: "sourceIp" };
    default: {
      const cookiePath = [...path, key];
      const cookie = reader.object(object[key], cookiePath, ["name", "path", "ttl"]);
      const name = reader.string(cookie["name"], [...cookiePath, "name"]);
      const cookieRoute = reader.optionalString(cookie["path"], [...cookiePath, "path"]);
      const ttl = readOptionalDuration(reader, cookie["ttl"], [...cookiePath, "ttl"]);
      return defined<Extract<HashKey, { kind: "cookie" }>>({ kind: "cookie", name, path: cookieRoute, ttl });
    }
  }
}

function readConsistentHash(reader: ConfigReader, value: unknown, hashPath: ConfigPath): ConsistentHashSettings {
  const hash = reader.object(value, hashPath, ["httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize"]);
  const key = readHashKey(reader, hash, hashPath);
  if (hash["ringHash"] !== undefined && hash["maglev"] !== undefined) reader.fail(hashPath, "expected only one of ringHash, maglev");
  if (hash["maglev"] !== undefined) {
    const maglevPath = [...hashPath, "maglev"];
    const maglev = reader.object(hash["maglev"], maglevPath, ["tableSize"]);
    const tableSize = reader.optionalInteger(maglev["tableSize"], [...maglevPath, "tableSize"], 1, 5_000_011);
    if (tableSize !== undefined && !isPrime(tableSize)) reader.expected([...maglevPath, "tableSize"], "a prime number", tableSize);
    return defined<ConsistentHashSettings>({ key, algorithm: "maglev", tableSize });
  }
  let minimumRingSize = reader.optionalInteger(hash["minimumRingSize"], [...hashPath, "minimumRingSize"], 1, 8_388_608);
  if (hash["ringHash"] !== undefined) {
    const ringPath = [...hashPath, "ringHash"];
    const ring = reader.object(hash["ringHash"], ringPath, ["minimumRingSize"]);
    minimumRingSize = reader.optionalInteger(ring["minimumRingSize"], [...ringPath, "minimumRingSize"], 1, 8_388_608) ?? minimumRingSize;
  }
  return defined<ConsistentHashSettings>({ key, algorithm: "ringHash", minimumRingSize });
}

function isPrime(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

function readLocalityLbSetting(reader: ConfigReader, value: unknown, path: ConfigPath): LocalityLbSettings {
  const object = reader.object(value, path, ["enabled", "distribute", "failover", "failoverPriority"]);
  if (object["failoverPriority"] !== undefined) reader.fail([...path, "failoverPriority"], "is not supported by rxds serve (it needs the clients' labels); use failover");
  if (object["distribute"] !== undefined && object["failover"] !== undefined) reader.fail(path, "expected only one of distribute, failover");
  const distribute = object["distribute"] === undefined ? undefined : reader.list(object["distribute"], [...path, "distribute"]).map((each, i) => {
    const at = [...path, "distribute", i];
    const entry = reader.object(each, at, ["from", "to"]);
    const to: Record<string, number> = {};
    const toPath = [...at, "to"];
    for (const [locality, weight] of Object.entries(reader.object(entry["to"], toPath, Object.keys(entry["to"] ?? {})))) {
      to[locality] = reader.integer(weight, [...toPath, locality], 0, 100);
    }
    const total = Object.values(to).reduce((a, b) => a + b, 0);
    if (total !== 100) reader.fail(toPath, `expected weights that sum to 100, got ${total}`);
    return { from: reader.string(entry["from"], [...at, "from"]), to };
  });
  const failover = object["failover"] === undefined ? undefined : reader.list(object["failover"], [...path, "failover"]).map((each, i) => {
    const at = [...path, "failover", i];
    const entry = reader.object(each, at, ["from", "to"]);
    const from = reader.string(entry["from"], [...at, "from"]);
    const to = reader.string(entry["to"], [...at, "to"]);
    if (from === to) reader.fail([...at, "to"], `expected a region other than from (${JSON.stringify(from)})`);
    return { from, to };
  });
  return defined<LocalityLbSettings>({ enabled: reader.optionalBoolean(object["enabled"], [...path, "enabled"]), distribute, failover });
}

function readLoadBalancer(reader: ConfigReader, value: unknown, path: ConfigPath): LoadBalancerSettings {
  const object = reader.object(value, path, ["simple", "consistentHash", "localityLbSetting"]);
  if (object["simple"] !== undefined && object["consistentHash"] !== undefined) {
    reader.fail(path, "expected only one of simple, consistentHash");
  }
  const simple =
    object["simple"] === undefined
      ? undefined
      : reader.oneOf(object["simple"], [...path, "simple"], ["UNSPECIFIED", "ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM"] as const);
  const consistentHash = object["consistentHash"] === undefined ? undefined : readConsistentHash(reader, object["consistentHash"], [...path, "consistentHash"]);
  const localityLbSetting =
    object["localityLbSetting"] === undefined ? undefined : readLocalityLbSetting(reader, object["localityLbSetting"], [...path, "localityLbSetting"]);
  return defined<LoadBalancerSettings>({ simple, consistentHash, localityLbSetting });
}

function readOutlierDetection(reader: ConfigReader, value: unknown, path: ConfigPath): OutlierDetectionSettings {
  const object = reader.object(value, path, [
    "consecutive5xxErrors",
    "consecutiveGatewayErrors",
    "interval",
    "baseEjectionTime",
    "maxEjectionPercent",
    "minHealthPercent",
  ]);
  return defined({
    consecutive5xxErrors: reader.optionalInteger(object["consecutive5xxErrors"], [...path, "consecutive5xxErrors"], 0, maxUint32),
    consecutiveGatewayErrors: reader.optionalInteger(object["consecutiveGatewayErrors"], [...path, "consecutiveGatewayErrors"], 0, maxUint32),
    interval: readOptionalDuration(reader, object["interval"], [...path, "interval"]),
    baseEjectionTime: readOptionalDuration(reader, object["baseEjectionTime"], [...path, "baseEjectionTime"]),
    maxEjectionPercent: reader.optionalInteger(object["maxEjectionPercent"], [...path, "maxEjectionPercent"], 0, 100),
    minHealthPercent: reader.optionalInteger(object["minHealthPercent"], [...path, "minHealthPercent"], 0, 100),
  });
}

function readConnectionPool(reader: ConfigReader, value: unknown, path: ConfigPath): ConnectionPoolSettings {
  const object = reader.object(value, path, ["tcp", "http"]);
  const out: { -readonly [K in keyof ConnectionPoolSettings]: ConnectionPoolSettings[K] } = {};
  if (object["tcp"] !== undefined) {
    const tcpPath = [...path, "tcp"];
    const tcp = reader.object(object["tcp"], tcpPath, ["maxConnections", "connectTimeout"]);
    out.tcp = defined({
      maxConnections: reader.optionalInteger(tcp["maxConnections"], [...tcpPath, "maxConnections"], 0, maxUint32),
      connectTimeout: readOptionalDuration(reader, tcp["connectTimeout"], [...tcpPath, "connectTimeout"]),
    });
  }
  if (object["http"] !== undefined) {
    const httpPath = [...path, "http"];
    const fields = ["http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection", "maxRetries"] as const;
    const http = reader.object(object["http"], httpPath, fields);
    out.http = defined<NonNullable<ConnectionPoolSettings["http"]>>(Object.fromEntries(fields.map((f) => [f, reader.optionalInteger(http[f], [...httpPath, f], 0, maxUint32)])));
  }
  return out;
}

/** Reads `tls`: the mode; ISTIO_MUTUAL and DISABLE are applied, SIMPLE and MUTUAL are accepted and served as no TLS, as istiod's grpc generator does. */
function readClientTls(reader: ConfigReader, value: unknown, path: ConfigPath): ClientTlsSettings {
  const object = reader.object(value, path, ["mode", "clientCertificate", "privateKey", "caCertificates", "credentialName", "subjectAltNames", "sni", "insecureSkipVerify"]);
  return { mode: reader.oneOf(object["mode"] ?? "DISABLE", [...path, "mode"], ["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"] as const) };
}

/** Reads the settings of a traffic policy that a `portLevelSettings` entry may give too. */
function readSettings(reader: ConfigReader, object: Record<string, unknown>, path: ConfigPath): Omit<TrafficPolicy, "portLevelSettings"> {
  return defined({
    tls: object["tls"] === undefined ? undefined : readClientTls(reader, object["tls"], [...path, "tls"]),
    loadBalancer: object["loadBalancer"] === undefined ? undefined : readLoadBalancer(reader, object["loadBalancer"], [...path, "loadBalancer"]),
    outlierDetection:
      object["outlierDetection"] === undefined ? undefined : readOutlierDetection(reader, object["outlierDetection"], [...path, "outlierDetection"]),
    connectionPool:
      object["connectionPool"] === undefined ? undefined : readConnectionPool(reader, object["connectionPool"], [...path, "connectionPool"]),
  });
}

function readPortLevelSettings(reader: ConfigReader, value: unknown, path: ConfigPath): PortTrafficPolicy[] {
  const seen = new Set<number>();
  return reader.list(value, path).map((each, i) => {
    const at = [...path, i];
    const object = reader.object(each, at, ["port", "loadBalancer", "outlierDetection", "connectionPool", "tls"]);
    const port = reader.integer(reader.object(object["port"], [...at, "port"], ["number"])["number"], [...at, "port", "number"], 1, 65535);
    if (seen.has(port)) reader.fail([...at, "port", "number"], `duplicate port ${port}`);
    seen.add(port);
    return { port, ...readSettings(reader, object, at) };
  });
}

/** Reads a traffic policy (DestinationRule top level or subset). */
export function readTrafficPolicy(reader: ConfigReader, value: unknown, path: ConfigPath): TrafficPolicy {
  const object = reader.object(value, path, ["loadBalancer", "outlierDetection", "connectionPool", "tls", "portLevelSettings"]);
  const portLevelSettings = object["portLevelSettings"] === undefined ? undefined : readPortLevelSettings(reader, object["portLevelSettings"], [...path, "portLevelSettings"]);
  return defined({ ...readSettings(reader, object, path), portLevelSettings });
}

function readSubset(reader: ConfigReader, value: unknown, path: ConfigPath): Subset {
  const object = reader.object(value, path, ["name", "labels", "trafficPolicy"]);
  const name = reader.string(object["name"], [...path, "name"]);
  if (name.includes("|")) reader.fail([...path, "name"], `expected a subset name without "|", got ${JSON.stringify(name)}`);
  const labels = reader.stringMap(object["labels"], [...path, "labels"]);
  const trafficPolicy =
    object["trafficPolicy"] === undefined ? undefined : readTrafficPolicy(reader, object["trafficPolicy"], [...path, "trafficPolicy"]);
  return defined({ name, labels, trafficPolicy });
}

/** Reads a DestinationRule's `spec`; a short host is expanded with the resource's namespace. */
export function readDestinationRule(reader: ConfigReader, meta: ResourceMeta, spec: unknown): DestinationRule {
  const path = ["spec"];
  const object = reader.object(spec, path, ["host", "trafficPolicy", "subsets", "exportTo"]);
  const host = expandHost(reader.string(object["host"], [...path, "host"]), meta.namespace);
  const trafficPolicy =
    object["trafficPolicy"] === undefined ? undefined : readTrafficPolicy(reader, object["trafficPolicy"], [...path, "trafficPolicy"]);
  const subsets = reader.list(object["subsets"], [...path, "subsets"]).map((each, i) => readSubset(reader, each, [...path, "subsets", i]));
  const seen = new Set<string>();
  subsets.forEach((subset, i) => {
    if (seen.has(subset.name)) reader.fail([...path, "subsets", i, "name"], `duplicate subset "${subset.name}"`);
    seen.add(subset.name);
  });
  const exportTo = readExportTo(reader, object["exportTo"], [...path, "exportTo"]);
  return defined({ ...meta, exportTo, host, trafficPolicy, subsets });
}
