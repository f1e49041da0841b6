/**
 * Encodes protobuf messages straight from their init shapes (what `create()` takes: plain objects, `{ case, value }`
 * oneofs, unboxed wrappers, JSON objects for Struct fields) or from created messages, to the bytes `toBinary` gives,
 * without creating messages first. `rxds serve` translates tens of thousands of resources per load: `create()` fills
 * every field of a schema and `toBinary` reflects over each, which cost it seconds; this walks only the descriptor.
 */
import { ScalarType, type DescField, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";
import { delimitedWire, fixed64Wire, varintWire, wireTypeOf, WireWriter } from "./wire-writer.js";

/** google.protobuf.FeatureSet.FieldPresence.IMPLICIT: a proto3 scalar without `optional`, not written when zero. */
const implicitPresence = 2;

const wrapperTypes = new Set([
  "google.protobuf.DoubleValue",
  "google.protobuf.FloatValue",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
]);

const structType = "google.protobuf.Struct";

/** The fields of the messages being written, innermost last (see `ProtoWriter.fields`). */
const stackFields: DescField[] = [];
const stackItems: unknown[] = [];

/** A message's fields by the key they have in its init shape: a field's local name, or a oneof's (then by case). */
interface MessagePlan {
  readonly fields: ReadonlyMap<string, DescField>;
  readonly oneofs: ReadonlyMap<string, ReadonlyMap<string, DescField>>;
}

const plans = new WeakMap<DescMessage, MessagePlan>();

function planOf(schema: DescMessage): MessagePlan {
  let plan = plans.get(schema);
  if (plan === undefined) {
    const fields = new Map<string, DescField>();
    const oneofs = new Map<string, Map<string, DescField>>();
    for (const field of schema.fields) {
      if (field.oneof === undefined) fields.set(field.localName, field);
      else {
        const cases = oneofs.get(field.oneof.localName) ?? new Map<string, DescField>();
        cases.set(field.localName, field);
        oneofs.set(field.oneof.localName, cases);
      }
    }
    plan = { fields, oneofs };
    plans.set(schema, plan);
  }
  return plan;
}

function isZero(value: unknown): boolean {
  return value === 0 || value === "" || value === false || value === 0n || (value instanceof Uint8Array && value.length === 0);
}

/** Writes messages from their init shapes, field by field, onto the wire writer. */
export class ProtoWriter extends WireWriter {
  /** Writes a message field from its init shape. */
  message<Desc extends DescMessage>(number: number, schema: Desc, value: MessageInitShape<Desc>): this {
    this.tag(number, delimitedWire);
    const start = this.begin();
    this.fields(schema, value as Record<string, unknown>);
    return this.end(start);
  }

  /** Writes every set field of `value`, a message of `schema` or its init shape, in field number order. */
  fields(schema: DescMessage, value: Readonly<Record<string, unknown>>): this {
    const plan = planOf(schema);
    // The fields found are pushed on a stack shared by nested calls (this frame's part starts at `base`), so that
    // finding them allocates nothing; they are written in field number order.
    const base = stackFields.length;
    for (const key in value) {
      let item = value[key];
      if (item === undefined || item === null) continue;
      let field = plan.fields.get(key);
      if (field === undefined) {
        const selected = item as { case?: string; value?: unknown };
        field = selected.case === undefined ? undefined : plan.oneofs.get(key)?.get(selected.case);
        if (field === undefined) continue;
        item = selected.value;
      }
      let at = stackFields.length;
      stackFields.push(field);
      stackItems.push(item);
      while (at > base && (stackFields[at - 1] as DescField).number > field.number) {
        stackFields[at] = stackFields[at - 1] as DescField;
        stackItems[at] = stackItems[at - 1];
        stackFields[at - 1] = field;
        stackItems[at - 1] = item;
        at--;
      }
    }
    const end = stackFields.length;
    for (let i = base; i < end; i++) this.field(stackFields[i] as DescField, stackItems[i]);
    stackFields.length = base;
    stackItems.length = base;
    return this;
  }

  private field(field: DescField, value: unknown): void {
    switch (field.fieldKind) {
      case "scalar":
      case "enum": {
        if (field.oneof === undefined && field.presence === implicitPresence && isZero(value)) return;
        const scalar = field.fieldKind === "enum" ? ScalarType.INT32 : field.scalar;
        this.tag(field.number, wireTypeOf(scalar)).scalar(scalar, value);
        return;
      }
      case "message":
        this.messageValue(field.number, field.message, value, field.oneof === undefined, field.parent.typeName);
        return;
      case "list": {
        const items = value as readonly unknown[];
        if (items.length === 0) return;
        if (field.listKind === "message") {
          for (const item of items) this.messageValue(field.number, field.message, item, false, field.parent.typeName);
          return;
        }
        const scalar = field.listKind === "enum" ? ScalarType.INT32 : field.scalar;
        if (field.packed) {
          this.tag(field.number, delimitedWire);
          const start = this.begin();
          for (const item of items) this.scalar(scalar, item);
          this.end(start);
          return;
        }
        for (const item of items) this.tag(field.number, wireTypeOf(scalar)).scalar(scalar, item);
        return;
      }
      case "map": {
        const keyScalar = field.mapKey;
        for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
          this.tag(field.number, delimitedWire);
          const start = this.begin();
          this.tag(1, wireTypeOf(keyScalar)).scalar(keyScalar, mapKey(keyScalar, key));
          if (field.mapKind === "message") this.messageValue(2, field.message, item, false, field.parent.typeName);
          else {
            const scalar = field.mapKind === "enum" ? ScalarType.INT32 : field.scalar;
            this.tag(2, wireTypeOf(scalar)).scalar(scalar, item);
          }
          this.end(start);
        }
        return;
      }
    }
  }

  /** A message value, as protobuf-es holds it: a wrapper in a singular field is unboxed; a Struct outside Value is a JSON object. */
  private messageValue(number: number, schema: DescMessage, value: unknown, singular: boolean, parent: string): void {
    this.tag(number, delimitedWire);
    const start = this.begin();
    const record = value as Record<string, unknown>;
    if (singular && wrapperTypes.has(schema.typeName) && (typeof value !== "object" || value instanceof Uint8Array)) {
      this.field(schema.fields[0] as DescField, value);
    } else if (schema.typeName === structType && parent !== "google.protobuf.Value" && record["$typeName"] !== structType) {
      this.struct(record);
    } else {
      this.fields(schema, record);
    }
    this.end(start);
  }

  /** google.protobuf.Struct from a JSON object: `fields` (1) maps each key to a Value. */
  private struct(object: Readonly<Record<string, unknown>>): void {
    for (const [key, item] of Object.entries(object)) {
      if (item === undefined) continue;
      this.tag(1, delimitedWire);
      const start = this.begin();
      this.string(1, key);
      this.jsonValue(2, item);
      this.end(start);
    }
  }

  /** google.protobuf.Value: null (1), number (2), string (3), bool (4), struct (5) or list (6). */
  private jsonValue(number: number, value: unknown): void {
    this.tag(number, delimitedWire);
    const start = this.begin();
    if (value === null) this.tag(1, varintWire).uint32(0);
    else if (typeof value === "number") this.tag(2, fixed64Wire).scalar(ScalarType.DOUBLE, value);
    else if (typeof value === "string") this.string(3, value);
    else if (typeof value === "boolean") this.tag(4, varintWire).uint32(value ? 1 : 0);
    else if (Array.isArray(value)) {
      this.tag(6, delimitedWire);
      const list = this.begin();
      for (const item of value) this.jsonValue(1, item);
      this.end(list);
    } else {
      this.tag(5, delimitedWire);
      const struct = this.begin();
      this.struct(value as Record<string, unknown>);
      this.end(struct);
    }
    this.end(start);
  }
}

