import { create } from "@bufbuild/protobuf";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { DiscoveryRequest } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { discoveryModule } from "../transport/ads-transport.js";
import { XdsError } from "../xds-error.js";
import type { ResourceType } from "./resource-type.js";
import { ResourceWatch, TypeSubscription } from "./type-subscription.js";
import type { ResourceDump, ResourceStatus } from "./xds-status.js";

/** Every resource one client watches, by type in the order first watched, and the resource types it knows. */
export class WatchedResources {
  /** Each watched type's subscription, by type URL. */
  readonly subscriptions = new Map<string, TypeSubscription<unknown>>();
  private readonly types = new Map<string, ResourceType>();

  constructor(types: readonly ResourceType[]) {
    for (const type of types) this.types.set(type.typeUrl, type);
  }

  /** The type URL of `type`, which must be known, or registered now when a ResourceType; throws an XdsError otherwise. */
  register(type: ResourceType | string): string {
    if (typeof type === "string") {
      if (!this.types.has(type)) throw new XdsError("INVALID_ARGUMENT", `watch: unknown resource type ${type}; pass a ResourceType or register it in options.resourceTypes`);
      return type;
    }
    const known = this.types.get(type.typeUrl);
    if (known && known !== type) throw new XdsError("INVALID_ARGUMENT", `watch: another ResourceType is registered for ${type.typeUrl}`);
    this.types.set(type.typeUrl, type);
    return type.typeUrl;
  }

  /** The watch of a name, if it is watched. */
  get(typeUrl: string, name: string): ResourceWatch<unknown> | undefined {
    return this.subscriptions.get(typeUrl)?.watches.get(name);
  }

  /** Starts watching a name of a registered type. */
  add(typeUrl: string, name: string): ResourceWatch<unknown> {
    let subscription = this.subscriptions.get(typeUrl);
    if (!subscription) {
      subscription = new TypeSubscription(this.types.get(typeUrl)!);
      this.subscriptions.set(typeUrl, subscription);
    }
    const watch = new ResourceWatch<unknown>(typeUrl, name);
    subscription.watches.set(name, watch);
    return watch;
  }

  /** Stops a watch and forgets it; false when it is no longer the watch of its name. */
  remove(watch: ResourceWatch<unknown>): boolean {
    const subscription = this.subscriptions.get(watch.typeUrl);
    if (subscription?.watches.get(watch.name) !== watch) return false;
    watch.stopTimer();
    watch.subject.complete();
    subscription.watches.delete(watch.name);
    return true;
  }

  /** Whether nothing is watched. */
  get isEmpty(): boolean {
    return [...this.subscriptions.values()].every((s) => s.watches.size === 0);
  }

  /** Forgets every type, for a client that watches nothing any more. */
  clear(): void {
    this.subscriptions.clear();
  }

  /** Stops and completes every watch, and forgets them. */
  complete(): void {
    for (const watch of this.all()) {
      watch.stopTimer();
      watch.subject.complete();
    }
    this.subscriptions.clear();
  }

  /** Every watch. */
  *all(): IterableIterator<ResourceWatch<unknown>> {
    for (const subscription of this.subscriptions.values()) yield* subscription.watches.values();
  }

  /** Forgets what belongs to the old stream (see `TypeSubscription.resetStream`). */
  resetStreams(): void {
    for (const subscription of this.subscriptions.values()) subscription.resetStream();
  }

  /** Forgets the accepted versions: another server's versions mean nothing to this one. */
  forgetVersions(): void {
    for (const subscription of this.subscriptions.values()) subscription.acceptedVersion = "";
  }

  /** Whether a watched resource has nothing from the control plane yet (gRFC A71: "does not exist" counts as received). */
  hasUncached(): boolean {
    for (const watch of this.all()) if (watch.waiting) return true;
    return false;
  }

  /** Tells the watches that hold nothing yet that the control plane cannot be reached; returns how many were told. */
  failWaiting(error: XdsError): number {
    let told = 0;
    for (const subscription of this.subscriptions.values()) told += subscription.failWaiting(error);
    return told;
  }

  /** Every watch's status. */
  statuses(): ResourceStatus[] {
    return Array.from(this.all(), (watch) => watch.status);
  }

  /** Every watch as CSDS (gRFC A40) dumps it: its status, and the value subscribers hold. */
  dump(): ResourceDump[] {
    return Array.from(this.all(), (watch) => {
      const held = watch.raw !== undefined;
      return { ...watch.status, raw: watch.raw, acceptedAt: held ? watch.acceptedAt : undefined };
    });
  }

  /** One request per watched type, naming every watched resource; `node` goes in the first. */
  requests(node: Node): DiscoveryRequest[] {
    const requests: DiscoveryRequest[] = [];
    for (const [typeUrl, subscription] of this.subscriptions) {
      if (subscription.watches.size === 0) continue;
      requests.push(create(discoveryModule().DiscoveryRequestSchema, { typeUrl, resourceNames: [...subscription.watches.keys()], ...(requests.length === 0 ? { node } : {}) }));
    }
    return requests;
  }
}
