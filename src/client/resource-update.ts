/** The latest state of one watched resource: its value, or `undefined` when it does not exist (yet). */
export interface ResourceUpdate<V> {
  /** The resource's type URL. */
  readonly typeUrl: string;
  /** The resource's name. */
  readonly name: string;
  /** The version_info of the response that carried (or removed) it; "" for a does-not-exist timeout. */
  readonly version: string;
  /** The validated resource, or undefined when it does not exist. */
  readonly resource: V | undefined;
}