function mapKey(scalar: ScalarType, key: string): unknown {
  switch (scalar) {
    case ScalarType.STRING:
      return key;
    case ScalarType.BOOL:
      return key === "true";
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return BigInt(key);
    default:
      return Number(key);
  }
}

/** A writer kept between encodings, so that its buffer grows once to the largest message instead of per message. */
const scratch = new ProtoWriter();
let scratchBusy = false;

/** The bytes `write` writes, with the shared writer when it is free (writing is synchronous), else a new one. */
export function writeBytes(write: (writer: ProtoWriter) => void): Uint8Array {
  if (scratchBusy) {
    const writer = new ProtoWriter();
    write(writer);
    return writer.finish();
  }
  scratchBusy = true;
  try {
    write(scratch);
  } catch (error) {
    scratch.finish();
    throw error;
  } finally {
    scratchBusy = false;
  }
  return scratch.finish();
}

/** The bytes of a message of `schema` given as its init shape (or as a created message), as `toBinary` writes them. */
export function encodeMessage<Desc extends DescMessage>(schema: Desc, value: MessageInitShape<Desc>): Uint8Array {
  return writeBytes((writer) => writer.fields(schema, value as Record<string, unknown>));
}

/** An Any holding bytes encoded as a message of `schema`. */
export function packBytes(schema: DescMessage, value: Uint8Array): Any {
  return { $typeName: "google.protobuf.Any", typeUrl: `type.googleapis.com/${schema.typeName}`, value };
}

/** An Any holding a message given as its init shape, as `anyPack` would pack the created message. */
export function packMessage<Desc extends DescMessage>(schema: Desc, value: MessageInitShape<Desc>): Any {
  return packBytes(schema, encodeMessage(schema, value));
}
