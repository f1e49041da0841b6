import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { GenMessage } from "@bufbuild/protobuf/codegenv2";
import type { LazySchema } from "../lazy-schema.js";
import { XdsError } from "../xds-error.js";

/** What decoding one resource gave: its name and value, or the reason it was rejected (with its name when readable). */
export type DecodeResult<V> =
  | { readonly name: string; readonly value: V; readonly error?: undefined }
  | { readonly name: string | undefined; readonly error: string; readonly value?: undefined };

/** Describes one xDS resource type: its type URL, how SotW treats omission, and how a resource is decoded and validated. */
export interface ResourceType<V = unknown> {
  /** The type URL, e.g. `type.googleapis.com/envoy.config.listener.v3.Listener`. */
  readonly typeUrl: string;
  /** Whether a SotW response lists every resource of the type, so that omission means deletion (LDS, CDS). */
  readonly deletedByOmission: boolean;
  /** Decodes and validates one resource from its serialized bytes; never throws. */
  decode(bytes: Uint8Array): DecodeResult<V>;
}

/** How to read and validate the messages of one protobuf-described resource type. */
export interface MessageTypeOptions<Desc extends DescMessage, V> {
  /** Whether SotW omission means deletion (LDS, CDS). */
  readonly deletedByOmission: boolean;
  /** The resource's name; the default reads the message's `name` field. A resource without a name is rejected. */
  readonly name?: (message: MessageShape<Desc>) => string;
  /** The type's one resource is named "" (Istio's NDS name table), so an empty name is not an error. Default false. */
  readonly unnamed?: boolean;
  /**
   * Validates the decoded message and returns the value subscribers get. Throws (an XdsError or any Error)
   * with a reason naming the field when the resource must be rejected. The default returns the message.
   */
  readonly validate?: (message: MessageShape<Desc>, name: string) => V;
}

/** Builds a ResourceType for a protobuf message type: decode, read the name, then validate. */
export function messageType<Desc extends GenMessage<any>, V = MessageShape<Desc>>(
  schema: Desc,
  options: MessageTypeOptions<Desc, V>,
): ResourceType<V> {
  return lazyMessageType({ typeName: schema.typeName, schema: () => schema }, options);
}

/** messageType for a schema loaded when the first resource of the type is decoded. */
export function lazyMessageType<Desc extends GenMessage<any>, V = MessageShape<Desc>>(
  lazy: LazySchema<Desc>,
  options: MessageTypeOptions<Desc, V>,
): ResourceType<V> {
  const { typeName } = lazy;
  const readName = options.name ?? ((m: MessageShape<Desc>) => String((m as { name?: unknown }).name ?? ""));
  const validate = options.validate ?? ((m: MessageShape<Desc>) => m as unknown as V);
  return {
    typeUrl: `type.googleapis.com/${typeName}`,
    deletedByOmission: options.deletedByOmission,
    decode(bytes) {
      let message: MessageShape<Desc>;
      try {
        message = fromBinary(lazy.schema(), bytes);
      } catch (e) {
        return { name: undefined, error: `cannot decode ${typeName}: ${reasonOf(e)}` };
      }
      const name = readName(message);
      if (name === "" && options.unnamed !== true) {
        // An Any without bytes decodes to an empty message: without this, it would be ACKed as a resource named "".
        return { name: undefined, error: bytes.length === 0 ? `empty ${typeName} (the resource has no bytes)` : `${typeName} without a name` };
      }
      try {
        return { name, value: validate(message, name) };
      } catch (e) {
        return { name, error: reasonOf(e) };
      }
    },
  };
}

function reasonOf(e: unknown): string {
  return e instanceof XdsError || e instanceof Error ? e.message : String(e);
}
