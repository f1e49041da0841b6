/**
 * The fields of Istio's resource specs (istio.io/api: networking v1, as the CRD schemas list them) and
 * what `rxds serve` does with each: "served" fields are read and translated, "accepted" fields are
 * valid Istio that rxds does not serve yet (the document gets one warning naming them). A field not
 * listed is not Istio's, and is an error. Serving a field means marking it "served" here and reading it
 * in its kind's parser: this table is the one place that decides the warning.
 */
import type { ConfigObject, ConfigPath, ConfigReader } from "./config-reader.js";
import { formatPath } from "./config-reader.js";

/** What rxds serve does with one field: reads it, accepts it without serving it, or checks its own fields. */
export type FieldRule = "served" | "accepted" | FieldTable;

/** The fields of one Istio message; a list field's table applies to each of its items. */
export interface FieldTable {
  readonly [field: string]: FieldRule;
}

const stringMatch: FieldTable = { exact: "served", prefix: "served", regex: "served" };

const httpMatchRequest: FieldTable = {
  name: "served",
  uri: stringMatch,
  scheme: "accepted",
  method: "accepted",
  authority: "accepted",
  headers: "served",
  port: "accepted",
  sourceLabels: "accepted",
  gateways: "accepted",
  queryParams: "accepted",
  ignoreUriCase: "served",
  withoutHeaders: "accepted",
  sourceNamespace: "accepted",
  statPrefix: "accepted",
};

const destination: FieldTable = { host: "served", subset: "served", port: { number: "served" } };

const httpRoute: FieldTable = {
  name: "served",
  match: httpMatchRequest,
  route: { destination, weight: "served", headers: "accepted" },
  redirect: "accepted",
  directResponse: "accepted",
  delegate: "accepted",
  rewrite: "accepted",
  timeout: "served",
  retries: {
    attempts: "served",
    perTryTimeout: "served",
    retryOn: "served",
    retryRemoteLocalities: "accepted",
    retryIgnorePreviousHosts: "served",
    backoff: "served",
  },
  fault: {
    delay: { percentage: { value: "served" }, percent: "served", fixedDelay: "served", exponentialDelay: "accepted" },
    abort: { percentage: { value: "served" }, httpStatus: "served", grpcStatus: "served", http2Error: "accepted" },
  },
  mirror: "accepted",
  mirrors: "accepted",
  mirrorPercent: "accepted",
  mirrorPercentage: "accepted",
  corsPolicy: "accepted",
  headers: "accepted",
};

const virtualService: FieldTable = {
  hosts: "served",
  gateways: "accepted",
  http: httpRoute,
  tls: "accepted",
  tcp: "accepted",
  exportTo: "served",
};

const consistentHash: FieldTable = {
  httpHeaderName: "served",
  httpCookie: { name: "served", path: "served", ttl: "served", attributes: "accepted" },
  useSourceIp: "served",
  httpQueryParameterName: "served",
  ringHash: { minimumRingSize: "served" },
  maglev: { tableSize: "served" },
  minimumRingSize: "served",
};

const localityWeights: FieldTable = { from: "served", to: "served" };

