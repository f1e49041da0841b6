import { fromBinary } from "@bufbuild/protobuf";
import { createHash } from "node:crypto";
import { ReplaySubject } from "rxjs";
import { ResourceSchema, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { ResourceType } from "./resource-type.js";
import type { ResourceUpdate } from "./resource-update.js";
import type { ResourceState, ResourceStatus } from "./xds-status.js";

const resourceWrapperUrl = `type.googleapis.com/${ResourceSchema.typeName}`;

/** One watched name: its subscribers, its latest good value and its status. */
export class ResourceWatch<V> {
  /** Replays the latest update to each new subscriber. */
  readonly subject = new ReplaySubject<ResourceUpdate<V>>(1);
  /** How many subscribers hold the watch. */
  refs = 0;
  /**
   * A fingerprint of the serialized bytes of the value subscribers hold (their length and SHA-256), to drop
   * identical re-sends without keeping the bytes: they are often a view of the whole response's buffer.
   */
  fingerprint: string | undefined;
  /** The last update emitted. */
  latest: ResourceUpdate<V> | undefined;
  /** Whether the name was in a request sent on the current stream. */
  requested = false;
  /** The does-not-exist timer, while one runs. */
  timer: NodeJS.Timeout | undefined;
  status: ResourceStatus;

  constructor(readonly typeUrl: string, readonly name: string) {
    this.status = { typeUrl, name, state: "REQUESTED", version: "", updatedAt: new Date() };
  }

  /** Emits an update to subscribers. */
  emit(version: string, resource: V | undefined, fingerprint: string | undefined): void {
    this.fingerprint = fingerprint;
    this.latest = { typeUrl: this.typeUrl, name: this.name, version, resource };
    this.subject.next(this.latest);
  }

  /** Records a new status. */
  setStatus(state: ResourceState, version: string, rejected?: { version: string; reason: string }): void {
    this.status = rejected
      ? { typeUrl: this.typeUrl, name: this.name, state, version, rejectedVersion: rejected.version, reason: rejected.reason, updatedAt: new Date() }
      : { typeUrl: this.typeUrl, name: this.name, state, version, updatedAt: new Date() };
  }

  /** Marks the resource as not existing, emitting only if subscribers held something else. */
  markAbsent(version: string): void {
    this.stopTimer();
    if (this.status.state === "DOES_NOT_EXIST") return;
    this.setStatus("DOES_NOT_EXIST", version);
    if (this.latest === undefined || this.latest.resource !== undefined) this.emit(version, undefined, undefined);
  }

  stopTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** What applying one response found: the reasons resources were rejected, if any. */
export interface ApplyResult {
  /** One line per rejected resource, naming it and why; empty when the response is accepted whole. */
  readonly errors: readonly string[];
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

  /** Applies a SotW response: emits changed resources, deletes omitted ones where the type says so, and reports rejections. */
  apply(response: DiscoveryResponse, ignoreDeletion: boolean): ApplyResult {
    const { type } = this;
    const version = response.versionInfo;
    const errors: string[] = [];
    const seen = new Map<string, { value: V; bytes: Uint8Array } | { error: string }>();
    let unnamedError = false;

    for (const [index, any] of response.resources.entries()) {
      let typeUrl = any.typeUrl;
      let bytes: Uint8Array = any.value;
      let wrappedName: string | undefined;
      if (typeUrl === resourceWrapperUrl) {
        try {
          const wrapper = fromBinary(ResourceSchema, bytes);
          wrappedName = wrapper.name;
          typeUrl = wrapper.resource?.typeUrl ?? "";
          bytes = wrapper.resource?.value ?? new Uint8Array();
        } catch (e) {
          errors.push(`resource [${index}]: cannot decode envoy.service.discovery.v3.Resource: ${String(e)}`);
          unnamedError = true;
          continue;
        }
      }
      if (typeUrl !== type.typeUrl) {
        const where = wrappedName === undefined ? `resource [${index}]` : `resource "${wrappedName}"`;
        errors.push(`${where}: type URL ${typeUrl || "(empty)"} in a response for ${type.typeUrl}`);
        if (wrappedName === undefined) unnamedError = true;
        else seen.set(wrappedName, { error: "wrong type URL" });
        continue;
      }
      const decoded = type.decode(bytes);
      const name = wrappedName ?? decoded.name;
      if (name === undefined) {
        errors.push(`resource [${index}]: ${decoded.error}`);
        unnamedError = true;
        continue;
      }
      if (seen.has(name)) {
        errors.push(`resource "${name}": duplicate name in one response`);
        seen.set(name, { error: "duplicate name in one response" });
        continue;
      }
      if (decoded.error !== undefined) {
        errors.push(`resource "${name}": ${decoded.error}`);
        seen.set(name, { error: decoded.error });
      } else {
        seen.set(name, { value: decoded.value, bytes });
      }
    }

    for (const [name, outcome] of seen) {
      const watch = this.watches.get(name);
      if (!watch) continue;
      watch.stopTimer();
      if ("error" in outcome) {
        watch.setStatus("NACKED", watch.latest?.resource === undefined ? "" : watch.latest.version, { version, reason: outcome.error });
        continue;
      }
      watch.setStatus("ACKED", version);
      const fingerprint = fingerprintOf(outcome.bytes);
      if (watch.fingerprint !== fingerprint) watch.emit(version, outcome.value, fingerprint);
    }

    if (type.deletedByOmission && !ignoreDeletion && !unnamedError) {
      for (const watch of this.watches.values()) {
        if (watch.requested && !seen.has(watch.name)) watch.markAbsent(version);
      }
    }
    if (errors.length === 0) this.acceptedVersion = version;
    this.nonce = response.nonce;
    return { errors };
  }
}

/** The length and SHA-256 of serialized bytes: equal fingerprints mean identical bytes (a collision is not a concern). */
function fingerprintOf(bytes: Uint8Array): string {
  return `${bytes.length}:${createHash("sha256").update(bytes).digest("base64")}`;
}
