import { create, fromBinary } from "@bufbuild/protobuf";
import { ReplaySubject } from "../rx.js";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { DiscoveryRequest, DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { discoveryModule } from "../transport/ads-transport.js";
import { XdsError } from "../xds-error.js";
import { MAX_REASON_BYTES, truncateUtf8 } from "./error-detail.js";
import { rpcStatusModule } from "./resource-schemas.js";
import type { ResourceType } from "./resource-type.js";
import type { ResourceUpdate } from "./resource-update.js";
import type { ResourceState, ResourceStatus } from "./xds-status.js";

const resourceWrapperUrl = "type.googleapis.com/envoy.service.discovery.v3.Resource";
const invalidArgument = 3; // google.rpc.Code.INVALID_ARGUMENT

/** One watched name: its subscribers, what they hold and its status. */
export class ResourceWatch<V> {
  /** Replays the latest update to each new subscriber. */
  readonly subject = new ReplaySubject<ResourceUpdate<V>>(1);
  /** How many subscribers hold the watch. */
  refs = 0;
  /**
   * The serialized bytes of the value subscribers hold: what CSDS dumps, and how identical re-sends are dropped. A
   * copy, since the received bytes are a view of the whole response's buffer.
   */
  raw: Uint8Array | undefined;
  /** When the value subscribers hold was accepted. */
  acceptedAt: Date | undefined;
  /** The last update emitted. */
  latest: ResourceUpdate<V> | undefined;
  /** Whether a response carried this name (valid or not): only then may a SotW response delete it by omission. */
  received = false;
  /** Whether the name was in a request sent on the current stream. */
  requested = false;
  /** The does-not-exist timer, while one runs. */
  timer: NodeJS.Timeout | undefined;
  status: ResourceStatus;

  constructor(readonly typeUrl: string, readonly name: string) {
    this.status = { typeUrl, name, state: "REQUESTED", version: "", updatedAt: new Date() };
  }

  /** Whether subscribers hold nothing that came from the control plane: no value, no absence, no rejection. */
  get waiting(): boolean {
    return this.latest === undefined || this.latest.error?.code === "CONTROL_PLANE_UNAVAILABLE";
  }

  /** Emits a value to subscribers; `raw` is its serialized bytes, kept as they are. */
  emit(version: string, resource: V, raw: Uint8Array): void {
    this.raw = raw;
    this.latest = { typeUrl: this.typeUrl, name: this.name, version, resource };
    this.subject.next(this.latest);
  }

  /** Emits an error in place of a value (gRFC A88's resource error), unless subscribers already see the same one. */
  emitError(version: string, error: XdsError): void {
    if (this.latest?.error?.code === error.code && this.latest.error.message === error.message) return;
    this.raw = undefined;
    this.latest = { typeUrl: this.typeUrl, name: this.name, version, resource: undefined, error };
    this.subject.next(this.latest);
  }

  /** Records a new status. */
  setStatus(state: ResourceState, version: string, details: { rejected?: { version: string; reason: string }; error?: string } = {}): void {
    const { rejected, error } = details;
    this.status = {
      typeUrl: this.typeUrl,
      name: this.name,
      state,
      version,
      ...(rejected === undefined ? {} : { rejectedVersion: rejected.version, reason: rejected.reason }),
      ...(error === undefined ? {} : { error }),
      updatedAt: new Date(),
    };
  }

  /** Marks the resource as not existing; true when that is news (subscribers are told when they held something else). */
  markAbsent(version: string): boolean {
    this.stopTimer();
    if (this.status.state === "DOES_NOT_EXIST") return false;
    this.setStatus("DOES_NOT_EXIST", version);
    if (this.latest === undefined || this.latest.resource !== undefined || this.latest.error !== undefined) {
      this.raw = undefined;
      this.latest = { typeUrl: this.typeUrl, name: this.name, version, resource: undefined };
      this.subject.next(this.latest);
    }
    return true;
  }

  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** What applying one response found. */
export interface ApplyResult {
  /** One line per rejected resource a watch needs (or whose name could not be read), naming it and why: the NACK's reasons. */
  readonly errors: readonly string[];
  /** One line per invalid resource nobody watches: ignored, not NACKed. */
  readonly ignored: readonly string[];
  /** The watched names this response deleted by omission. */
  readonly deleted: readonly string[];
}

/** The SotW state of one resource type on the client: watched names, accepted version, nonce. */
export class TypeSubscription<V> {
  /** The watched names. */
  readonly watches = new Map<string, ResourceWatch<V>>();
  /** The version_info of the last accepted response. */
  acceptedVersion = "";
  /** The nonce of the last response on the current stream. */
  nonce = "";
  /** Whether a request naming resources was sent on the current stream (after that, an empty list means none, not wildcard). */
  namedOnStream = false;

  constructor(readonly type: ResourceType<V>) {}

  /** Forgets what belongs to the old stream: a new stream starts without a nonce. */
  resetStream(): void {
    this.nonce = "";
    this.namedOnStream = false;
    for (const watch of this.watches.values()) {
      watch.requested = false;
      watch.stopTimer();
    }
  }

  /**
   * The request stating the whole subscription on the current stream: an ACK of the last response (with `nack`, a
   * NACK), carrying `node` when given. Undefined while no name was watched on the stream: an empty first request for
   * LDS/CDS would mean wildcard.
   */
  request(nack: string | undefined, node: Node | undefined): DiscoveryRequest | undefined {
    const names = [...this.watches.keys()];
    if (names.length === 0 && !this.namedOnStream) return undefined;
    if (names.length > 0) this.namedOnStream = true;
    return create(discoveryModule().DiscoveryRequestSchema, {
      versionInfo: this.acceptedVersion,
      responseNonce: this.nonce,
      typeUrl: this.type.typeUrl,
      resourceNames: names,
      ...(nack === undefined ? {} : { errorDetail: create(rpcStatusModule().StatusSchema, { code: invalidArgument, message: nack }) }),
      ...(node === undefined ? {} : { node }),
    });
  }

  /**
   * Tells the watches that hold nothing yet that the control plane cannot be reached (gRFC A57): they emit
   * the error; watches holding a value, an absence or a rejection keep it. Returns how many were told.
   */
  failWaiting(error: XdsError): number {
    let told = 0;
    for (const watch of this.watches.values()) {
      if (!watch.waiting) continue;
      watch.setStatus(watch.status.state, watch.status.version, { error: error.message });
      watch.emitError("", error);
      told++;
    }
    return told;
  }

  /**
   * Applies a SotW response (gRFC A46): emits the watched resources that changed, deletes by omission what
   * was held where the type says so, and rejects the invalid watched ones (their subscribers keep what they
   * held, or see the error when they held nothing). Invalid resources nobody watches are only reported.
   */
  apply(response: DiscoveryResponse, ignoreDeletion: boolean): ApplyResult {
    const { type } = this;
    const version = response.versionInfo;
    const errors: string[] = [];
    const ignored: string[] = [];
    const deleted: string[] = [];
    const seen = new Map<string, { value: V; bytes: Uint8Array } | { error: string }>();
    let unnamedError = false;

    for (const [index, any] of response.resources.entries()) {
      let typeUrl = any.typeUrl;
      let bytes: Uint8Array = any.value;
      let wrappedName: string | undefined;
      if (typeUrl === resourceWrapperUrl) {
        try {
          const wrapper = fromBinary(discoveryModule().ResourceSchema, bytes);
          wrappedName = wrapper.name === "" ? undefined : wrapper.name;
          typeUrl = wrapper.resource?.typeUrl ?? "";
          bytes = wrapper.resource?.value ?? new Uint8Array();
        } catch (e) {
          errors.push(`resource [${index}]: cannot decode envoy.service.discovery.v3.Resource: ${String(e)}`);
          unnamedError = true;
          continue;
        }
      }
      let outcome: { value: V; bytes: Uint8Array } | { error: string };
      let name = wrappedName;
      if (typeUrl !== type.typeUrl) {
        outcome = { error: `type URL ${typeUrl || "(empty)"} in a response for ${type.typeUrl}` };
      } else {
        const decoded = type.decode(bytes);
        name ??= decoded.name;
        outcome = decoded.error === undefined ? { value: decoded.value, bytes } : { error: decoded.error };
      }
      if (name === undefined) {
        errors.push(`resource [${index}]: ${truncateUtf8((outcome as { error: string }).error, MAX_REASON_BYTES)}`);
        unnamedError = true;
        continue;
      }
      if (!this.watches.has(name)) {
        if ("error" in outcome) ignored.push(`resource "${truncateUtf8(name, 256)}": ${truncateUtf8(outcome.error, MAX_REASON_BYTES)}`);
        continue;
      }
      if (seen.has(name)) outcome = { error: "duplicate name in one response" };
      seen.set(name, outcome);
    }

    for (const [name, outcome] of seen) {
      const watch = this.watches.get(name)!;
      watch.stopTimer();
      watch.received = true;
      if ("error" in outcome) {
        const reason = truncateUtf8(outcome.error, MAX_REASON_BYTES);
        errors.push(`resource "${name}": ${reason}`);
        const held = watch.latest?.resource !== undefined;
        watch.setStatus("NACKED", held ? watch.latest!.version : "", { rejected: { version, reason }, ...(held ? {} : { error: reason }) });
        // gRFC A88: a data error keeps a held value (an ambient error); with nothing held it is what subscribers see.
        if (!held) watch.emitError(version, new XdsError("INVALID_RESOURCE", reason));
        continue;
      }
      watch.setStatus("ACKED", version);
      watch.acceptedAt = watch.status.updatedAt;
      if (watch.raw === undefined || !sameBytes(watch.raw, outcome.bytes)) watch.emit(version, outcome.value, outcome.bytes.slice());
    }

    // SotW omission deletes only what the client holds (as Envoy and gRPC do): a name requested a moment before
    // the server answered an older request is not absent, its does-not-exist timer decides.
    if (type.deletedByOmission && !ignoreDeletion && !unnamedError) {
      for (const watch of this.watches.values()) {
        if (watch.received && !seen.has(watch.name) && watch.markAbsent(version)) deleted.push(watch.name);
      }
    }
    if (errors.length === 0) this.acceptedVersion = version;
    this.nonce = response.nonce;
    return { errors, ignored, deleted };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
