// The wire reader of ClusterLoadAssignments (src/resources/endpoints-wire.ts) against the generic path
// (protobuf-es fromBinary + validateClusterLoadAssignment): same model for valid input, same rejection
// message for invalid input, whatever the bytes.
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { expect } from "chai";
import fc from "fast-check";
import {
  Endpoint_AdditionalAddressSchema,
  LedsClusterLocalityConfigSchema,
  LocalityLbEndpointsSchema,
  type LbEndpointSchema,
} from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import {
  ClusterLoadAssignment_PolicySchema,
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { messageType, type DecodeResult } from "../../src/client/resource-type.js";
import { endpointsType, validateClusterLoadAssignment, type EndpointsModel } from "../../src/resources/endpoints.js";
import { decodeClusterLoadAssignmentWire } from "../../src/resources/endpoints-wire.js";

type LbEndpointInit = MessageInitShape<typeof LbEndpointSchema>;
type LocalityInit = MessageInitShape<typeof LocalityLbEndpointsSchema>;
type AssignmentInit = MessageInitShape<typeof ClusterLoadAssignmentSchema>;

/** The generic path, as endpointsType was before the wire reader. */
const generic = messageType(ClusterLoadAssignmentSchema, {
  deletedByOmission: false,
  name: (m) => m.clusterName,
  validate: validateClusterLoadAssignment,
});

/** A model as plain data, getters read, so that deep equality compares everything a subscriber can see. */
function plain(model: EndpointsModel): unknown {
  return {
    clusterName: model.clusterName,
    endpointCount: model.endpointCount,
    overprovisioningFactor: model.overprovisioningFactor,
    dropOverloads: model.dropOverloads.map((d) => ({ ...d })),
    frozen: Object.isFrozen(model) && Object.isFrozen(model.priorities) && Object.isFrozen(model.dropOverloads),
    priorities: model.priorities.map((localities) => ({
      frozen: Object.isFrozen(localities),
      localities: localities.map((l) => ({
        region: l.region,
        zone: l.zone,
        subZone: l.subZone,
        weight: l.weight,
        frozen: Object.isFrozen(l) && Object.isFrozen(l.endpoints),
        endpoints: l.endpoints.map((e) => ({
          address: e.address,
          port: e.port,
          weight: e.weight,
          health: e.health,
          usable: e.usable,
          hostname: e.hostname,
          metadata: e.metadata,
          metadataFrozen: Object.isFrozen(e.metadata),
          additionalAddresses: e.additionalAddresses.map((a) => ({ ...a, frozen: Object.isFrozen(a) })),
          frozen: Object.isFrozen(e) && Object.isFrozen(e.additionalAddresses),
        })),
      })),
    })),
  };
}

function plainResult(result: DecodeResult<EndpointsModel>): unknown {
  return result.error === undefined ? { name: result.name, value: plain(result.value) } : { name: result.name, error: result.error };
}

/** Both paths give the same result for `bytes`; returns whether the wire reader took them whole. */
function sameAsGeneric(bytes: Uint8Array): boolean {
  const wire = decodeClusterLoadAssignmentWire(bytes);
  const expected = plainResult(generic.decode(bytes));
  expect(plainResult(endpointsType.decode(bytes))).to.deep.equal(expected);
  if (wire !== undefined) expect({ name: wire.clusterName, value: plain(wire) }).to.deep.equal(expected);
  return wire !== undefined;
}

// Addresses: strict IPv4 (accepted), IPv4 forms node:net refuses, IPv6, and names; a small pool so that duplicates happen.
const addressArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom("10.0.0.1", "10.0.0.2", "0.0.0.0", "255.255.255.255", "192.168.100.200", "10.1.2.3") },
  { weight: 2, arbitrary: fc.constantFrom("fd00::1", "::1", "::ffff:10.0.0.1", "fe80::1%eth0", "2001:db8::8a2e:370:7334") },
  { weight: 1, arbitrary: fc.constantFrom("", "01.2.3.4", "256.0.0.1", "1.2.3", "1.2.3.4.5", "10.0.0.1 ", "host.example", "1.2.3.04", "é.1.2.3") },
  { weight: 1, arbitrary: fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join(".")) },
);
const portArb = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(80, 8080, 9090, 65535, 1) }, { weight: 1, arbitrary: fc.constantFrom(0, 65536, 4_000_000_000) });
const u32Arb = fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constantFrom(0x7fff_ffff, 0xffff_ffff, 0x1000_0000));

