// EnvoyFilter in rxds serve: what is read and checked as istiod checks it, which patches are applied to which views'
// listeners (istiod's semantics), what is warned about, and the inbound listeners that SIDECAR_INBOUND patches apply to.
import { clone, create, toJson, type Message } from "@bufbuild/protobuf";
import { AnySchema, anyUnpack } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { TrafficDirection } from "../../../gen/envoy/config/core/v3/base_pb.js";
import { ListenerSchema, type Listener } from "../../../gen/envoy/config/listener/v3/listener_pb.js";
import type { HttpConnectionManager } from "../../../gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ThriftProxySchema, type ThriftProxy } from "../../../gen/envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy_pb.js";
import { applyOperation, patchListener } from "../../../src/server/config/envoy-filter-patch.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import type { TranslationOptions } from "../../../src/server/config/view-translation.js";
import { listenerTypeUrl, xdsResourceRegistry, type XdsResources } from "../../../src/server/config/xds-resources.js";
import { errorOf } from "../../support/mesh-config-text.js";
import { chainsOf, kitexExamplesRoutes, rateLimitFilter, thriftProxyFilter } from "../../support/envoy-filters.js";

/** kitex-server in namespace proxyless: VIP 10.96.73.130, a TCP port 8888 and an HTTP port 8080; v1 on 10.0.0.1, v2 on 10.0.0.2. */
const services = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: kitex-server, namespace: proxyless}
spec:
  hosts: [kitex-server]
  addresses: [10.96.73.130]
  ports: [{number: 8888, name: thrift, protocol: TCP}, {number: 8080, name: http, protocol: HTTP}]
  endpoints:
  - {address: 10.0.0.1, ports: {thrift: 9001, http: 9081}, labels: {app.kubernetes.io/name: kitex-server, version: v1}}
  - {address: 10.0.0.2, ports: {thrift: 9002, http: 9082}, labels: {app.kubernetes.io/name: kitex-server, version: v2}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: proxyless}
spec:
  hosts: [echo]
  ports: [{number: 7070, name: grpc, protocol: GRPC}]
  endpoints: [{address: 10.0.0.1, ports: {grpc: 17070}, labels: {app.kubernetes.io/name: echo}}]
`;

const thriftFilter = thriftProxyFilter("10.96.73.130_8888", kitexExamplesRoutes("proxyless"), "proxyless");

/** A view of a client in proxyless on 10.0.0.1 (the v1 instance's address). */
const onV1: TranslationOptions = { clientNamespace: "proxyless", clientAddress: "10.0.0.1" };

function sidecar(documents: string[], options: TranslationOptions = onV1): XdsResources {
  return translateForSidecar(parseMeshConfig(documents.join("---\n"), "mesh.yaml"), options);
}

function listener(resources: XdsResources, name: string): Listener {
  const found = resources.get(listenerTypeUrl)?.get(name);
  expect(found, `listener ${name}`).to.not.equal(undefined);
  return found as Listener;
}

function unpack<T extends Message>(listener: Listener, chain = 0, filter = 0): T {
  const config = listener.filterChains[chain]?.filters[filter]?.configType;
  return anyUnpack(config?.case === "typedConfig" ? config.value : undefined!, xdsResourceRegistry) as T;
}

function envoyFilter(patch: string, extra = ""): string {
  return `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef, namespace: proxyless}
spec:${extra}
  configPatches:
${patch}`;
}

describe("EnvoyFilter in rxds serve", () => {
  describe("what is read", () => {
    it("KitexThriftProxy: kitex-examples' patch is one NETWORK_FILTER REPLACE of the tcp_proxy of <clusterIP>_<port>, its Envoy JSON value decoded", () => {
      const config = parseMeshConfig([services, thriftFilter].join("---\n"), "mesh.yaml");
      const [filter] = config.envoyFilters;
      expect(filter?.patches).to.have.length(1);
      const patch = filter!.patches[0]!;
      expect(patch).to.deep.include({ applyTo: "NETWORK_FILTER", operation: "REPLACE", context: "ANY" });
      expect(patch.listener).to.deep.equal({ name: "10.96.73.130_8888", filterChain: { filter: { name: "envoy.filters.network.tcp_proxy" } } });
      const value = patch.value!;
      expect(value.name).to.equal("envoy.filters.network.thrift_proxy");
      const proxy = anyUnpack(value.configType.case === "typedConfig" ? value.configType.value : undefined!, xdsResourceRegistry) as ThriftProxy;
      expect(toJson(ThriftProxySchema, proxy)).to.deep.include({ statPrefix: "10.96.73.130_8888", thriftFilters: [{ name: "envoy.filters.thrift.router" }] });
      expect(proxy.routeConfig?.routes[1]?.match?.headers[0]?.headerMatchSpecifier).to.deep.equal({ case: "exactMatch", value: "canary" });
      expect(config.warnings).to.deep.equal([
        "mesh.yaml: document 3 (EnvoyFilter thrift-proxy): applied to sidecar-mode clients only: GENERATOR=grpc clients get no EnvoyFilter patch, as istiod's gRPC generator ignores EnvoyFilter",
      ]);
    });

    it("NotApplied: each patch rxds serve does not apply is accepted with a warning naming it and why; the others apply", () => {
      const text = envoyFilter(`  - applyTo: CLUSTER
    match: {context: SIDECAR_OUTBOUND, cluster: {service: kitex-server.proxyless.svc.cluster.local}}
    patch: {operation: MERGE, value: {outlier_detection: {failure_percentage_threshold: 10}}}
  - applyTo: HTTP_ROUTE
    match: {routeConfiguration: {vhost: {name: "kitex-server.proxyless.svc.cluster.local:8080"}}}
    patch: {operation: MERGE, value: {route: {retryPolicy: {numRetries: 3}}}}
  - applyTo: HTTP_FILTER
    match: {listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}, proxy: {proxyVersion: "^1\\\\.2.*"}}
    patch: {operation: INSERT_FIRST, value: {name: envoy.filters.http.fault}}
  - applyTo: HTTP_FILTER
    match: {context: GATEWAY}
    patch: {operation: ADD, value: {name: envoy.filters.http.fault}}
  - applyTo: HTTP_FILTER
    patch: {operation: ADD, value: {name: envoy.lua, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua, inlineCode: "x"}}}
  - applyTo: NETWORK_FILTER
    patch: {operation: MERGE, value: {name: envoy.filters.network.tcp_proxy}}
  - applyTo: HTTP_FILTER
    patch: {operation: REMOVE}
    match: {listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.fault}}}}}
