// A ClusterLoadAssignment read straight from the protobuf wire format into the EndpointsModel, without
// protobuf-es message objects: the common EDS shape (socket addresses, hostnames, additional addresses,
// health, weights, localities, priorities, policy, metadata) in one pass, O(n) in the bytes.
//
// It accepts only what it can read exactly as protobuf-es's generic fromBinary followed by buildEndpoints
// (endpoints.ts) would, and gives the same model. Anything else makes it give up (returns undefined) so that
// the caller takes the generic path, which then gives the result or the rejection message:
// - any rejection (an invalid address, a duplicate, a bad weight, a priority gap, …);
// - malformed or unusual wire data: a bad tag, a varint over 10 bytes, a length past its message, a group,
//   a known field with an unexpected wire type, a singular message field that occurs twice (protobuf merges
//   those), a string that is not valid UTF-8;
// - known fields the model does not use (named_endpoints, health_check_config, endpoint_name, named_port,
//   resolver_name, proximity, LEDS, locality metadata), which the generic path decodes and validates.
// Fields unknown to the schema are skipped, as protobuf-es does. The rare sub-messages that the model reads
// whole (policy, an endpoint's metadata) are decoded by protobuf-es from their own bytes, with the recursion
// limit they would have nested, so that they are accepted or refused exactly as in the whole message.

import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
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

/** Thrown inside the reader to give up; never escapes it. */
const GIVE_UP: unique symbol = Symbol("give up");
const giveUp = (): never => {
  throw GIVE_UP;
};
/** The Reject the shared model builders get here: any rejection means "let the generic path say why". */
const rejectToGeneric: Reject = giveUp;

const VARINT = 0;
const BIT64 = 1;
const LEN = 2;
const BIT32 = 5;

/** protobuf-es's default recursion limit: a message nested at depth d (the top message is 1) must have d ≤ 100. */
const RECURSION_LIMIT = 100;

/** Field numbers a schema declares: those this reader does not handle make it give up; others are skipped. */
function knownFields(schema: DescMessage): ReadonlySet<number> {
  return new Set(schema.fields.map((f) => f.number));
}
const CLA_FIELDS = knownFields(ClusterLoadAssignmentSchema);
const GROUP_FIELDS = knownFields(LocalityLbEndpointsSchema);
const LOCALITY_FIELDS = knownFields(LocalitySchema);
const LB_ENDPOINT_FIELDS = knownFields(LbEndpointSchema);
const ENDPOINT_FIELDS = knownFields(EndpointSchema);
const ADDITIONAL_FIELDS = knownFields(Endpoint_AdditionalAddressSchema);
const ADDRESS_FIELDS = knownFields(AddressSchema);
const SOCKET_FIELDS = knownFields(SocketAddressSchema);

/** Strict UTF-8, as protobuf-es reads proto3 strings (a leading BOM is dropped, as there). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

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
const NO_KEYS = new Float64Array(0);

/** An IPv4 address and port as one number, ipv4 × 65536 + port (exact in a double), for the duplicate check. */
class PackedAddressSet {
  private keys: Float64Array;
  private mask: number;
  private size = 0;

