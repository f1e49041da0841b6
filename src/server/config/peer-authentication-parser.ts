/**
 * Reads an Istio PeerAuthentication's spec (`security.istio.io/v1`, `v1beta1`), checked as istiod's validation checks
 * it: `mtls.mode` one of UNSET, DISABLE, PERMISSIVE, STRICT; `portLevelMtls` only on a policy whose selector has labels
 * (a mesh- or namespace-wide policy cannot set it), keyed by port numbers 1..65535. Errors name the field and line.
 */
import type { ConfigObject, ConfigPath, ConfigReader } from "./config-reader.js";
import type { MtlsMode, PeerAuthentication, ResourceMeta } from "./mesh-config-model.js";

const modes: readonly MtlsMode[] = ["UNSET", "DISABLE", "PERMISSIVE", "STRICT"];

function readMode(reader: ConfigReader, value: unknown, path: ConfigPath): MtlsMode {
  if (value === undefined) return "UNSET";
  const object: ConfigObject = reader.object(value, path, ["mode"]);
  return object["mode"] === undefined ? "UNSET" : reader.oneOf(object["mode"], [...path, "mode"], modes);
}

/** A PeerAuthentication from its `spec`; throws an XdsError naming the field. */
export function readPeerAuthentication(reader: ConfigReader, meta: ResourceMeta, spec: unknown): PeerAuthentication {
  const object = reader.object(spec ?? {}, ["spec"], ["selector", "mtls", "portLevelMtls"]);
  let selector: Readonly<Record<string, string>> | undefined;
  if (object["selector"] !== undefined) {
    const read = reader.object(object["selector"], ["spec", "selector"], ["matchLabels"]);
    const labels = reader.stringMap(read["matchLabels"], ["spec", "selector", "matchLabels"]);
    if (Object.keys(labels).length > 0) selector = labels;
  }
  const mode = readMode(reader, object["mtls"], ["spec", "mtls"]);
  const portModes = new Map<number, MtlsMode>();
  if (object["portLevelMtls"] !== undefined) {
    const ports = reader.mapping(object["portLevelMtls"], ["spec", "portLevelMtls"]);
    if (Object.keys(ports).length > 0 && selector === undefined) {
      reader.fail(["spec", "portLevelMtls"], "a mesh- or namespace-wide PeerAuthentication (no selector labels) cannot set port-level mTLS");
    }
    for (const [key, value] of Object.entries(ports)) {
      const port = /^[0-9]+$/.test(key) ? Number(key) : NaN;
      if (!Number.isInteger(port) || port < 1 || port > 65535) reader.expected(["spec", "portLevelMtls", key], "a port number 1..65535 as key", key);
      portModes.set(port, readMode(reader, value, ["spec", "portLevelMtls", key]));
    }
  }
  return { ...meta, ...(selector === undefined ? {} : { selector }), mode, portModes };
}
