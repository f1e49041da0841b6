/**
 * The mTLS mode of a workload's ports, as istiod composes PeerAuthentications (`pilot/pkg/security/authn`): the
 * mesh-wide policy (root namespace istio-system, no selector), then the namespace-wide one (no selector), then a
 * workload one (whose selector labels the workload has), each overriding the mode above it unless UNSET; then the
 * workload policy's `portLevelMtls` entry for the port, unless UNSET. Of several of one scope, the first in the config
 * wins (istiod's oldest). Without any: PERMISSIVE.
 */
import { rootNamespace } from "./istio-names.js";
import type { PeerAuthentication } from "./mesh-config-model.js";
import { selectorMatches } from "./workload-selection.js";

/** The mode a port is served in. */
export type InboundMtls = "DISABLE" | "PERMISSIVE" | "STRICT";

function selects(policy: PeerAuthentication, labels: readonly Readonly<Record<string, string>>[]): boolean {
  const selector = policy.selector;
  return selector !== undefined && labels.some((each) => selectorMatches(each, selector));
}

/**
 * The mode of each of `ports` of a workload of `namespace` (undefined: not known, which gets the mesh-wide policy only)
 * whose instances have `labels`.
 */
export function inboundMtlsModes(
  policies: readonly PeerAuthentication[],
  namespace: string | undefined,
  labels: readonly Readonly<Record<string, string>>[],
  ports: readonly number[],
): InboundMtls[] {
  const mesh = policies.find((policy) => policy.namespace === rootNamespace && policy.selector === undefined);
  const own = namespace === undefined ? [] : policies.filter((policy) => policy.namespace === namespace);
  const space = namespace === rootNamespace ? undefined : own.find((policy) => policy.selector === undefined);
  const workload = own.find((policy) => selects(policy, labels));
  let mode: InboundMtls = "PERMISSIVE";
  for (const policy of [mesh, space, workload]) if (policy !== undefined && policy.mode !== "UNSET") mode = policy.mode;
  return ports.map((port) => {
    const portMode = workload?.portModes.get(port);
    return portMode === undefined || portMode === "UNSET" ? mode : portMode;
  });
}
