import { XdsError } from "../xds-error.js";

/** Rejects a resource for one of its fields: throws the INVALID_RESOURCE error, never returns. */
export type Reject = (path: string, reason: string) => never;

/**
 * Makes the Reject function of one resource. Its messages read `<kind> "<name>": <path>: <reason>`,
 * e.g. `cluster "outbound|8080||echo": eds_cluster_config.eds_config: must be an ADS or self config source`.
 */
export function fieldRejecter(kind: string, name: string): Reject {
  return (path, reason) => {
    throw new XdsError("INVALID_RESOURCE", `${kind} ${JSON.stringify(name)}: ${path}: ${reason}`);
  };
}

/** Joins a field path and a child field name, leaving out empty parts: `join("a.b", "c")` is `a.b.c`. */
export function fieldPath(parent: string, child: string): string {
  if (parent === "") return child;
  if (child === "" || child.startsWith("[")) return parent + child;
  return `${parent}.${child}`;
}