  constructor(expected: number) {
    let capacity = 64;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Adds a key; false when it was already there. */
  add(ipv4: number, port: number): boolean {
    const key = ipv4 * 65536 + port;
    const keys = this.keys;
    const mask = this.mask;
    let i = hashOf(ipv4, port) & mask;
    for (;;) {
      const k = keys[i]!;
      if (k === key) return false;
      if (k === -1) break;
      i = (i + 1) & mask;
    }
    keys[i] = key;
    if (++this.size * 2 > keys.length) this.grow();
    return true;
  }

  /** Drops the keys (the set is not used again). */
  release(): void {
    this.keys = NO_KEYS;
    this.size = 0;
    this.mask = 0;
  }

  private grow(): void {
    const old = this.keys;
    const keys = new Float64Array(old.length * 2).fill(-1);
    const mask = keys.length - 1;
    for (let j = 0; j < old.length; j++) {
      const key = old[j]!;
      if (key === -1) continue;
      const port = key % 65536;
      let i = hashOf((key - port) / 65536, port) & mask;
      while (keys[i] !== -1) i = (i + 1) & mask;
      keys[i] = key;
    }
    this.keys = keys;
    this.mask = mask;
  }
}

function hashOf(ipv4: number, port: number): number {
  let h = Math.imul(ipv4 ^ Math.imul(port, 0x9e37_79b1), 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}

/** What one socket address read gave. */
interface SocketRead {
  address: string;
  port: number;
  /** The address as a uint32 when it is an IPv4 literal in the strict dotted form, else -1. */
  ipv4: number;
}

class AssignmentReader {
  private pos = 0;
  private text: Buffer;
  private readonly packed: PackedAddressSet;
  /** Addresses that are not strict IPv4 literals (IPv6), keyed by the string as the generic path does. */
  private readonly others: SeenAddresses = new Map();
  /** The socket address last read (reused: one read at a time). */
  private readonly socket: SocketRead = { address: "", port: 0, ipv4: -1 };

  constructor(private buf: Uint8Array) {
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
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

  /** A google.protobuf.UInt32Value ending at `end`: its value (0 when unset, as protobuf-es unboxes it). */
  private uint32Value(end: number): number {
    let value = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === ((1 << 3) | VARINT)) value = this.varint32(end);
      else if (tag >>> 3 === 1) giveUp();
      else this.skip(tag, end);
    }
    return value;
  }

  /**
   * A rarely used sub-message ending at `end`, decoded by protobuf-es from its own bytes; `depth` is the depth of
   * its parent, so that the recursion limit applies as it would to the message nested in the whole.
   */
  private generic<Desc extends DescMessage>(schema: Desc, end: number, depth: number): MessageShape<Desc> {
    const message = fromBinary(schema, this.buf.subarray(this.pos, end), { recursionLimit: RECURSION_LIMIT - depth });
    this.pos = end;
    return message;
  }

  /** A field this reader does not read: skipped when the schema does not know it, else give up. */
  private other(tag: number, known: ReadonlySet<number>, end: number): void {
    if (known.has(tag >>> 3)) giveUp();
    this.skip(tag, end);
  }

  /** Skips an unknown field's value, as protobuf-es would (groups give up). */
  private skip(tag: number, end: number): void {
    switch (tag & 7) {
      case VARINT:
        while (this.pos < end && this.buf[this.pos]! >= 0x80) this.pos++;
        this.pos++;
        break;
      case BIT64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd(end);
        break;
      case BIT32:
        this.pos += 4;
        break;
      default:
        giveUp();
    }
    if (this.pos > end) giveUp();
  }

  /** A tag (field number << 3 | wire type) within `end`, checked as protobuf-es checks it. */
  private tag(end: number): number {
    const b = this.buf[this.pos]!;
    if (b < 0x80 && this.pos < end) {
      this.pos++;
      if (b < 8 || (b & 7) > 5) giveUp();
      return b;
    }
    const start = this.pos;
    const tag = this.varint32(end);
    if (this.pos - start > 5 || (this.pos - start === 5 && this.buf[this.pos - 1]! > 0x0f)) giveUp();
    if (tag >>> 3 === 0 || (tag & 7) > 5) giveUp();
    return tag;
  }

  /** A uint32 varint within `end`, with protobuf-es's reading of longer varints (the low 32 bits). */
  private varint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) giveUp();
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) giveUp();
      b = buf[pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    if (pos >= end) giveUp();
    b = buf[pos++]!;
    result |= (b & 0x0f) << 28;
    for (let read = 5; b >= 0x80; read++) {
      if (read === 10 || pos >= end) giveUp();
      b = buf[pos++]!;
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** Reads a length and returns where the value it prefixes ends, which must be within `end`. */
  private lengthEnd(end: number): number {
    const length = this.varint32(end);
    const valueEnd = this.pos + length;
    if (valueEnd > end) giveUp();
    return valueEnd;
  }

  /** A string field's value within `end`. */
  private string(end: number): string {
    const valueEnd = this.lengthEnd(end);
    const value = this.stringAt(this.pos, valueEnd);
    this.pos = valueEnd;
    return value;
  }

  private stringAt(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(start, end));
    }
    return start === end ? "" : this.text.toString("latin1", start, end);
  }
}

/**
 * The address in buf[start, end) as a uint32 when it is an IPv4 literal in the form node:net's isIP accepts
 * (four decimal octets 0..255, no leading zeros), else -1.
 */
function strictIpv4(buf: Uint8Array, start: number, end: number): number {
  let value = 0;
  let i = start;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= end || buf[i] !== 0x2e) return -1;
      i++;
    }
    const first = i;
    let n = 0;
    while (i < end && i - first < 3) {
      const c = buf[i]! - 0x30;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || n > 255 || (digits > 1 && buf[first] === 0x30)) return -1;
    value = value * 256 + n;
  }
  return i === end ? value : -1;
}
