import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";

/** The state of the connection to the control plane. */
export type ConnectionState =
  /** No stream: nothing is watched. */
  | "idle"
  /** A stream is opening. */
  | "connecting"
  /** The stream's connection is up. */
  | "ready"
  /** The stream failed; waiting to open another. */
  | "reconnecting"
  /** The client was closed. */
  | "closed";

/** What the client knows of one watched resource, as CSDS reports it. */
export type ResourceState = "REQUESTED" | "ACKED" | "NACKED" | "DOES_NOT_EXIST";

/** The status of one watched resource. */
export interface ResourceStatus {
  /** The resource's type URL. */
  readonly typeUrl: string;
  /** The resource's name. */
  readonly name: string;
  /** Where the resource stands. */
  readonly state: ResourceState;
  /** The version of the value subscribers hold; "" when they hold none. */
  readonly version: string;
  /** For NACKED: the version that was rejected. */
  readonly rejectedVersion?: string;
  /** For NACKED: why it was rejected. */
  readonly reason?: string;
  /**
   * Why subscribers see an error instead of a value (gRFC A88), while they do: the rejection of the first version,
   * or the control plane being unreachable before any version arrived.
   */
  readonly error?: string;
  /** When the state last changed. */
  readonly updatedAt: Date;
}

/** A snapshot of the client: its connection and every watched resource. */
export interface XdsStatus {
  /** The connection's state. */
  readonly connection: ConnectionState;
  /** The server the client talks to. */
  readonly server: string;
  /** The last stream error, while reconnecting. */
  readonly lastError?: string;
  /** Every watched resource. */
  readonly resources: readonly ResourceStatus[];
}

/** One watched resource as CSDS (gRFC A40) dumps it: its status, and the value subscribers hold. */
export interface ResourceDump extends ResourceStatus {
  /** The serialized bytes of the value subscribers hold; undefined when they hold none. */
  readonly raw: Uint8Array | undefined;
  /** When that value was accepted; undefined when they hold none. */
  readonly acceptedAt: Date | undefined;
}

/** What a client holds, for CSDS: who it is and every watched resource. */
export interface XdsDump {
  /** The node the client sends to the control plane. */
  readonly node: Node;
  /** Every watched resource, by type in the order first watched, then by name in the order first watched. */
  readonly resources: readonly ResourceDump[];
}
