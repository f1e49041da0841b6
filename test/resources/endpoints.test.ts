import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import { HealthStatus } from "../../gen/envoy/config/core/v3/health_check_pb.js";
import type { MetadataSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { LbEndpointSchema, LocalityLbEndpointsSchema } from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import {
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
  type ClusterLoadAssignment_PolicySchema,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { FractionalPercent_DenominatorType } from "../../gen/envoy/type/v3/percent_pb.js";
import { endpointsType, validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";

type LbEndpointInit = MessageInitShape<typeof LbEndpointSchema>;
type LocalityInit = MessageInitShape<typeof LocalityLbEndpointsSchema>;

const NAME = "outbound|8080||echo.default.svc.cluster.local";

interface EndpointExtra {
  loadBalancingWeight?: number;
  healthStatus?: HealthStatus;
  metadata?: MessageInitShape<typeof MetadataSchema>;
}

function ep(address: string, port: number, extra: EndpointExtra = {}): LbEndpointInit {
  return {
    hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address, portSpecifier: { case: "portValue", value: port } } } } } },
    ...extra,
  };
}

function cla(endpoints: LocalityInit[], extra: { policy?: MessageInitShape<typeof ClusterLoadAssignment_PolicySchema> } = {}): ClusterLoadAssignment {
  return create(ClusterLoadAssignmentSchema, { clusterName: NAME, endpoints, ...extra });
}

function valid(message: ClusterLoadAssignment): EndpointsModel {
  const result = endpointsType.decode(toBinary(ClusterLoadAssignmentSchema, message));
  if (result.error !== undefined) throw new Error(result.error);
  expect(result.name).to.equal(message.clusterName);
  return result.value;
}

function reason(message: ClusterLoadAssignment): string {
  const result = endpointsType.decode(toBinary(ClusterLoadAssignmentSchema, message));
  expect(result.error, "expected a rejection").to.be.a("string");
  return result.error!;
}

