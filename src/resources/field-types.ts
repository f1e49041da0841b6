import { anyUnpack } from "@bufbuild/protobuf/wkt";
import type { Any } from "@bufbuild/protobuf/wkt";
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { ConfigSource } from "../../gen/envoy/config/core/v3/config_source_pb.js";
import { udpaTypedStruct, xdsTypedStruct } from "./extension-schemas.js";
import type { Reject } from "./field-error.js";

/** The message type name an Any carries: its type URL after the last `/`. */
export function anyTypeName(any: Any): string {
  return any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1);
}

/** Type name of the TypedStruct wrappers (xds.type.v3 and the older udpa.type.v1) that carry config as JSON. */
const TYPED_STRUCT_NAMES: ReadonlySet<string> = new Set([xdsTypedStruct.typeName, udpaTypedStruct.typeName]);

/**
 * The type name an extension config stands for: the Any's own type, or for a TypedStruct the type named
 * inside it (gRFC A39). Rejects a TypedStruct that cannot be decoded.
 */
export function extensionTypeName(any: Any, path: string, reject: Reject): string {
  const outer = anyTypeName(any);
  if (!TYPED_STRUCT_NAMES.has(outer)) return outer;
  const schema = outer === xdsTypedStruct.typeName ? xdsTypedStruct.schema() : udpaTypedStruct.schema();
  const inner = unpackAny(any, schema, path, reject);
  return inner.typeUrl.slice(inner.typeUrl.lastIndexOf("/") + 1);
}

/** Unpacks an Any into the given message type; rejects at `path` when it holds another type or cannot be decoded. */
export function unpackAny<Desc extends DescMessage>(any: Any, schema: Desc, path: string, reject: Reject): MessageShape<Desc> {
  let message: MessageShape<Desc> | undefined;
  try {
    message = anyUnpack(any, schema);
  } catch (e) {
    return reject(path, `cannot decode ${schema.typeName}: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (message === undefined) return reject(path, `must be ${schema.typeName}, got ${anyTypeName(any) || "no type"}`);
  return message;
}

/** Rejects at `path` unless the config source is present and points at the ADS stream (`ads`) or the same server (`self`). */
export function checkAdsOrSelf(source: ConfigSource | undefined, path: string, reject: Reject): void {
  if (source === undefined) reject(path, "is required");
  const kind = source.configSourceSpecifier.case;
  if (kind !== "ads" && kind !== "self") {
    reject(path, `must be an ADS or self config source, got ${kind ?? "none"}`);
  }
}
