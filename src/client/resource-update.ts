import type { XdsError } from "../xds-error.js";

/** The latest state of one watched resource: its value, or `undefined` when it does not exist (yet) or cannot be had. */
export interface ResourceUpdate<V> {
  /** The resource's type URL. */
  readonly typeUrl: string;
  /** The resource's name. */
  readonly name: string;
  /** The version_info of the response that carried (or removed) it; "" for a does-not-exist timeout or a connection error. */
  readonly version: string;
  /** The validated resource, or undefined when it does not exist or cannot be had. */
  readonly resource: V | undefined;
  /**
   * Why there is no resource, when that is not simple absence (gRFC A88's resource errors): its first version was
   * rejected (INVALID_RESOURCE, with the NACK's reason), or the control plane could not be reached before any version
   * arrived (CONTROL_PLANE_UNAVAILABLE). Undefined while a resource is held, and when it does not exist.
   */
  readonly error?: XdsError;
}