const socketArb = fc.record(
  {
    address: addressArb,
    port: fc.oneof({ weight: 9, arbitrary: portArb.map((value) => ({ case: "portValue" as const, value })) }, { weight: 1, arbitrary: fc.constant({ case: "namedPort" as const, value: "http" }) }, { weight: 1, arbitrary: fc.constant(undefined) }),
    resolverName: fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom("", "dns") }),
    protocol: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.constantFrom(0, 1, 7) }),
    ipv4Compat: fc.boolean(),
  },
  { requiredKeys: ["address", "port"] },
);
const addressMessageArb = fc.oneof(
  { weight: 12, arbitrary: socketArb.map((s) => ({ address: { case: "socketAddress" as const, value: { address: s.address, portSpecifier: s.port ?? { case: undefined }, resolverName: s.resolverName ?? "", protocol: (s.protocol ?? 0) as never, ipv4Compat: s.ipv4Compat ?? false } } })) },
  { weight: 1, arbitrary: fc.constant({ address: { case: "pipe" as const, value: { path: "/tmp/s" } } }) },
  { weight: 1, arbitrary: fc.constant({}) },
);

const stringArb = fc.oneof({ weight: 5, arbitrary: fc.constantFrom("", "a", "b") }, { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: "binary" }) });

const lbEndpointArb: fc.Arbitrary<LbEndpointInit> = fc
  .record(
    {
      address: fc.option(addressMessageArb, { freq: 12, nil: undefined }),
      hostname: fc.constantFrom("", "pod-1.example", "ünïcode"),
      additional: fc.array(fc.option(addressMessageArb, { freq: 8, nil: undefined }), { maxLength: 2 }),
      named: fc.boolean(),
      health: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.constantFrom(6, -1, 100) }),
      weight: fc.option(u32Arb, { freq: 2, nil: undefined }),
      metadata: fc.option(
        fc.dictionary(fc.constantFrom("istio", "envoy.lb", ""), fc.dictionary(fc.constantFrom("workload", "n", "deep"), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 2 }), { maxKeys: 2 }),
        { freq: 4, nil: undefined },
      ),
      healthCheck: fc.boolean(),
    },
    { requiredKeys: [] },
  )
  .map((r): LbEndpointInit => {
    if (r.named === true && r.address === undefined) return { hostIdentifier: { case: "endpointName", value: "named" } };
    return {
      hostIdentifier: {
        case: "endpoint",
        value: {
          address: r.address,
          hostname: r.hostname ?? "",
          additionalAddresses: (r.additional ?? []).map((address) => ({ address })),
          healthCheckConfig: r.healthCheck === true && r.named === true ? { portValue: 1 } : undefined,
        },
      },
      healthStatus: r.health ?? 0,
      loadBalancingWeight: r.weight,
      metadata: r.metadata === undefined ? undefined : { filterMetadata: r.metadata as never },
    };
  });

const localityArb: fc.Arbitrary<LocalityInit> = fc
  .record(
    {
      locality: fc.option(fc.record({ region: stringArb, zone: stringArb, subZone: stringArb }), { freq: 5, nil: undefined }),
      lbEndpoints: fc.array(lbEndpointArb, { maxLength: 5 }),
      weight: fc.option(u32Arb, { freq: 2, nil: undefined }),
      priority: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 3, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: fc.constantFrom(2, 7) }),
      rare: fc.constantFrom(undefined, undefined, undefined, undefined, undefined, "proximity", "leds", "metadata"),
    },
    { requiredKeys: ["lbEndpoints"] },
  )
  .map((r): LocalityInit => ({
    locality: r.locality,
    lbEndpoints: r.lbEndpoints,
    loadBalancingWeight: r.weight,
    priority: r.priority ?? 0,
    proximity: r.rare === "proximity" ? 1 : undefined,
    lbConfig: r.rare === "leds" ? { case: "ledsClusterLocalityConfig", value: { ledsCollectionName: "x" } } : { case: undefined },
    metadata: r.rare === "metadata" ? { filterMetadata: { a: { b: 1 } } } : undefined,
  }));

