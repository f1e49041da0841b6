import type { ConfigPath, ConfigReader } from "./config-reader.js";
import type { ResourceMeta } from "./mesh-config-model.js";

/**
 * Reads `exportTo` as Istio's webhook checks it: `*` (everywhere), `.` (the resource's own namespace), `~`
 * (nowhere) or namespace names; `*` and `~` stand alone. Undefined when absent (everywhere).
 */
export function readExportTo(reader: ConfigReader, value: unknown, path: ConfigPath): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = reader.list(value, path).map((each, i) => reader.string(each, [...path, i]));
  list.forEach((each, i) => {
    if ((each === "*" || each === "~") && list.length > 1) reader.fail([...path, i], `"${each}" must be the only entry`);
    if (each !== "*" && each !== "~" && each !== "." && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(each)) {
      reader.expected([...path, i], '"*", ".", "~" or a namespace name', each);
    }
  });
  return list;
}

/**
 * Whether a resource is visible to clients in `namespace` (undefined: a client whose namespace is not
 * known, which sees only what is exported everywhere), as istiod applies `exportTo`.
 */
export function visibleTo(meta: ResourceMeta, namespace: string | undefined): boolean {
  const exportTo = meta.exportTo;
  if (exportTo === undefined || exportTo.length === 0) return true;
  return exportTo.some((each) => each === "*" || (namespace !== undefined && (each === namespace || (each === "." && meta.namespace === namespace))));
}
