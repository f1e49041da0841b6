// The writer rxds serve encodes its resources with: its bytes must be the bytes protobuf-es's toBinary writes for the
// message `create()` builds from the same init shape, for every kind of field the translations use.
import { create, toBinary, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import { Cluster_LbPolicy, ClusterSchema } from "../../../gen/envoy/config/cluster/v3/cluster_pb.js";
import { SocketOption_SocketState } from "../../../gen/envoy/config/core/v3/socket_option_pb.js";
import { RouteConfigurationSchema } from "../../../gen/envoy/config/route/v3/route_pb.js";
import { Int32RangeSchema } from "../../../gen/envoy/type/v3/range_pb.js";
import { translateForGrpc } from "../../../src/server/config/grpc-translation.js";
import { parseMeshConfig } from "../../../src/server/config/mesh-config.js";
import { encodeMessage, packMessage } from "../../../src/server/config/message-encoding.js";
import { translateForSidecar } from "../../../src/server/config/sidecar-translation.js";
import { xdsResourceRegistry } from "../../../src/server/config/xds-resources.js";
import { exampleMesh } from "../../fixtures/serve-mesh.js";

function expectAsToBinary<Desc extends DescMessage>(schema: Desc, init: MessageInitShape<Desc>): void {
  expect(Buffer.from(encodeMessage(schema, init)).toString("hex")).to.equal(Buffer.from(toBinary(schema, create(schema, init))).toString("hex"));
}

/** A cluster using most kinds of field: enums, a oneof, uint64 and negative int64, wrappers, Durations, a Struct, bytes, repeated messages. */
function cluster(name: string, text: string, json: Record<string, unknown>, count: number, weight: number): MessageInitShape<typeof ClusterSchema> {
  return {
    name,
    lbPolicy: Cluster_LbPolicy.RING_HASH,
    lbConfig: { case: "ringHashLbConfig", value: { minimumRingSize: BigInt(count) * 4096n } },
    connectTimeout: { seconds: BigInt(-count), nanos: weight },
    circuitBreakers: { thresholds: [{ maxRequests: weight }, { maxRetries: 0 }] },
    commonLbConfig: { healthyPanicThreshold: { value: weight / 3 } },
    metadata: { filterMetadata: { istio: { config: text, ...json } } },
    upstreamBindConfig: {
      sourceAddress: { address: text, portSpecifier: { case: "portValue", value: weight } },
      socketOptions: [{ level: -1n, name: BigInt(-count), value: { case: "bufValue", value: new TextEncoder().encode(text) }, state: SocketOption_SocketState.STATE_LISTENING }],
    },
    loadAssignment: {
      clusterName: name,
      endpoints: [{ lbEndpoints: Array.from({ length: count }, (_, i) => ({ loadBalancingWeight: weight + i })), loadBalancingWeight: 0 }],
    },
  };
}

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small" }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true }), fc.string({ unit: "binary" }), tie("list"), tie("object")),
  list: fc.array(tie("value"), { maxLength: 3 }),
  // "__proto__" is left out: protobuf-es's create() takes it for the object's prototype, not a key.
  object: fc.dictionary(fc.string().filter((key) => key !== "__proto__"), tie("value"), { maxKeys: 3 }),
})).object;

describe("encodeMessage", () => {
  it("EncodesAsToBinary: init shapes of every field kind encode to the bytes toBinary writes for the created message", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), fc.string({ unit: "binary" }), jsonValue, fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (name, text, json, count, weight) => {
        expectAsToBinary(ClusterSchema, cluster(name, text, json as Record<string, unknown>, count, weight));
      }),
      { numRuns: 200 },
    );
  });

  it("EncodesEdges: negative int32, lone surrogates, and lengths of one, two and three bytes", () => {
    expectAsToBinary(Int32RangeSchema, { start: -5, end: 2 ** 31 - 1 });
    expectAsToBinary(ClusterSchema, { name: "\ud800 lone, \udc00 lone, 😀 pair" });
    for (const hosts of [1, 3, 200]) {
      const virtualHosts = Array.from({ length: hosts }, (_, i) => ({ name: `vh-${i}`, domains: [`host-${i}.example.com`, "x".repeat(i)] }));
      expectAsToBinary(RouteConfigurationSchema, { name: "8080", virtualHosts, validateClusters: false, ignorePortInHostMatching: true });
    }
  });

  it("EncodesCreatedMessages: messages built with create() encode as toBinary writes them, defaults left out", () => {
    const message = create(ClusterSchema, { name: "outbound|80||a.b.svc.cluster.local" });
    expect(Buffer.from(encodeMessage(ClusterSchema, message)).equals(Buffer.from(toBinary(ClusterSchema, message)))).to.equal(true);
  });

  it("EncodesTranslations: every resource of the example mesh's views, decoded, encodes back to the bytes served", async () => {
    const config = parseMeshConfig(await exampleMesh({ ports: [18001, 18002] }), "mesh.yaml");
    for (const resources of [translateForGrpc(config), translateForSidecar(config), translateForGrpc(config, { clientNamespace: "default" })]) {
      for (const [typeUrl, byName] of resources) {
        const schema = xdsResourceRegistry.getMessage(typeUrl.slice(typeUrl.lastIndexOf("/") + 1)) as DescMessage;
        for (const message of byName.values()) expect(packMessage(schema, message).value).to.deep.equal(toBinary(schema, message));
      }
    }
  });
});