const assignmentArb: fc.Arbitrary<AssignmentInit> = fc
  .record(
    {
      clusterName: fc.oneof({ weight: 5, arbitrary: fc.constant("outbound|8080||echo") }, { weight: 1, arbitrary: fc.string({ maxLength: 8, unit: "grapheme" }) }),
      endpoints: fc.array(localityArb, { maxLength: 4 }),
      policy: fc.option(
        fc.record(
          {
            dropOverloads: fc.array(fc.record({ category: stringArb, dropPercentage: fc.option(fc.record({ numerator: u32Arb, denominator: fc.integer({ min: 0, max: 3 }) }), { nil: undefined }) }), { maxLength: 2 }),
            overprovisioningFactor: fc.option(u32Arb, { nil: undefined }),
          },
          { requiredKeys: [] },
        ),
        { freq: 3, nil: undefined },
      ),
      named: fc.constantFrom(false, false, false, false, true),
    },
    { requiredKeys: ["endpoints"] },
  )
  .map((r): AssignmentInit => ({
    clusterName: r.clusterName ?? "outbound|8080||echo",
    endpoints: r.endpoints,
    policy: r.policy as AssignmentInit["policy"],
    namedEndpoints: r.named === true ? { a: {} } : {},
  }));

/** An assignment that is valid in the common shape: distinct strict IPv4 addresses, good ports, weights and health. */
const commonAssignmentArb: fc.Arbitrary<ClusterLoadAssignment> = fc
  .tuple(
    fc.array(
      fc.record({
        region: fc.constantFrom("r1", "r2", ""),
        zone: fc.string({ maxLength: 4 }),
        weight: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
        endpoints: fc.array(
          fc.record({
            port: fc.integer({ min: 1, max: 65535 }),
            weight: fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
            health: fc.integer({ min: 0, max: 5 }),
            hostname: fc.constantFrom("", "h"),
          }),
          { maxLength: 6 },
        ),
      }),
      { maxLength: 4 },
    ),
    fc.string({ minLength: 1, maxLength: 10 }),
  )
  .map(([groups, clusterName]) => {
    let n = 0;
    return create(ClusterLoadAssignmentSchema, {
      clusterName,
      endpoints: groups.map((g, i) => ({
        locality: { region: g.region, zone: `${g.zone}${i}` },
        loadBalancingWeight: g.weight,
        lbEndpoints: g.endpoints.map((e) => {
          n++;
          const address = n % 3 === 0 ? `fd00::${n.toString(16)}` : `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`;
          return {
            hostIdentifier: { case: "endpoint" as const, value: { address: { address: { case: "socketAddress" as const, value: { address, portSpecifier: { case: "portValue" as const, value: e.port } } } }, hostname: e.hostname } },
            healthStatus: e.health,
            loadBalancingWeight: e.weight,
          };
        }),
      })),
    });
  });

const encode = (init: AssignmentInit): Uint8Array => toBinary(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, init));

/** A byte-level mutation: overwrite, insert, delete, or cut at a position. */
const mutationArb = fc.record({ kind: fc.constantFrom("set", "insert", "delete", "cut"), at: fc.nat(), byte: fc.nat(255) });

function mutate(bytes: Uint8Array, mutations: readonly { kind: string; at: number; byte: number }[]): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    if (m.kind === "set" && at < out.length) out[at] = m.byte;
    else if (m.kind === "insert") out.splice(at, 0, m.byte);
    else if (m.kind === "delete") out.splice(at, 1);
    else if (m.kind === "cut") out = out.slice(0, at);
  }
  return Uint8Array.from(out);
}

