import { GRPC_STATUS_NAMES } from "../../resources/grpc-status.js";
import { safeRegexRejection } from "../../resources/match/safe-regex.js";
import type { ConfigPath, ConfigReader } from "./config-reader.js";
import { readExportTo } from "./export-to.js";
import { parseIstioDuration, type ProtoDuration } from "./istio-duration.js";
import { expandHost } from "./istio-names.js";
import type { HttpFault, HttpMatch, HttpRetry, HttpRoute, ResourceMeta, RouteDestination, StringMatch, VirtualService } from "./mesh-config-model.js";

/** Reads an Istio StringMatch: a mapping with exactly one of exact, prefix, regex. */
export function readStringMatch(reader: ConfigReader, value: unknown, path: ConfigPath): StringMatch {
  const object = reader.object(value, path, ["exact", "prefix", "regex"]);
  const kinds = Object.keys(object) as StringMatch["kind"][];
  if (kinds.length !== 1) return reader.expected(path, "exactly one of exact, prefix, regex", value);
  const kind = kinds[0] as StringMatch["kind"];
  return { kind, value: reader.string(object[kind], [...path, kind], kind !== "regex") };
}

/**
 * Checks a regex condition as clients will: RE2 syntax, and a program within the limit rxds and Envoy apply by default
 * (100), so that a regex every client would NACK is an error of the file instead.
 */
function checkRegex(reader: ConfigReader, match: StringMatch, path: ConfigPath): StringMatch {
  if (match.kind !== "regex") return match;
  const rejection = safeRegexRejection(match.value);
  if (rejection !== undefined) reader.fail([...path, "regex"], rejection);
  return match;
}

/** Reads a duration field (`0.5s`, `100ms`, `1m`). */
export function readDuration(reader: ConfigReader, value: unknown, path: ConfigPath): ProtoDuration {
  const parsed = typeof value === "string" ? parseIstioDuration(value) : undefined;
  return parsed ?? reader.expected(path, 'a duration such as "0.5s", "100ms" or "1m"', value);
}

/** Reads an optional duration field. */
export function readOptionalDuration(reader: ConfigReader, value: unknown, path: ConfigPath): ProtoDuration | undefined {
  return value === undefined ? undefined : readDuration(reader, value, path);
}

function readMatch(reader: ConfigReader, value: unknown, path: ConfigPath): HttpMatch {
  const object = reader.object(value, path, ["name", "uri", "headers", "ignoreUriCase"]);
  const name = reader.optionalString(object["name"], [...path, "name"]);
  const uri = object["uri"] === undefined ? undefined : checkRegex(reader, readStringMatch(reader, object["uri"], [...path, "uri"]), [...path, "uri"]);
  const headers: { name: string; match: StringMatch }[] = [];
  if (object["headers"] !== undefined) {
    const headersPath = [...path, "headers"];
    const map = reader.object(object["headers"], headersPath, Object.keys(object["headers"] ?? {}));
    for (const [header, match] of Object.entries(map)) {
      if (header === "" || header !== header.toLowerCase()) {
        reader.fail([...headersPath, header], "expected a lower-case header name");
      }
      const condition = readStringMatch(reader, match, [...headersPath, header]);
      // A header regex "*" is how Istio says "present"; it is not compiled.
      const isPresence = condition.kind === "regex" && condition.value === "*";
      headers.push({ name: header, match: isPresence ? condition : checkRegex(reader, condition, [...headersPath, header]) });
    }
  }
  const ignoreUriCase = reader.optionalBoolean(object["ignoreUriCase"], [...path, "ignoreUriCase"]) ?? false;
  return {
    ...(name === undefined ? {} : { name }),
    ...(uri === undefined ? {} : { uri }),
    headers,
    ignoreUriCase,
  };
}

function readDestination(reader: ConfigReader, value: unknown, path: ConfigPath, namespace: string): RouteDestination {
  const object = reader.object(value, path, ["destination", "weight"]);
  const destinationPath = [...path, "destination"];
  const destination = reader.object(object["destination"], destinationPath, ["host", "subset", "port"]);
  const host = expandHost(reader.string(destination["host"], [...destinationPath, "host"]), namespace);
  const subset = reader.optionalString(destination["subset"], [...destinationPath, "subset"]);
  let port: number | undefined;
  if (destination["port"] !== undefined) {
    const portPath = [...destinationPath, "port"];
    const portObject = reader.object(destination["port"], portPath, ["number"]);
    port = reader.integer(portObject["number"], [...portPath, "number"], 1, 65535);
  }
  const weight = reader.optionalInteger(object["weight"], [...path, "weight"], 0, 100) ?? 0;
  return {
    host,
    ...(subset === undefined || subset === "" ? {} : { subset }),
    ...(port === undefined ? {} : { port }),
    weight,
  };
}

function readRetries(reader: ConfigReader, value: unknown, path: ConfigPath): HttpRetry {
  const object = reader.object(value, path, ["attempts", "perTryTimeout", "retryOn", "backoff", "retryIgnorePreviousHosts"]);
  const attempts = reader.integer(object["attempts"] ?? 0, [...path, "attempts"], 0, 2 ** 31 - 1);
  const perTryTimeout = readOptionalDuration(reader, object["perTryTimeout"], [...path, "perTryTimeout"]);
  const retryOn = reader.optionalString(object["retryOn"], [...path, "retryOn"]);
  const backoff = readOptionalDuration(reader, object["backoff"], [...path, "backoff"]);
  const ignorePrevious = reader.optionalBoolean(object["retryIgnorePreviousHosts"], [...path, "retryIgnorePreviousHosts"]);
  return {
    attempts,
    ...(perTryTimeout === undefined ? {} : { perTryTimeout }),
    ...(retryOn === undefined || retryOn === "" ? {} : { retryOn }),
    ...(backoff === undefined ? {} : { backoff }),
    ...(ignorePrevious === undefined ? {} : { retryIgnorePreviousHosts: ignorePrevious }),
  };
}

