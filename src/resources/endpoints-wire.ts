// A ClusterLoadAssignment read straight from the protobuf wire format into the EndpointsModel, without
// protobuf-es message objects: the common EDS shape (socket addresses, hostnames, additional addresses,
// health, weights, localities, priorities, policy, metadata) in one pass, O(n) in the bytes.
//
// It accepts only what it can read exactly as protobuf-es's generic fromBinary followed by buildEndpoints
// (endpoints.ts) would, and gives the same model. Anything else makes it give up (returns undefined) so that
// the caller takes the generic path, which then gives the result or the rejection message:
// - any rejection (an invalid address, a duplicate, a bad weight, a priority gap, …);
// - malformed or unusual wire data (see wire-reader.ts), and a singular message field that occurs twice
//   (protobuf merges those);
// - known fields the model does not use (named_endpoints, health_check_config, endpoint_name, named_port,
//   resolver_name, proximity, LEDS, locality metadata), which the generic path decodes and validates.
// The rare sub-messages that the model reads whole (policy, an endpoint's metadata) are decoded by protobuf-es
// from their own bytes, with the recursion limit they would have nested, so that they are accepted or refused
// exactly as in the whole message.

import { isIP } from "node:net";
import { AddressSchema, SocketAddressSchema } from "../../gen/envoy/config/core/v3/address_pb.js";
import { LocalitySchema, MetadataSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import {
  Endpoint_AdditionalAddressSchema,
  EndpointSchema,
  LbEndpointSchema,
  LocalityLbEndpointsSchema,
} from "../../gen/envoy/config/endpoint/v3/endpoint_components_pb.js";
import {
  ClusterLoadAssignment_PolicySchema,
  ClusterLoadAssignmentSchema,
  type ClusterLoadAssignment_Policy,
} from "../../gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { addUnique, type SeenAddresses } from "./endpoints-address.js";
import {
  EMPTY_ADDRESSES,
  EMPTY_METADATA,
  filterMetadataOf,
  finishEndpoints,
  HEALTH_NAMES,
  makeEndpoint,
  makeLocality,
  makeSocketAddress,
  PriorityCollector,
  UINT32_MAX,
  type EndpointMetadata,
  type EndpointModel,
  type EndpointsModel,
  type SocketAddressModel,
} from "./endpoints-model.js";
import type { Reject } from "./field-error.js";
import { PackedAddressSet, strictIpv4 } from "./packed-address-set.js";
import { giveUpReading, knownFields, WireReader } from "./wire-reader.js";

// Module-local, as wire-reader.ts explains: the wire types the reader below matches, and giving up.
const VARINT = 0;
const LEN = 2;
const giveUp = giveUpReading;

/** The Reject the shared model builders get here: any rejection means "let the generic path say why". */
const rejectToGeneric: Reject = giveUp;

const CLA_FIELDS = knownFields(ClusterLoadAssignmentSchema);
const GROUP_FIELDS = knownFields(LocalityLbEndpointsSchema);
const LOCALITY_FIELDS = knownFields(LocalitySchema);
const LB_ENDPOINT_FIELDS = knownFields(LbEndpointSchema);
const ENDPOINT_FIELDS = knownFields(EndpointSchema);
const ADDITIONAL_FIELDS = knownFields(Endpoint_AdditionalAddressSchema);
const ADDRESS_FIELDS = knownFields(AddressSchema);
const SOCKET_FIELDS = knownFields(SocketAddressSchema);

/**
 * Reads a serialized ClusterLoadAssignment into its validated model; undefined when the generic path must
 * decide (see the top of this file). Never throws.
 */
export function decodeClusterLoadAssignmentWire(bytes: Uint8Array): EndpointsModel | undefined {
  const reader = new AssignmentReader(bytes);
  try {
    const model = reader.read();
    // A nameless assignment is rejected by the generic path, which says why.
    return model === undefined || model.clusterName === "" ? undefined : model;
  } catch {
    return undefined;
  } finally {
    kept.reader = reader.release();
  }
}

/**
 * The last reader, emptied, until the next decode. V8's optimised reader code refers weakly to objects of the reader's
 * graph: with no reader alive, a major GC collected them and dropped that code, and the next large update (a pod's
 * occasional EDS push, after GCs) ran unoptimised, several times slower (bench: large-endpoint-update-cold).
 */
const kept: { reader?: AssignmentReader } = {};
const NO_BYTES = new Uint8Array(0);
const NO_TEXT = Buffer.alloc(0);

/** What one socket address read gave. */
interface SocketRead {
  address: string;
  port: number;
  /** The address as a uint32 when it is an IPv4 literal in the strict dotted form, else -1. */
  ipv4: number;
}

/** Reads one ClusterLoadAssignment's bytes into its model; gives up wherever the generic path must decide. */
class AssignmentReader extends WireReader {
  private readonly packed: PackedAddressSet;
  /** Addresses that are not strict IPv4 literals (IPv6), keyed by the string as the generic path does. */
  private readonly others: SeenAddresses = new Map();
  /** The socket address last read (reused: one read at a time). */
  private readonly socket: SocketRead = { address: "", port: 0, ipv4: -1 };

  constructor(buf: Uint8Array) {
    super(buf);
    // About 25 bytes per endpoint in the common shape: size the set once for that, growing if needed.
    this.packed = new PackedAddressSet(Math.ceil(buf.length / 24));
  }

  /** Drops what the reader holds of its assignment (bytes, address sets), keeping the reader itself; returns it. */
  release(): this {
    this.buf = NO_BYTES;
    this.text = NO_TEXT;
    this.packed.release();
    this.others.clear();
    return this;
  }

  read(): EndpointsModel {
    const end = this.buf.length;
    const collector = new PriorityCollector("", rejectToGeneric);
    let clusterName = "";
    let policy: ClusterLoadAssignment_Policy | undefined;
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case (1 << 3) | LEN:
          clusterName = this.string(end);
          break;
        case (2 << 3) | LEN:
          this.readGroup(this.lengthEnd(end), collector);
          break;
        case (4 << 3) | LEN:
          if (policy !== undefined) giveUp();
          policy = this.generic(ClusterLoadAssignment_PolicySchema, this.lengthEnd(end), 1);
          break;
        default:
          this.other(tag, CLA_FIELDS, end);
      }
    }
    return finishEndpoints(clusterName, collector, policy, "", rejectToGeneric);
  }

  /** One LocalityLbEndpoints, ending at `end`. */
  private readGroup(end: number, collector: PriorityCollector): void {
    let region = "";
    let zone = "";
    let subZone = "";
    let hasLocality = false;
    let weight: number | undefined;
    let priority = 0;
    const endpoints: EndpointModel[] = [];
    let weightSum = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case (2 << 3) | LEN: {
          const endpoint = this.readLbEndpoint(this.lengthEnd(end));
          weightSum += endpoint.weight;
          if (weightSum > UINT32_MAX) giveUp();
          endpoints.push(endpoint);
          break;
        }
        case (1 << 3) | LEN: {
          if (hasLocality) giveUp();
          hasLocality = true;
          const localityEnd = this.lengthEnd(end);
          while (this.pos < localityEnd) {
            const field = this.tag(localityEnd);
            if (field === ((1 << 3) | LEN)) region = this.string(localityEnd);
            else if (field === ((2 << 3) | LEN)) zone = this.string(localityEnd);
            else if (field === ((3 << 3) | LEN)) subZone = this.string(localityEnd);
            else this.other(field, LOCALITY_FIELDS, localityEnd);
          }
          break;
        }
        case (3 << 3) | LEN:
          if (weight !== undefined) giveUp();
          weight = this.uint32Value(this.lengthEnd(end));
          break;
        case (5 << 3) | VARINT:
          priority = this.varint32(end);
          break;
        default:
          this.other(tag, GROUP_FIELDS, end);
      }
    }
    collector.add(priority, makeLocality(region, zone, subZone, weight ?? 0, endpoints));
  }

  /** One LbEndpoint, ending at `end`: its model, or give up if the generic path would reject it. */
  private readLbEndpoint(end: number): EndpointModel {
    let hasEndpoint = false;
    let address = "";
    let port = 0;
    let hostname = "";
    let additional: SocketAddressModel[] | undefined;
    let health = 0;
    let weight: number | undefined;
    let metadata: EndpointMetadata | undefined;
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case (1 << 3) | LEN: {
          if (hasEndpoint) giveUp();
          hasEndpoint = true;
          const endpointEnd = this.lengthEnd(end);
          let hasAddress = false;
          while (this.pos < endpointEnd) {
            const field = this.tag(endpointEnd);
            if (field === ((1 << 3) | LEN)) {
              if (hasAddress) giveUp();
              hasAddress = true;
              this.readAddress(this.lengthEnd(endpointEnd));
              address = this.socket.address;
              port = this.socket.port;
              this.addUnique();
            } else if (field === ((3 << 3) | LEN)) {
              hostname = this.string(endpointEnd);
            } else if (field === ((4 << 3) | LEN)) {
              (additional ??= []).push(this.readAdditionalAddress(this.lengthEnd(endpointEnd)));
            } else {
              this.other(field, ENDPOINT_FIELDS, endpointEnd);
            }
          }
          if (!hasAddress) giveUp();
          break;
        }
        case (2 << 3) | VARINT:
          health = this.varint32(end) | 0;
          break;
        case (4 << 3) | LEN:
          if (weight !== undefined) giveUp();
          weight = this.uint32Value(this.lengthEnd(end));
          break;
        case (3 << 3) | LEN:
          if (metadata !== undefined) giveUp();
          // LbEndpoint.metadata sits at depth 4 (assignment, locality group, endpoint, metadata).
          metadata = filterMetadataOf(this.generic(MetadataSchema, this.lengthEnd(end), 3).filterMetadata);
          break;
        default:
          this.other(tag, LB_ENDPOINT_FIELDS, end);
      }
    }
    if (!hasEndpoint || weight === 0 || health < 0 || health >= HEALTH_NAMES.length) giveUp();
    return makeEndpoint(
      address,
      port,
      weight ?? 1,
      HEALTH_NAMES[health]!,
      hostname,
      metadata ?? EMPTY_METADATA,
      additional === undefined ? EMPTY_ADDRESSES : Object.freeze(additional),
    );
  }

  /** An Endpoint.AdditionalAddress, ending at `end`. */
  private readAdditionalAddress(end: number): SocketAddressModel {
    let hasAddress = false;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === ((1 << 3) | LEN)) {
        if (hasAddress) giveUp();
        hasAddress = true;
        this.readAddress(this.lengthEnd(end));
      } else {
        this.other(tag, ADDITIONAL_FIELDS, end);
      }
    }
    if (!hasAddress) giveUp();
    this.addUnique();
    return makeSocketAddress(this.socket.address, this.socket.port);
  }

  /** Rejects (gives up on) a second use of the socket address last read. */
  private addUnique(): void {
    const { address, port, ipv4 } = this.socket;
    if (ipv4 >= 0) {
      if (!this.packed.add(ipv4, port)) giveUp();
    } else {
      addUnique(this.others, address, port, "", rejectToGeneric);
    }
  }

  /** An Address that must be a valid socket address (IP literal, port 1..65535), into `this.socket`. */
  private readAddress(end: number): void {
    let hasSocket = false;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === ((1 << 3) | LEN)) {
        if (hasSocket) giveUp();
        hasSocket = true;
        this.readSocketAddress(this.lengthEnd(end));
      } else {
        this.other(tag, ADDRESS_FIELDS, end);
      }
    }
    if (!hasSocket) giveUp();
  }

  private readSocketAddress(end: number): void {
    const socket = this.socket;
    let addressStart = 0;
    let addressEnd = 0;
    let port = -1;
    while (this.pos < end) {
      const tag = this.tag(end);
      switch (tag) {
        case (2 << 3) | LEN:
          addressEnd = this.lengthEnd(end);
          addressStart = this.pos;
          this.pos = addressEnd;
          break;
        case (3 << 3) | VARINT:
          port = this.varint32(end);
          break;
        case (1 << 3) | VARINT: // protocol
        case (6 << 3) | VARINT: // ipv4_compat
          this.varint32(end);
          break;
        default:
          this.other(tag, SOCKET_FIELDS, end);
      }
    }
    if (port < 1 || port > 65535) giveUp();
    const ipv4 = strictIpv4(this.buf, addressStart, addressEnd);
    if (ipv4 >= 0) {
      socket.address = this.text.toString("latin1", addressStart, addressEnd);
    } else {
      socket.address = this.stringAt(addressStart, addressEnd);
      if (isIP(socket.address) === 0) giveUp();
    }
    socket.port = port;
    socket.ipv4 = ipv4;
  }
}
