// The endpoints of a target's snapshot (or of one EDS resource) as a set keyed by address, and the diff from one
// version to the next. A diff reads every endpoint once (O(n)) and allocates only for what changed: endpoints
// added, removed, or whose weight, health, locality, priority or cluster changed.

import type { ResourceUpdate } from "../client/resource-update.js";
import { authorityOf } from "../integrations/call-router.js";
import type { EndpointHealth, EndpointModel, EndpointsModel, LocalityModel } from "../resources/endpoints.js";
import type { ServiceSnapshot } from "../routing/service-snapshot.js";

/** Where endpoints come from: a target's snapshot (`xds.resolve(target)`), or an EDS watch (`xds.endpoints(name)`). */
export type EndpointSource = ServiceSnapshot | ResourceUpdate<EndpointsModel>;

/** A locality: region, zone and sub-zone. */
export interface Locality {
  readonly region: string;
  readonly zone: string;
  readonly subZone: string;
}

/** One endpoint of a set, keyed by its address. */
export interface MeshEndpoint {
  /** `address:port` (`[address]:port` for IPv6): the key of the set. */
  readonly key: string;
  /** The IP address. */
  readonly address: string;
  /** The port. */
  readonly port: number;
  /** Its load_balancing_weight (1 when unset). */
  readonly weight: number;
  /** Its health as the control plane reports it. */
  readonly health: EndpointHealth;
  /** Whether it may take traffic: health HEALTHY or UNKNOWN. */
  readonly usable: boolean;
  /** Its locality. */
  readonly locality: Locality;
  /** Its priority, 0 the highest. */
  readonly priority: number;
  /** The cluster it belongs to (the first one, in the snapshot's order, when several list it). */
  readonly cluster: string;
  /** Its model, with hostname, metadata and additional addresses, as of when it was added or last changed. */
  readonly model: EndpointModel;
}

/** What changed in an endpoint set from one version to the next. */
export interface EndpointChanges {
  /** Endpoints that were not in the set. */
  readonly added: readonly MeshEndpoint[];
  /** Endpoints that left the set, as they were. */
  readonly removed: readonly MeshEndpoint[];
  /** Endpoints still in the set whose weight, health, locality, priority or cluster changed, as they are now. */
  readonly changed: readonly MeshEndpoint[];
  /** How many endpoints the set holds now. */
  readonly size: number;
}

/** Whether a diff holds any change. */
export function hasChanges(changes: EndpointChanges): boolean {
  return changes.added.length > 0 || changes.removed.length > 0 || changes.changed.length > 0;
}

/** An endpoint of the set, and the version that last saw it. */
interface Slot {
  endpoint: MeshEndpoint;
  seen: number;
}

/** The current endpoints of a source, keyed by address; `apply` moves it to the next version and says what changed. */
export class EndpointSet {
  private readonly slots = new Map<string, Slot>();
  private version = 0;
  private added: MeshEndpoint[] = [];
  private changed: MeshEndpoint[] = [];
  /** The last locality read, and its Locality, shared by its endpoints. */
  private lastLocality: LocalityModel | undefined;
  private lastLocalityValue: Locality | undefined;

  /** `include` chooses the endpoints the set holds (all by default). */
  constructor(private readonly include: (endpoint: EndpointModel) => boolean = () => true) {}

  /** How many endpoints the set holds. */
  get size(): number {
    return this.slots.size;
  }

  /** The endpoints, in the order they were first added. */
  values(): MeshEndpoint[] {
    return Array.from(this.slots.values(), (slot) => slot.endpoint);
  }

  /** Moves the set to the endpoints of `source` (none when it holds no resource); returns what changed. */
  apply(source: EndpointSource): EndpointChanges {
    this.version++;
    this.added = [];
    this.changed = [];
    if (isSnapshot(source)) {
      for (const cluster of source.clusters.values()) if (cluster.endpoints !== undefined) this.read(cluster.name, cluster.endpoints);
    } else if (source.resource !== undefined) {
      this.read(source.resource.clusterName, source.resource);
    }
    this.lastLocality = this.lastLocalityValue = undefined;
    const removed: MeshEndpoint[] = [];
    for (const [key, slot] of this.slots) {
      if (slot.seen === this.version) continue;
      removed.push(slot.endpoint);
      this.slots.delete(key);
    }
    return { added: this.added, removed, changed: this.changed, size: this.slots.size };
  }

  private read(cluster: string, assignment: EndpointsModel): void {
    const priorities = assignment.priorities;
    for (let priority = 0; priority < priorities.length; priority++) {
      for (const locality of priorities[priority]!) {
        for (const endpoint of locality.endpoints) if (this.include(endpoint)) this.see(endpoint, locality, priority, cluster);
      }
    }
  }

  private see(endpoint: EndpointModel, locality: LocalityModel, priority: number, cluster: string): void {
    const key = authorityOf(endpoint);
    const slot = this.slots.get(key);
    if (slot === undefined) {
      const entry = this.entry(key, endpoint, locality, priority, cluster);
      this.slots.set(key, { endpoint: entry, seen: this.version });
      this.added.push(entry);
      return;
    }
    if (slot.seen === this.version) return; // listed again (another cluster or locality): the first one counts
    slot.seen = this.version;
    const was = slot.endpoint;
    if (
      was.weight === endpoint.weight &&
      was.health === endpoint.health &&
      was.priority === priority &&
      was.cluster === cluster &&
      was.locality.region === locality.region &&
      was.locality.zone === locality.zone &&
      was.locality.subZone === locality.subZone
    ) {
      return;
    }
    slot.endpoint = this.entry(key, endpoint, locality, priority, cluster);
    this.changed.push(slot.endpoint);
  }

  private entry(key: string, endpoint: EndpointModel, locality: LocalityModel, priority: number, cluster: string): MeshEndpoint {
    if (this.lastLocality !== locality) {
      this.lastLocality = locality;
      this.lastLocalityValue = Object.freeze({ region: locality.region, zone: locality.zone, subZone: locality.subZone });
    }
    return Object.freeze({
      key,
      address: endpoint.address,
      port: endpoint.port,
      weight: endpoint.weight,
      health: endpoint.health,
      usable: endpoint.usable,
      locality: this.lastLocalityValue!,
      priority,
      cluster,
      model: endpoint,
    });
  }
}

function isSnapshot(source: EndpointSource): source is ServiceSnapshot {
  return (source as ServiceSnapshot).clusters instanceof Map;
}