/** The settings a traffic policy and each of its `portLevelSettings` entries give. */
const policySettings: FieldTable = {
  loadBalancer: {
    simple: "served",
    consistentHash,
    // failoverPriority is read only to be refused by name (it needs the clients' labels).
    localityLbSetting: { enabled: "served", distribute: localityWeights, failover: localityWeights, failoverPriority: "served" },
    warmupDurationSecs: "accepted",
    warmup: "accepted",
  },
  connectionPool: {
    tcp: {
      maxConnections: "served",
      connectTimeout: "served",
      tcpKeepalive: "accepted",
      maxConnectionDuration: "accepted",
      idleTimeout: "accepted",
    },
    http: {
      http1MaxPendingRequests: "served",
      http2MaxRequests: "served",
      maxRequestsPerConnection: "served",
      maxRetries: "served",
      idleTimeout: "accepted",
      h2UpgradePolicy: "accepted",
      useClientProtocol: "accepted",
      maxConcurrentStreams: "accepted",
    },
  },
  outlierDetection: {
    splitExternalLocalOriginErrors: "accepted",
    consecutiveLocalOriginFailures: "accepted",
    consecutiveGatewayErrors: "served",
    consecutive5xxErrors: "served",
    interval: "served",
    baseEjectionTime: "served",
    maxEjectionPercent: "served",
    minHealthPercent: "served",
    consecutiveErrors: "accepted",
  },
  tls: {
    mode: "served",
    clientCertificate: "accepted",
    privateKey: "accepted",
    caCertificates: "accepted",
    credentialName: "accepted",
    subjectAltNames: "accepted",
    sni: "accepted",
    insecureSkipVerify: "accepted",
    caCrl: "accepted",
  },
};

const trafficPolicy: FieldTable = {
  ...policySettings,
  portLevelSettings: { port: { number: "served" }, ...policySettings },
  tunnel: "accepted",
  proxyProtocol: "accepted",
  retryBudget: "accepted",
};

const destinationRule: FieldTable = {
  host: "served",
  trafficPolicy,
  subsets: { name: "served", labels: "served", trafficPolicy },
  exportTo: "served",
  workloadSelector: "accepted",
};

/** A WorkloadEntry's spec, also the shape of a ServiceEntry endpoint and of a WorkloadGroup template. */
const workloadEntry: FieldTable = {
  address: "served",
  ports: "served",
  labels: "served",
  network: "accepted",
  weight: "served",
  serviceAccount: "served",
  locality: "served",
};

const serviceEntry: FieldTable = {
  hosts: "served",
  addresses: "served",
  ports: { number: "served", protocol: "served", name: "served", targetPort: "served" },
  location: "served",
  resolution: "served",
  endpoints: workloadEntry,
  workloadSelector: { labels: "served" },
  exportTo: "served",
  subjectAltNames: "served",
};

const workloadGroup: FieldTable = {
  metadata: { labels: "served", annotations: "served" },
  template: workloadEntry,
  probe: "accepted",
};

/** The spec fields of each Istio kind rxds serve reads. */
export const istioSpecFields: Readonly<Record<string, FieldTable>> = {
  VirtualService: virtualService,
  DestinationRule: destinationRule,
  ServiceEntry: serviceEntry,
  WorkloadEntry: workloadEntry,
  WorkloadGroup: workloadGroup,
};

/** A spec with the accepted-but-not-served fields taken out, and where they were. */
export interface SortedSpec {
  /** The spec holding only served fields (the input is not changed). */
  readonly spec: unknown;
  /** Paths of the fields taken out, e.g. `spec.http[0].mirror`. */
  readonly notServed: readonly string[];
}

function isMapping(value: unknown): value is ConfigObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * Checks a spec against its kind's field table: a field Istio does not define is an error naming it; the
 * fields rxds does not serve are taken out and listed. Values that are not mappings are left for the
 * kind's parser to reject with the type it expected.
 */
export function sortIstioFields(reader: ConfigReader, table: FieldTable, spec: unknown, path: ConfigPath = ["spec"]): SortedSpec {
  const notServed: string[] = [];
  const walk = (value: unknown, rules: FieldTable, at: ConfigPath): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => walk(item, rules, [...at, i]));
    if (!isMapping(value)) return value;
    const out: ConfigObject = {};
    for (const [key, item] of Object.entries(value)) {
      const rule = rules[key];
      if (rule === undefined) reader.fail([...at, key], `unknown field "${key}"; Istio defines ${Object.keys(rules).join(", ")}`);
      if (rule === "accepted") notServed.push(formatPath([...at, key]));
      else out[key] = rule === "served" ? item : walk(item, rule, [...at, key]);
    }
    return out;
  };
  return { spec: walk(spec, table, path), notServed };
}