`);
      const config = parseMeshConfig(text, "mesh.yaml");
      const where = "mesh.yaml: document 1 (EnvoyFilter ef)";
      expect(config.warnings).to.deep.equal([
        `${where}: spec.configPatches[0] accepted but not applied: rxds serve applies NETWORK_FILTER and HTTP_FILTER patches that ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE a filter, not CLUSTER MERGE`,
        `${where}: spec.configPatches[1] accepted but not applied: rxds serve applies NETWORK_FILTER and HTTP_FILTER patches that ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE a filter, not HTTP_ROUTE MERGE`,
        `${where}: spec.configPatches[2] accepted but not applied: match.proxy: rxds serve does not know each proxy's version and metadata`,
        `${where}: spec.configPatches[3] accepted but not applied: context GATEWAY: rxds serve serves no gateways or waypoints`,
        `${where}: spec.configPatches[4] accepted but not applied: rxds serve does not know the type type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua`,
        `${where}: spec.configPatches[5] accepted but not applied: rxds serve applies NETWORK_FILTER and HTTP_FILTER patches that ADD, REMOVE, INSERT_BEFORE, INSERT_AFTER, INSERT_FIRST, REPLACE a filter, not NETWORK_FILTER MERGE`,
        `${where}: applied to sidecar-mode clients only: GENERATOR=grpc clients get no EnvoyFilter patch, as istiod's gRPC generator ignores EnvoyFilter`,
      ]);
      expect(config.envoyFilters[0]?.patches.map((p) => [p.applyTo, p.operation, p.listener?.filterChain?.filter?.subFilter])).to.deep.equal([["HTTP_FILTER", "REMOVE", "envoy.filters.http.fault"]]);
    });

    it("TargetRefs: an EnvoyFilter with targetRefs applies to no sidecar, as in istiod, and says so", () => {
      const config = parseMeshConfig(envoyFilter("  - {applyTo: HTTP_FILTER, patch: {operation: ADD, value: {name: envoy.filters.http.fault}}}\n", "\n  targetRefs: [{kind: Gateway, name: gw}]"), "mesh.yaml");
      expect(config.envoyFilters[0]?.patches).to.deep.equal([]);
      expect(config.warnings).to.deep.equal(["mesh.yaml: document 1 (EnvoyFilter ef): spec.targetRefs: accepted but not applied: istiod applies an EnvoyFilter with targetRefs to no sidecar, so none of its patches is applied"]);
    });

    it("EmptySelector: a workloadSelector without labels selects every workload of the namespace, with a warning", () => {
      const config = parseMeshConfig(envoyFilter("  - {applyTo: HTTP_FILTER, patch: {operation: ADD, value: {name: envoy.filters.http.fault}}}\n", "\n  workloadSelector: {labels: {}}"), "mesh.yaml");
      expect(config.envoyFilters[0]?.workloadSelector).to.equal(undefined);
      expect(config.warnings[0]).to.equal("mesh.yaml: document 1 (EnvoyFilter ef): spec.workloadSelector has no labels: applied to every workload of namespace proxyless");
    });

    const invalid: [string, string, string][] = [
      ["a patch without applyTo", "  - {patch: {operation: ADD, value: {name: x}}}\n", "spec.configPatches[0].applyTo: expected one of LISTENER, FILTER_CHAIN, NETWORK_FILTER, HTTP_FILTER"],
      ["an unknown operation", "  - {applyTo: HTTP_FILTER, patch: {operation: PREPEND, value: {name: x}}}\n", "spec.configPatches[0].patch.operation: expected one of MERGE, ADD, REMOVE"],
      ["an ADD without a value", "  - {applyTo: HTTP_FILTER, patch: {operation: ADD}}\n", "spec.configPatches[0].patch.value: a patch other than REMOVE needs a value"],
      [
        "a filter match without a name",
        "  - {applyTo: NETWORK_FILTER, match: {listener: {filterChain: {filter: {}}}}, patch: {operation: REMOVE}}\n",
        "spec.configPatches[0].match.listener.filterChain.filter.name: a filter match needs the name of the filter to match",
      ],
      [
        "a subFilter match for a NETWORK_FILTER patch",
        "  - {applyTo: NETWORK_FILTER, match: {listener: {filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: x}}}}}, patch: {operation: REMOVE}}\n",
        "match.listener.filterChain.filter.subFilter: a subFilter match is for applyTo HTTP_FILTER only",
      ],
      [
        "a subFilter match in a filter other than the connection manager",
        "  - {applyTo: HTTP_FILTER, match: {listener: {filterChain: {filter: {name: envoy.filters.network.tcp_proxy, subFilter: {name: x}}}}}, patch: {operation: REMOVE}}\n",
        "subFilter: a subFilter match needs the filter match to name envoy.filters.network.http_connection_manager",
      ],
      ["a cluster match for an HTTP_FILTER patch", "  - {applyTo: HTTP_FILTER, match: {cluster: {name: c}}, patch: {operation: REMOVE}}\n", "spec.configPatches[0].match.cluster: applyTo HTTP_FILTER cannot have a cluster match"],
      ["a field EnvoyFilter does not have", "  - {applyTo: HTTP_FILTER, match: {listener: {port: 80}}, patch: {operation: REMOVE}}\n", 'spec.configPatches[0].match.listener.port: unknown field "port"'],
      [
        "a value that is not the filter's JSON",
        "  - {applyTo: HTTP_FILTER, patch: {operation: ADD, value: {name: x, typed_config: {'@type': type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit, stat_prefx: y}}}}\n",
        "spec.configPatches[0].patch.value: not a valid envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter in proto3 JSON",
      ],
      ["a filter without a name", "  - {applyTo: NETWORK_FILTER, patch: {operation: INSERT_FIRST, value: {typed_config: {'@type': type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy}}}}\n", "spec.configPatches[0].patch.value.name: expected the filter's name"],
    ];
    for (const [what, patch, message] of invalid) {
      it(`Invalid: ${what} is an error naming the field`, () => {
        const error = errorOf(envoyFilter(patch));
        expect(error).to.include("mesh.yaml: document 1 (EnvoyFilter ef): ").and.include(message);
        expect(error).to.match(/\(line \d+\)$/);
      });
    }
  });

  describe("how a patch changes a filter list (istiod's operations)", () => {
    const list = ["a", "b", "c", "b"];
    const cases: [string, Parameters<typeof applyOperation>[1], string | undefined, string[]][] = [
      ["ADD appends", "ADD", undefined, ["a", "b", "c", "b", "x"]],
      ["INSERT_FIRST prepends", "INSERT_FIRST", "c", ["x", "a", "b", "c", "b"]],
      ["INSERT_BEFORE goes before the first match", "INSERT_BEFORE", "b", ["a", "x", "b", "c", "b"]],
      ["INSERT_BEFORE without a filter to match goes first", "INSERT_BEFORE", undefined, ["x", "a", "b", "c", "b"]],
      ["INSERT_AFTER goes after the first match", "INSERT_AFTER", "b", ["a", "b", "x", "c", "b"]],
      ["INSERT_AFTER without a filter to match goes last", "INSERT_AFTER", undefined, ["a", "b", "c", "b", "x"]],
      ["REPLACE replaces the first match", "REPLACE", "b", ["a", "x", "c", "b"]],
      ["REMOVE removes every match", "REMOVE", "b", ["a", "c"]],
    ];
    for (const [what, operation, match, expected] of cases) {
      it(what, () => expect(applyOperation([...list], operation, match === undefined ? undefined : (item) => item === match, () => "x")).to.deep.equal(expected));
    }
    it("an operation whose filter matches nothing, and REPLACE or REMOVE without a filter to match, change nothing", () => {
      for (const operation of ["INSERT_BEFORE", "INSERT_AFTER", "REPLACE", "REMOVE"] as const) {
        expect(applyOperation(list, operation, (item) => item === "z", () => "x")).to.equal(list);
      }
      for (const operation of ["REPLACE", "REMOVE"] as const) expect(applyOperation(list, operation, undefined, () => "x")).to.equal(list);
    });
  });

  describe("which filter chains a patch matches", () => {
    const chains = create(ListenerSchema, {
      name: "l",
      address: { address: { case: "socketAddress", value: { address: "0.0.0.0", portSpecifier: { case: "portValue", value: 8080 } } } },
      filterChains: [
        { name: "tls", filterChainMatch: { serverNames: ["a.example"], transportProtocol: "tls", applicationProtocols: ["h2", "http/1.1"] }, filters: [{ name: "f" }] },
        { name: "plain", filterChainMatch: { destinationPort: 9000, transportProtocol: "raw_buffer" }, filters: [{ name: "f" }] },
      ],
      defaultFilterChain: { name: "default", filters: [{ name: "f" }] },
    });
    const cases: [string, string, string[]][] = [
      ["no filterChain match: every chain, the default one too", "{}", ["tls", "plain", "default"]],
      ["filterChain.name", "{name: plain}", ["plain"]],
      ["filterChain.sni", "{sni: a.example}", ["tls"]],
      ["filterChain.transportProtocol", "{transportProtocol: raw_buffer}", ["plain"]],
      ["filterChain.applicationProtocols: all of them", '{applicationProtocols: "h2,http/1.1"}', ["tls"]],
      ["filterChain.applicationProtocols: one missing", '{applicationProtocols: "h2,h3"}', []],
      ["filterChain.destinationPort", "{destinationPort: 9000}", ["plain"]],
    ];
    for (const [what, filterChain, patched] of cases) {
      it(`${what}: ${patched.length === 0 ? "none" : patched.join(", ")}`, () => {
        const config = parseMeshConfig(envoyFilter(`  - {applyTo: NETWORK_FILTER, match: {listener: {portNumber: 8080, filterChain: ${filterChain}}}, patch: {operation: ADD, value: {name: added}}}\n`), "mesh.yaml");
        const listener = clone(ListenerSchema, chains);
        expect(patchListener(listener, config.envoyFilters[0]!.patches)).to.equal(patched.length > 0);
        const all = [...listener.filterChains, listener.defaultFilterChain!];
        expect(all.filter((chain) => chain.filters.some((filter) => filter.name === "added")).map((chain) => chain.name)).to.deep.equal(patched);
      });
    }
    it("listener.name and portNumber: another listener's name or port matches no chain", () => {
      for (const listenerMatch of ["{name: other}", "{portNumber: 8081}"]) {
        const config = parseMeshConfig(envoyFilter(`  - {applyTo: NETWORK_FILTER, match: {listener: ${listenerMatch}}, patch: {operation: ADD, value: {name: added}}}\n`), "mesh.yaml");
        expect(patchListener(clone(ListenerSchema, chains), config.envoyFilters[0]!.patches)).to.equal(false);
      }
    });
  });

  describe("which listeners get which patches", () => {
    it("KitexThriftProxy: the sidecar view's <clusterIP>_<port> listener gets the ThriftProxy in place of its tcp_proxy; the grpc view gets no patch", () => {
      const patched = listener(sidecar([services, thriftFilter]), "10.96.73.130_8888");
      expect(chainsOf(patched)).to.deep.equal([["-", ["envoy.filters.network.thrift_proxy"], []]]);
      expect(unpack<ThriftProxy>(patched).routeConfig?.routes.map((route) => route.match?.matchSpecifier)).to.deep.equal([
        { case: "methodName", value: "SayHello2" },
        { case: "methodName", value: "SayHello2" },
      ]);
      // The other listeners are as without the EnvoyFilter.
      const without = sidecar([services]);
      const withIt = sidecar([services, thriftFilter]);
      for (const [name, message] of without.get(listenerTypeUrl) ?? []) {
        if (name !== "10.96.73.130_8888") expect(withIt.get(listenerTypeUrl)?.get(name), name).to.deep.equal(message);
      }
      const grpc = translateForGrpc(parseMeshConfig([services, thriftFilter].join("---\n"), "mesh.yaml"), onV1);
      expect(grpc).to.deep.equal(translateForGrpc(parseMeshConfig(services, "mesh.yaml"), onV1));
    });

    it("ConnectionManagerForm: the issue's form replaces the HttpConnectionManager of 0.0.0.0_<port> (SIDECAR_OUTBOUND, portNumber), not the inbound chains", () => {
      const filter = envoyFilter(`  - applyTo: NETWORK_FILTER
    match: {context: SIDECAR_OUTBOUND, listener: {portNumber: 8080, filterChain: {filter: {name: envoy.filters.network.http_connection_manager}}}}
    patch:
      operation: REPLACE
      value: {name: envoy.filters.network.thrift_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.thrift_proxy.v3.ThriftProxy, stat_prefix: t}}
`);
      const resources = sidecar([services, filter]);
      expect(chainsOf(listener(resources, "0.0.0.0_8080"))).to.deep.equal([["-", ["envoy.filters.network.thrift_proxy"], []]]);
      expect(chainsOf(listener(resources, "0.0.0.0_7070"))[0]?.[1]).to.deep.equal(["envoy.filters.network.http_connection_manager"]);
      expect(chainsOf(listener(resources, "virtualInbound")).map(([, filters]) => filters[0])).to.not.include("envoy.filters.network.thrift_proxy");
    });

    it("Scope: an EnvoyFilter applies to the views of its namespace; one in istio-system to every namespace's, and to a view whose namespace is not known", () => {
      const other = { clientNamespace: "shop", clientAddress: "10.0.0.1" };
      expect(chainsOf(listener(sidecar([services, thriftFilter], other), "10.96.73.130_8888"))[0]?.[1]).to.deep.equal(["envoy.filters.network.tcp_proxy"]);
      const root = thriftProxyFilter("10.96.73.130_8888", kitexExamplesRoutes("proxyless"), "istio-system");
      for (const options of [other, onV1, {}]) {
        expect(chainsOf(listener(sidecar([services, root], options), "10.96.73.130_8888"))[0]?.[1]).to.deep.equal(["envoy.filters.network.thrift_proxy"]);
      }
      expect(chainsOf(listener(sidecar([services, thriftFilter], {}), "10.96.73.130_8888"))[0]?.[1]).to.deep.equal(["envoy.filters.network.tcp_proxy"]);
    });

    it("KitexRateLimit: kitex's local rate limit goes first in each inbound HttpConnectionManager of the workloads its selector picks, outbound ones untouched", () => {
      const limit = rateLimitFilter({ "app.kubernetes.io/name": "kitex-server" }, 4, "1s", "proxyless");
      const resources = sidecar([services, limit]);
      // 10.0.0.1 serves kitex-server (thrift 9001, http 9081) and echo (17070).
      // PERMISSIVE (no PeerAuthentication): each port has an mTLS chain and a plaintext one, both patched.
      expect(chainsOf(listener(resources, "virtualInbound"))).to.deep.equal(
        [
          [9001, ["envoy.filters.network.tcp_proxy"], []],
          [9081, ["envoy.filters.network.http_connection_manager"], ["envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]],
          [17070, ["envoy.filters.network.http_connection_manager"], ["envoy.filters.http.local_ratelimit", "envoy.filters.http.router"]],
        ].flatMap((chain) => [chain, chain]),
      );
      expect(chainsOf(listener(resources, "0.0.0.0_8080"))[0]?.[2]).to.deep.equal(["envoy.filters.http.fault", "envoy.filters.http.router"]);
      const manager = unpack<HttpConnectionManager>(listener(resources, "virtualInbound"), 2);
      const config = manager.httpFilters[0]?.configType;
      expect(toJson(AnySchema, config?.case === "typedConfig" ? config.value : undefined!, { registry: xdsResourceRegistry })).to.deep.equal({
        "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
        statPrefix: "http_local_rate_limiter",
        tokenBucket: { maxTokens: 4, tokensPerFill: 4, fillInterval: "1s" },
      });
      // A workload is its address: 10.0.0.1's instances include kitex-server's, so each of its chains gets the limit;
      // a selector that no instance there matches picks none.
      expect(chainsOf(listener(sidecar([services, rateLimitFilter({ "app.kubernetes.io/name": "other" }, 4, "1s", "proxyless")]), "virtualInbound"))[2]?.[2]).to.deep.equal(["envoy.filters.http.router"]);
      // A view of a client that is no workload has no inbound listener.
      expect(sidecar([services, limit], { clientNamespace: "proxyless", clientAddress: "10.9.9.9" }).get(listenerTypeUrl)?.has("virtualInbound")).to.equal(false);
    });

    it("InboundMatch: portNumber picks virtualInbound's chains by destination port; subFilter inserts before the filter it names", () => {
      const resources = sidecar([
        services,
        envoyFilter(`  - applyTo: HTTP_FILTER
    match:
      context: SIDECAR_INBOUND
      listener: {portNumber: 9081, filterChain: {filter: {name: envoy.filters.network.http_connection_manager, subFilter: {name: envoy.filters.http.router}}}}
    patch: {operation: INSERT_BEFORE, value: {name: envoy.filters.http.fault, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault}}}
`),
      ]);
      expect(chainsOf(listener(resources, "virtualInbound")).map(([port, , http]) => [port, http])).to.deep.equal(
        [
          [9001, []],
          [9081, ["envoy.filters.http.fault", "envoy.filters.http.router"]],
          [17070, ["envoy.filters.http.router"]],
        ].flatMap((chain) => [chain, chain]),
      );
    });

    it("Order: EnvoyFilters apply by priority, istio-system's first, then in the order of the config; patches in their order", () => {
      const insertFirst = (name: string, namespace: string, priority: number, filters: string[]) => `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  priority: ${priority}
  configPatches:
${filters.map((filter) => `  - {applyTo: HTTP_FILTER, match: {context: SIDECAR_OUTBOUND}, patch: {operation: INSERT_FIRST, value: {name: ${filter}}}}`).join("\n")}
`;
      const resources = sidecar([
        services,
        insertFirst("late", "proxyless", 10, ["p10"]),
        insertFirst("local", "proxyless", 0, ["l1", "l2"]),
        insertFirst("second", "proxyless", 0, ["s1"]),
        insertFirst("root", "istio-system", 0, ["r0"]),
        insertFirst("early", "proxyless", -5, ["m5"]),
      ]);
      // Each INSERT_FIRST goes before those applied earlier: the last applied is first.
      expect(chainsOf(listener(resources, "0.0.0.0_8080"))[0]?.[2]).to.deep.equal(["p10", "s1", "l2", "l1", "r0", "m5", "envoy.filters.http.fault", "envoy.filters.http.router"]);
    });
  });

  describe("the inbound listeners", () => {
    it("Sidecar: virtualInbound holds a chain per port the client's instances listen on, as istiod names and matches them; other namespaces' instances are not the client's", () => {
      const inbound = listener(sidecar([services]), "virtualInbound");
      expect(inbound.trafficDirection).to.equal(TrafficDirection.INBOUND);
      // PERMISSIVE (no PeerAuthentication): per port a chain for TLS connections and one for plaintext ones.
      expect(inbound.filterChains.map((chain) => [chain.name, chain.filterChainMatch?.transportProtocol])).to.deep.equal(
        ["0.0.0.0_9001", "0.0.0.0_9081", "0.0.0.0_17070"].flatMap((name) => [
          [name, "tls"],
          [name, "raw_buffer"],
        ]),
      );
      const manager = unpack<HttpConnectionManager>(inbound, 2);
      expect(manager.statPrefix).to.equal("inbound_0.0.0.0_9081");
      const routes = manager.routeSpecifier.case === "routeConfig" ? manager.routeSpecifier.value : undefined;
      expect(routes?.name).to.equal("inbound|9081||");
      const action = routes?.virtualHosts[0]?.routes[0]?.action;
      expect(action?.case === "route" ? action.value.clusterSpecifier : undefined).to.deep.equal({ case: "cluster", value: "inbound|9081||" });
      expect(sidecar([services], { clientNamespace: "shop", clientAddress: "10.0.0.1" }).get(listenerTypeUrl)?.has("virtualInbound")).to.equal(false);
    });

    it("Grpc: a GENERATOR=grpc client gets gRFC A36 server listeners per port and bound host, with a non-forwarding route and the router", () => {
      const resources = translateForGrpc(parseMeshConfig([services, rateLimitFilter({ "app.kubernetes.io/name": "kitex-server" }, 4, "1s", "proxyless")].join("---\n"), "mesh.yaml"), onV1);
      const names = [...(resources.get(listenerTypeUrl)?.keys() ?? [])].filter((name) => name.includes("9081"));
      expect(names.sort()).to.deep.equal(
        ["0.0.0.0:9081", "10.0.0.1:9081", "[::]:9081"].flatMap((authority) => [`grpc/server?xds.resource.listening_address=${authority}`, `xds.istio.io/grpc/lds/inbound/${authority}`]).sort(),
      );
      const server = listener(resources, "grpc/server?xds.resource.listening_address=0.0.0.0:9081");
      expect(server.address?.address.case === "socketAddress" ? server.address.address.value.portSpecifier.value : 0).to.equal(9081);
      expect(chainsOf(server)).to.deep.equal([["-", ["inbound-hcmplaintext"], ["envoy.filters.http.router"]]]);
      const manager = unpack<HttpConnectionManager>(server);
      const routes = manager.routeSpecifier.case === "routeConfig" ? manager.routeSpecifier.value : undefined;
      expect(routes?.virtualHosts[0]?.routes[0]?.action.case).to.equal("nonForwardingAction");
    });
  });
});