describe("endpoints wire reader (against protobuf-es + validation)", () => {
  it("reads valid assignments of the common shape itself, into the same model", () => {
    fc.assert(
      fc.property(commonAssignmentArb, (message) => {
        expect(sameAsGeneric(toBinary(ClusterLoadAssignmentSchema, message)), "taken by the wire reader").to.equal(true);
      }),
      { numRuns: 300 },
    );
  });

  it("rejects a valid assignment with one defect as the generic path does", () => {
    type Lb = ClusterLoadAssignment["endpoints"][number]["lbEndpoints"][number];
    const socketOf = (lb: Lb) => {
      const address = lb.hostIdentifier.case === "endpoint" ? lb.hostIdentifier.value.address?.address : undefined;
      return address?.case === "socketAddress" ? address.value : undefined;
    };
    const defects: Record<string, (m: ClusterLoadAssignment, lb: Lb, i: number) => void> = {
      port0: (_m, lb) => (socketOf(lb)!.portSpecifier = { case: "portValue", value: 0 }),
      port65536: (_m, lb) => (socketOf(lb)!.portSpecifier = { case: "portValue", value: 65536 }),
      noPort: (_m, lb) => (socketOf(lb)!.portSpecifier = { case: undefined }),
      namedPort: (_m, lb) => (socketOf(lb)!.portSpecifier = { case: "namedPort", value: "http" }),
      resolver: (_m, lb) => (socketOf(lb)!.resolverName = "dns"),
      emptyResolver: (_m, lb) => (socketOf(lb)!.resolverName = ""),
      badAddress: (_m, lb) => (socketOf(lb)!.address = "010.0.0.1"),
      emptyAddress: (_m, lb) => (socketOf(lb)!.address = ""),
      weight0: (_m, lb) => (lb.loadBalancingWeight = 0),
      weightHuge: (_m, lb) => (lb.loadBalancingWeight = 0xffff_ffff),
      health6: (_m, lb) => (lb.healthStatus = 6 as never),
      healthNegative: (_m, lb) => (lb.healthStatus = -1 as never),
      named: (_m, lb) => (lb.hostIdentifier = { case: "endpointName", value: "n" }),
      noAddress: (_m, lb) => {
        if (lb.hostIdentifier.case === "endpoint") lb.hostIdentifier.value.address = undefined;
      },
      duplicate: (m, lb) => m.endpoints[0]!.lbEndpoints.push(lb),
      duplicateAdditional: (_m, lb) => {
        if (lb.hostIdentifier.case === "endpoint") lb.hostIdentifier.value.additionalAddresses.push(create(Endpoint_AdditionalAddressSchema, { address: lb.hostIdentifier.value.address }));
      },
      gap: (m, _lb, i) => (m.endpoints[i % m.endpoints.length]!.priority = 2),
      localityWeightHuge: (m) => m.endpoints.forEach((g) => (g.loadBalancingWeight = 0x8000_0000)),
      duplicateLocality: (m) => m.endpoints.push(create(LocalityLbEndpointsSchema, { locality: m.endpoints[0]!.locality })),
      leds: (m) => (m.endpoints[0]!.lbConfig = { case: "ledsClusterLocalityConfig", value: create(LedsClusterLocalityConfigSchema) }),
      factor0: (m) => (m.policy = create(ClusterLoadAssignment_PolicySchema, { overprovisioningFactor: 0 })),
      badDenominator: (m) => (m.policy = create(ClusterLoadAssignment_PolicySchema, { dropOverloads: [{ category: "c", dropPercentage: { numerator: 1, denominator: 9 as never } }] })),
    };
    fc.assert(
      fc.property(commonAssignmentArb, fc.constantFrom(...Object.keys(defects)), fc.nat(), (message, defect, at) => {
        const all = message.endpoints.flatMap((g) => g.lbEndpoints);
        if (all.length === 0) return;
        defects[defect]!(message, all[at % all.length]!, at);
        sameAsGeneric(toBinary(ClusterLoadAssignmentSchema, message));
      }),
      { numRuns: 1500 },
    );
  });

  it("gives the same model or the same rejection as the generic path for random assignments", () => {
    let taken = 0;
    fc.assert(
      fc.property(assignmentArb, (init) => {
        if (sameAsGeneric(encode(init))) taken++;
      }),
      { numRuns: 1500 },
    );
    expect(taken, "some random assignments are taken by the wire reader").to.be.greaterThan(50);
  });

  it("gives the same result as the generic path for mutated bytes", () => {
    fc.assert(
      fc.property(fc.oneof(assignmentArb.map(encode), commonAssignmentArb.map((m) => toBinary(ClusterLoadAssignmentSchema, m))), fc.array(mutationArb, { minLength: 1, maxLength: 3 }), (bytes, mutations) => {
        sameAsGeneric(mutate(bytes, mutations));
      }),
      { numRuns: 3000 },
    );
  });

  it("follows protobuf merging: concatenated encodings, repeated singular fields and unknown fields", () => {
    const unknownFields = fc.constantFrom(
      Uint8Array.of(0xf8, 0x06, 0x01), // field 111 varint
      Uint8Array.of(0x19, 1, 2, 3, 4, 5, 6, 7, 8), // field 3 fixed64 (not in the schema)
      Uint8Array.of(0x1d, 1, 2, 3, 4), // field 3 fixed32
      Uint8Array.of(0x1a, 0x02, 0x08, 0x01), // field 3 length-delimited
      Uint8Array.of(0x1b, 0x1c), // field 3 group
      Uint8Array.of(0x0c), // end group
      Uint8Array.of(0x00), // field 0
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(assignmentArb.map(encode), commonAssignmentArb.map((m) => toBinary(ClusterLoadAssignmentSchema, m)), unknownFields), { minLength: 1, maxLength: 3 }), (parts) => {
        sameAsGeneric(Buffer.concat(parts));
      }),
      { numRuns: 1000 },
    );
  });

  it("reads a sub-message whose singular fields repeat, and nested unknown fields, as protobuf-es does", () => {
    // LbEndpoint with health_status twice (last wins) and an unknown field 15 inside the socket address.
    const socket = [0x12, 0x08, ...Buffer.from("10.0.0.1"), 0x18, 0x50, 0x78, 0x01, 0x18, 0x51];
    const address = [0x0a, socket.length, ...socket];
    const endpoint = [0x0a, address.length, ...address];
    const lb = [0x0a, endpoint.length, ...endpoint, 0x10, 0x02, 0x10, 0x01];
    const group = [0x12, lb.length, ...lb, 0x28, 0x00];
    const bytes = Uint8Array.from([0x0a, 0x01, 0x78, 0x12, group.length, ...group]);
    expect(sameAsGeneric(bytes)).to.equal(true);
    const model = decodeClusterLoadAssignmentWire(bytes)!;
    expect(model.priorities[0]![0]!.endpoints[0]).to.include({ address: "10.0.0.1", port: 81, health: "HEALTHY" });
  });

  it("reads a large assignment into the same model", () => {
    const lbEndpoints: LbEndpointInit[] = [];
    for (let i = 0; i < 5000; i++) {
      lbEndpoints.push({
        hostIdentifier: { case: "endpoint", value: { address: { address: { case: "socketAddress", value: { address: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`, portSpecifier: { case: "portValue", value: 8080 } } } } } },
        loadBalancingWeight: 1,
      });
    }
    const bytes = encode({ clusterName: "big", endpoints: [{ locality: { region: "r" }, loadBalancingWeight: 1, lbEndpoints }] });
    expect(sameAsGeneric(bytes)).to.equal(true);
    // The same endpoint twice at the end: a duplicate address, rejected with the generic message.
    const duplicated = encode({ clusterName: "big", endpoints: [{ lbEndpoints: [...lbEndpoints, lbEndpoints[4321]!] }] });
    expect(sameAsGeneric(duplicated)).to.equal(false);
    expect(endpointsType.decode(duplicated).error).to.match(/endpoints\[0\]\.lb_endpoints\[5000\]\.endpoint\.address: duplicate address 10\.0\.16\.225 port 8080/);
  });
});