/** Reads `percentage: { value }` (0..100, a double), as Istio validates it. */
function readPercentage(reader: ConfigReader, value: unknown, path: ConfigPath): number | undefined {
  if (value === undefined) return undefined;
  const object = reader.object(value, path, ["value"]);
  const percent = object["value"] ?? 0;
  if (typeof percent !== "number" || percent < 0 || percent > 100) return reader.expected([...path, "value"], "a number 0..100", percent);
  return percent;
}

/**
 * Reads `fault` as Istio validates it: a delay needs `fixedDelay` (at least 1 ms; `exponentialDelay` is not served, and
 * a delay with only that is dropped, as istiod drops it), an abort exactly one of `httpStatus` (200..599) and
 * `grpcStatus` (a status name; `http2Error` is not served).
 */
function readFault(reader: ConfigReader, value: unknown, path: ConfigPath): HttpFault {
  const object = reader.object(value, path, ["delay", "abort"]);
  let delay: HttpFault["delay"];
  if (object["delay"] !== undefined) {
    const at = [...path, "delay"];
    const fields = reader.object(object["delay"], at, ["percentage", "percent", "fixedDelay"]);
    const fixedDelay = readOptionalDuration(reader, fields["fixedDelay"], [...at, "fixedDelay"]);
    if (fixedDelay !== undefined && fixedDelay.seconds === 0n && fixedDelay.nanos < 1_000_000) reader.fail([...at, "fixedDelay"], "must be at least 1ms");
    const percentage = readPercentage(reader, fields["percentage"], [...at, "percentage"]);
    const percent = reader.optionalInteger(fields["percent"], [...at, "percent"], 0, 100);
    if (fixedDelay !== undefined) delay = { fixedDelay, ...(percentage === undefined ? {} : { percentage }), ...(percent === undefined ? {} : { percent }) };
  }
  let abort: HttpFault["abort"];
  if (object["abort"] !== undefined) {
    const at = [...path, "abort"];
    const fields = reader.object(object["abort"], at, ["percentage", "httpStatus", "grpcStatus"]);
    const httpStatus = reader.optionalInteger(fields["httpStatus"], [...at, "httpStatus"], 200, 599);
    const grpcStatus = fields["grpcStatus"] === undefined ? undefined : reader.oneOf(fields["grpcStatus"], [...at, "grpcStatus"], GRPC_STATUS_NAMES);
    if (httpStatus !== undefined && grpcStatus !== undefined) reader.fail(at, "expected only one of httpStatus and grpcStatus");
    const percentage = readPercentage(reader, fields["percentage"], [...at, "percentage"]);
    if (httpStatus !== undefined || grpcStatus !== undefined) {
      abort = {
        ...(httpStatus === undefined ? {} : { httpStatus }),
        ...(grpcStatus === undefined ? {} : { grpcStatus }),
        ...(percentage === undefined ? {} : { percentage }),
      };
    }
  }
  return { ...(delay === undefined ? {} : { delay }), ...(abort === undefined ? {} : { abort }) };
}

function readHttpRoute(reader: ConfigReader, value: unknown, path: ConfigPath, namespace: string): HttpRoute {
  const object = reader.object(value, path, ["name", "match", "route", "timeout", "retries", "fault"]);
  const name = reader.optionalString(object["name"], [...path, "name"]);
  const match = reader.list(object["match"], [...path, "match"]).map((each, i) => readMatch(reader, each, [...path, "match", i]));
  const routePath = [...path, "route"];
  const route = reader.list(object["route"], routePath).map((each, i) => readDestination(reader, each, [...routePath, i], namespace));
  if (route.length === 0) reader.expected(routePath, "at least one destination", object["route"]);
  if (route.length > 1 && route.every((destination) => destination.weight === 0)) {
    reader.fail(routePath, "expected a non-zero weight on at least one of several destinations");
  }
  const timeout = readOptionalDuration(reader, object["timeout"], [...path, "timeout"]);
  const retries = object["retries"] === undefined ? undefined : readRetries(reader, object["retries"], [...path, "retries"]);
  const fault = object["fault"] === undefined ? undefined : readFault(reader, object["fault"], [...path, "fault"]);
  return {
    ...(name === undefined || name === "" ? {} : { name }),
    match,
    route,
    ...(timeout === undefined ? {} : { timeout }),
    ...(retries === undefined ? {} : { retries }),
    ...(fault === undefined ? {} : { fault }),
  };
}

/** Reads a VirtualService's `spec`; short hosts are expanded with the resource's namespace. */
export function readVirtualService(reader: ConfigReader, meta: ResourceMeta, spec: unknown): VirtualService {
  const path = ["spec"];
  const object = reader.object(spec, path, ["hosts", "http", "exportTo"]);
  const hostsPath = [...path, "hosts"];
  const hosts = reader.list(object["hosts"], hostsPath).map((host, i) => expandHost(reader.string(host, [...hostsPath, i]), meta.namespace));
  if (hosts.length === 0) reader.expected(hostsPath, "at least one host", object["hosts"]);
  const http = reader.list(object["http"], [...path, "http"]).map((each, i) => readHttpRoute(reader, each, [...path, "http", i], meta.namespace));
  const exportTo = readExportTo(reader, object["exportTo"], [...path, "exportTo"]);
  return { ...meta, ...(exportTo === undefined ? {} : { exportTo }), hosts, http };
}
