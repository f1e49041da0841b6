/**
 * Encodes protobuf messages straight from their init shapes (what `create()` takes: plain objects, `{ case, value }`
 * oneofs, unboxed wrappers, JSON objects for Struct fields) or from created messages, to the bytes `toBinary` gives,
 * without creating messages first. `rxds serve` translates tens of thousands of resources per load: `create()` fills
 * every field of a schema and `toBinary` reflects over each, which cost it seconds; this walks only the descriptor.
 */
import { ScalarType, type DescField, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import type { Any } from "@bufbuild/protobuf/wkt";

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

/** Wire types. */
const varintWire = 0;
const fixed64Wire = 1;
const delimitedWire = 2;
const fixed32Wire = 5;

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

function wireTypeOf(scalar: ScalarType): number {
  switch (scalar) {
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return fixed64Wire;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return fixed32Wire;
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return delimitedWire;
    default:
      return varintWire;
  }
}

function isZero(value: unknown): boolean {
  return value === 0 || value === "" || value === false || value === 0n || (value instanceof Uint8Array && value.length === 0);
}

/**
 * A growing buffer of protobuf fields. A length-delimited value is written in place after one reserved byte, and
 * moved when its length needs more than one byte, so nothing is encoded twice.
 */
export class ProtoWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  private position = 0;

  /** The bytes written so far (a copy, from Node's pool when small); the writer starts again empty. */
  finish(): Uint8Array {
    const bytes = Buffer.allocUnsafe(this.position);
    bytes.set(this.buffer.subarray(0, this.position));
    this.position = 0;
    return bytes;
  }

  /** Writes a field's tag. */
  tag(number: number, wireType: number): this {
    return this.uint32(number * 8 + wireType);
  }

  /** Writes a string field, also when empty. */
  string(number: number, value: string): this {
    this.tag(number, delimitedWire);
    const start = this.begin();
    this.utf8(value);
    return this.end(start);
  }

  /** Writes a length-delimited field from bytes encoded elsewhere (a nested message, say). */
  bytes(number: number, value: Uint8Array): this {
    this.tag(number, delimitedWire).uint32(value.length);
    this.reserve(value.length);
    this.buffer.set(value, this.position);
    this.position += value.length;
    return this;
  }

  /** Appends bytes that are already encoded fields. */
  raw(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.position);
    this.position += value.length;
    return this;
  }

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

  private scalar(scalar: ScalarType, value: unknown): this {
    switch (scalar) {
      case ScalarType.STRING:
        return this.delimitedString(value as string);
      case ScalarType.BYTES: {
        const bytes = value as Uint8Array;
        this.uint32(bytes.length).reserve(bytes.length);
        this.buffer.set(bytes, this.position);
        this.position += bytes.length;
        return this;
      }
      case ScalarType.BOOL:
        return this.uint32(value ? 1 : 0);
      case ScalarType.UINT32:
        return this.uint32((value as number) >>> 0);
      case ScalarType.INT32:
        return (value as number) >= 0 ? this.uint32(value as number) : this.int64(BigInt(value as number));
      case ScalarType.SINT32:
        return this.uint32((((value as number) << 1) ^ ((value as number) >> 31)) >>> 0);
      case ScalarType.INT64:
      case ScalarType.UINT64:
        return this.int64(BigInt(value as bigint | number | string));
      case ScalarType.SINT64: {
        const n = BigInt(value as bigint | number | string);
        return this.int64((n << 1n) ^ (n >> 63n));
      }
      case ScalarType.DOUBLE:
        this.reserve(8);
        this.view.setFloat64(this.position, value as number, true);
        this.position += 8;
        return this;
      case ScalarType.FLOAT:
        this.reserve(4);
        this.view.setFloat32(this.position, value as number, true);
        this.position += 4;
        return this;
      case ScalarType.FIXED32:
      case ScalarType.SFIXED32:
        this.reserve(4);
        this.view.setInt32(this.position, value as number, true);
        this.position += 4;
        return this;
      case ScalarType.FIXED64:
      case ScalarType.SFIXED64:
        this.reserve(8);
        this.view.setBigUint64(this.position, BigInt.asUintN(64, BigInt(value as bigint | number | string)), true);
        this.position += 8;
        return this;
    }
  }

  private delimitedString(value: string): this {
    const start = this.begin();
    this.utf8(value);
    return this.end(start);
  }

  /** Writes an unsigned varint below 2^32. */
  private uint32(value: number): this {
    this.reserve(5);
    while (value > 0x7f) {
      this.buffer[this.position++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.position++] = value;
    return this;
  }

  /** Writes a 64-bit varint (two's complement for negative values). */
  private int64(value: bigint): this {
    if (value >= 0n && value <= 0xffffffffn) return this.uint32(Number(value));
    let rest = BigInt.asUintN(64, value);
    this.reserve(10);
    while (rest > 0x7fn) {
      this.buffer[this.position++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buffer[this.position++] = Number(rest);
    return this;
  }

  private utf8(value: string): void {
    this.reserve(value.length * 3);
    const buffer = this.buffer;
    let position = this.position;
    for (let i = 0; i < value.length; i++) {
      let code = value.charCodeAt(i);
      if (code < 0x80) {
        buffer[position++] = code;
      } else if (code < 0x800) {
        buffer[position++] = 0xc0 | (code >> 6);
        buffer[position++] = 0x80 | (code & 0x3f);
      } else {
        const next = value.charCodeAt(i + 1);
        if (code >= 0xd800 && code < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
          buffer[position++] = 0xf0 | (code >> 18);
          buffer[position++] = 0x80 | ((code >> 12) & 0x3f);
        } else {
          // A lone surrogate is written as U+FFFD, as TextEncoder does.
          if (code >= 0xd800 && code < 0xe000) code = 0xfffd;
          buffer[position++] = 0xe0 | (code >> 12);
        }
        buffer[position++] = 0x80 | ((code >> 6) & 0x3f);
        buffer[position++] = 0x80 | (code & 0x3f);
      }
    }
    this.position = position;
  }

  /** Reserves the length byte of a length-delimited value; returns where its content starts. */
  private begin(): number {
    this.reserve(1);
    this.position++;
    return this.position;
  }

  /** Writes the length of the value begun at `start`, moving its content when the length takes more than one byte. */
  private end(start: number): this {
    const length = this.position - start;
    if (length < 0x80) {
      this.buffer[start - 1] = length;
      return this;
    }
    let size = 1;
    while (length >= 2 ** (7 * size)) size++;
    this.reserve(size - 1);
    this.buffer.copyWithin(start - 1 + size, start, this.position);
    let at = start - 1;
    for (let rest = length; rest > 0x7f; rest >>>= 7) this.buffer[at++] = (rest & 0x7f) | 0x80;
    this.buffer[at] = length >>> (7 * (size - 1));
    this.position += size - 1;
    return this;
  }

  private reserve(bytes: number): this {
    if (this.position + bytes <= this.buffer.length) return this;
    let capacity = this.buffer.length * 2;
    while (capacity < this.position + bytes) capacity *= 2;
    const grown = new Uint8Array(capacity);
    grown.set(this.buffer.subarray(0, this.position));
    this.buffer = grown;
    this.view = new DataView(grown.buffer);
    return this;
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