describe("endpoints (EDS ClusterLoadAssignment)", () => {
  it("builds priorities → localities → endpoints with weights, health and usability", () => {
    const model = valid(
      cla([
        {
          locality: { region: "r1", zone: "z1", subZone: "s1" },
          loadBalancingWeight: 3,
          lbEndpoints: [
            ep("10.0.0.1", 8080, { loadBalancingWeight: 5, healthStatus: HealthStatus.HEALTHY }),
            ep("10.0.0.2", 8080, { healthStatus: HealthStatus.DRAINING }),
            ep("fd00::3", 9090),
          ],
        },
        { locality: { region: "r2" }, priority: 1, lbEndpoints: [ep("10.0.1.1", 80, { healthStatus: HealthStatus.UNHEALTHY })] },
      ]),
    );
    expect(model.clusterName).to.equal(NAME);
    expect(model.endpointCount).to.equal(4);
    expect(model.priorities).to.have.length(2);
    const [l0] = model.priorities[0]!;
    expect(l0).to.include({ region: "r1", zone: "z1", subZone: "s1", weight: 3 });
    expect(l0!.endpoints.map((e) => [e.address, e.port, e.weight, e.health, e.usable])).to.deep.equal([
      ["10.0.0.1", 8080, 5, "HEALTHY", true],
      ["10.0.0.2", 8080, 1, "DRAINING", false],
      ["fd00::3", 9090, 1, "UNKNOWN", true],
    ]);
    const [l1] = model.priorities[1]!;
    expect(l1!.weight, "unset locality weight is 0: skipped when localities are weighted").to.equal(0);
    expect(l1!.endpoints[0]).to.include({ health: "UNHEALTHY", usable: false });
    expect(model.overprovisioningFactor).to.equal(140);
    expect(Object.isFrozen(model) && Object.isFrozen(model.priorities) && Object.isFrozen(l0!.endpoints[0])).to.equal(true);
  });

  it("keeps endpoint metadata and shares one frozen empty object when there is none", () => {
    const model = valid(
      cla([
        {
          lbEndpoints: [
            ep("10.0.0.1", 80, { metadata: { filterMetadata: { istio: { workload: "echo-v1" } } } }),
            ep("10.0.0.2", 80),
            ep("10.0.0.3", 80),
          ],
        },
      ]),
    );
    const [a, b, c] = model.priorities[0]![0]!.endpoints;
    expect(a!.metadata).to.deep.equal({ istio: { workload: "echo-v1" } });
    expect(b!.metadata).to.equal(c!.metadata);
    expect(Object.isFrozen(b!.metadata)).to.equal(true);
    expect(b!.additionalAddresses).to.equal(c!.additionalAddresses);
    expect(b!.hostname).to.equal("");
  });

  it("normalises drop_overloads to drops per million", () => {
    const model = valid(
      cla([], {
        policy: {
          dropOverloads: [
            { category: "lb", dropPercentage: { numerator: 5, denominator: FractionalPercent_DenominatorType.HUNDRED } },
            { category: "throttle", dropPercentage: { numerator: 25, denominator: FractionalPercent_DenominatorType.TEN_THOUSAND } },
            { category: "m", dropPercentage: { numerator: 7, denominator: FractionalPercent_DenominatorType.MILLION } },
            { category: "capped", dropPercentage: { numerator: 500, denominator: FractionalPercent_DenominatorType.HUNDRED } },
          ],
          overprovisioningFactor: 200,
        },
      }),
    );
    expect(model.dropOverloads).to.deep.equal([
      { category: "lb", perMillion: 50_000 },
      { category: "throttle", perMillion: 2_500 },
      { category: "m", perMillion: 7 },
      { category: "capped", perMillion: 1_000_000 },
    ]);
    expect(model.overprovisioningFactor).to.equal(200);
  });

  it("rejects a gap in priorities, naming the locality that uses the higher priority", () => {
    const message = cla([
      { locality: { zone: "a" }, lbEndpoints: [ep("10.0.0.1", 80)] },
      { locality: { zone: "b" }, priority: 2, lbEndpoints: [ep("10.0.0.2", 80)] },
    ]);
    expect(reason(message)).to.equal(
      `cluster load assignment "${NAME}": endpoints[1].priority: priority 2 is used but priority 1 has no locality (priorities must be contiguous from 0)`,
    );
  });

  it("rejects priorities that do not start at 0", () => {
    expect(reason(cla([{ priority: 1, lbEndpoints: [ep("10.0.0.1", 80)] }]))).to.contain(
      "endpoints[0].priority: priority 1 is used but priority 0 has no locality",
    );
  });

  it("rejects a hostname where an IP is required, naming the field path", () => {
    expect(reason(cla([{ lbEndpoints: [ep("10.0.0.1", 80), ep("echo.default", 80)] }]))).to.equal(
      `cluster load assignment "${NAME}": endpoints[0].lb_endpoints[1].endpoint.address.socket_address.address: must be an IPv4 or IPv6 address, got "echo.default"`,
    );
  });

  it("rejects ports outside 1..65535 and named ports", () => {
    expect(reason(cla([{ lbEndpoints: [ep("10.0.0.1", 0)] }]))).to.contain(
      "endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value: must be in 1..65535, got 0",
    );
    const named = cla([{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: "10.0.0.1", portSpecifier: { case: "namedPort", value: "http" } } } } } } }] }]);
    expect(reason(named)).to.contain("socket_address.port_value: is required (named ports are not supported)");
  });

  it("rejects an endpoint weight of 0 when it is set", () => {
    expect(reason(cla([{ lbEndpoints: [ep("10.0.0.1", 80, { loadBalancingWeight: 0 })] }]))).to.contain(
      "endpoints[0].lb_endpoints[0].load_balancing_weight: must be at least 1 when set",
    );
  });

  it("rejects a duplicate address anywhere in the assignment, including other localities", () => {
    const message = cla([
      { locality: { zone: "a" }, lbEndpoints: [ep("10.0.0.1", 80)] },
      { locality: { zone: "b" }, lbEndpoints: [ep("10.0.0.2", 80), ep("10.0.0.1", 80)] },
    ]);
    expect(reason(message)).to.contain("endpoints[1].lb_endpoints[1].endpoint.address: duplicate address 10.0.0.1 port 80");
    expect(valid(cla([{ lbEndpoints: [ep("10.0.0.1", 80), ep("10.0.0.1", 81)] }])).endpointCount).to.equal(2);
  });

  it("rejects the same locality twice in one priority but allows it in another priority", () => {
    const dup = cla([
      { locality: { zone: "a" }, lbEndpoints: [ep("10.0.0.1", 80)] },
      { locality: { zone: "a" }, lbEndpoints: [ep("10.0.0.2", 80)] },
    ]);
    expect(reason(dup)).to.contain('endpoints[1].locality: duplicate locality "/a/" in priority 0');
    const ok = cla([
      { locality: { zone: "a" }, lbEndpoints: [ep("10.0.0.1", 80)] },
      { locality: { zone: "a" }, priority: 1, lbEndpoints: [ep("10.0.0.2", 80)] },
    ]);
    expect(valid(ok).priorities).to.have.length(2);
  });

  it("rejects a missing address and a non-socket address", () => {
    expect(reason(cla([{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: {} } }] }]))).to.contain(
      "endpoints[0].lb_endpoints[0].endpoint.address: is required",
    );
    const pipe = cla([{ lbEndpoints: [{ hostIdentifier: { case: "endpoint", value: { address: { address: { case: "pipe", value: { path: "/x" } } } } } }] }]);
    expect(reason(pipe)).to.contain("endpoint.address: must be a socket_address, got pipe");
  });

  it("validates a 100k-endpoint assignment into a model holding every endpoint", function () {
    this.timeout(60_000); // building and encoding the input is the slow part
    const localities: LocalityInit[] = [];
    for (let l = 0; l < 10; l++) {
      const lbEndpoints: LbEndpointInit[] = [];
      for (let i = 0; i < 10_000; i++) lbEndpoints.push(ep(`10.${l}.${i >> 8}.${i & 255}`, 8080));
      localities.push({ locality: { zone: `z${l}` }, loadBalancingWeight: 1, lbEndpoints });
    }
    const model = valid(cla(localities));
    expect(model.endpointCount).to.equal(100_000);
    expect(model.priorities[0]).to.have.length(10);
    expect(model.priorities[0]![9]!.endpoints[9_999]).to.include({ address: "10.9.39.15", port: 8080, usable: true });
  });

  it("reads each endpoint's address a fixed number of times, however many endpoints there are (no rescans)", () => {
    function readsPerEndpoint(n: number): number {
      const message = cla([{ lbEndpoints: Array.from({ length: n }, (_, i) => ep(`10.1.${i >> 8}.${i & 255}`, 80)) }]);
      let reads = 0;
      for (const lb of message.endpoints[0]!.lbEndpoints) {
        const address = lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value.address : undefined;
        if (address?.address.case !== "socketAddress") throw new Error("unreachable");
        address.address.value = new Proxy(address.address.value, {
          get(target, key, receiver) {
            reads++;
            return Reflect.get(target, key, receiver) as unknown;
          },
        });
      }
      expect(validateClusterLoadAssignment(message, NAME).endpointCount).to.equal(n);
      return reads / n;
    }
    expect(readsPerEndpoint(4_000)).to.equal(readsPerEndpoint(500));
  });
});
