// The protobuf wire format read as protobuf-es's fromBinary reads it, for readers that decode one message shape
// straight into a model: anything it would read differently, or refuse, makes the reader give up (throw GIVE_UP)
// so that its caller can take the generic path. That is malformed or unusual wire data: a bad tag, a varint over 10
// bytes, a length past its message, a group, a known field with an unexpected wire type, a string that is not valid
// UTF-8. Fields unknown to the schema are skipped, as protobuf-es does.

import { fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";

// The hot code here and in readers uses module-local bindings only: V8 reads an exported or imported binding
// through a cell, which was measured to slow a 100k-endpoint decode by ~6% (constants and giveUp alike).

/** Thrown inside a reader to give up; its caller catches it. */
const GIVE_UP: unique symbol = Symbol("give up");
const giveUp = (): never => {
  throw GIVE_UP;
};
/** Gives up reading: throws what the reader's caller catches. Bind it to a module-local name before use in hot code. */
export const giveUpReading = giveUp;

/** Wire types. */
const VARINT = 0;
const BIT64 = 1;
const LEN = 2;
const BIT32 = 5;

/** protobuf-es's default recursion limit: a message nested at depth d (the top message is 1) must have d ≤ 100. */
const RECURSION_LIMIT = 100;

/** Field numbers a schema declares: those a reader does not handle make it give up; others are skipped. */
export function knownFields(schema: DescMessage): ReadonlySet<number> {
  return new Set(schema.fields.map((f) => f.number));
}

/** Strict UTF-8, as protobuf-es reads proto3 strings (a leading BOM is dropped, as there). */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Reads the fields of `buf` from `pos` on; a subclass reads its message shape with these. */
export class WireReader {
  protected pos = 0;
  /** The same bytes, for latin1 strings. */
  protected text: Buffer;

  constructor(protected buf: Uint8Array) {
    this.text = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /** A google.protobuf.UInt32Value ending at `end`: its value (0 when unset, as protobuf-es unboxes it). */
  protected uint32Value(end: number): number {
    let value = 0;
    while (this.pos < end) {
      const tag = this.tag(end);
      if (tag === ((1 << 3) | VARINT)) value = this.varint32(end);
      else if (tag >>> 3 === 1) giveUp();
      else this.skip(tag, end);
    }
    return value;
  }

  /**
   * A rarely used sub-message ending at `end`, decoded by protobuf-es from its own bytes; `depth` is the depth of
   * its parent, so that the recursion limit applies as it would to the message nested in the whole.
   */
  protected generic<Desc extends DescMessage>(schema: Desc, end: number, depth: number): MessageShape<Desc> {
    const message = fromBinary(schema, this.buf.subarray(this.pos, end), { recursionLimit: RECURSION_LIMIT - depth });
    this.pos = end;
    return message;
  }

  /** A field the reader does not read: skipped when the schema does not know it, else give up. */
  protected other(tag: number, known: ReadonlySet<number>, end: number): void {
    if (known.has(tag >>> 3)) giveUp();
    this.skip(tag, end);
  }

  /** Skips an unknown field's value, as protobuf-es would (groups give up). */
  private skip(tag: number, end: number): void {
    switch (tag & 7) {
      case VARINT:
        while (this.pos < end && this.buf[this.pos]! >= 0x80) this.pos++;
        this.pos++;
        break;
      case BIT64:
        this.pos += 8;
        break;
      case LEN:
        this.pos = this.lengthEnd(end);
        break;
      case BIT32:
        this.pos += 4;
        break;
      default:
        giveUp();
    }
    if (this.pos > end) giveUp();
  }

  /** A tag (field number << 3 | wire type) within `end`, checked as protobuf-es checks it. */
  protected tag(end: number): number {
    const b = this.buf[this.pos]!;
    if (b < 0x80 && this.pos < end) {
      this.pos++;
      if (b < 8 || (b & 7) > 5) giveUp();
      return b;
    }
    const start = this.pos;
    const tag = this.varint32(end);
    if (this.pos - start > 5 || (this.pos - start === 5 && this.buf[this.pos - 1]! > 0x0f)) giveUp();
    if (tag >>> 3 === 0 || (tag & 7) > 5) giveUp();
    return tag;
  }

  /** A uint32 varint within `end`, with protobuf-es's reading of longer varints (the low 32 bits). */
  protected varint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    if (pos >= end) giveUp();
    let b = buf[pos++]!;
    if (b < 0x80) {
      this.pos = pos;
      return b;
    }
    let result = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      if (pos >= end) giveUp();
      b = buf[pos++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = pos;
        return result;
      }
    }
    if (pos >= end) giveUp();
    b = buf[pos++]!;
    result |= (b & 0x0f) << 28;
    for (let read = 5; b >= 0x80; read++) {
      if (read === 10 || pos >= end) giveUp();
      b = buf[pos++]!;
    }
    this.pos = pos;
    return result >>> 0;
  }

  /** Reads a length and returns where the value it prefixes ends, which must be within `end`. */
  protected lengthEnd(end: number): number {
    const length = this.varint32(end);
    const valueEnd = this.pos + length;
    if (valueEnd > end) giveUp();
    return valueEnd;
  }

  /** A string field's value within `end`. */
  protected string(end: number): string {
    const valueEnd = this.lengthEnd(end);
    const value = this.stringAt(this.pos, valueEnd);
    this.pos = valueEnd;
    return value;
  }

  /** The UTF-8 string in buf[start, end) (latin1 when all ASCII, which reads the same, faster). */
  protected stringAt(start: number, end: number): string {
    const buf = this.buf;
    for (let i = start; i < end; i++) {
      if (buf[i]! >= 0x80) return utf8.decode(buf.subarray(start, end));
    }
    return start === end ? "" : this.text.toString("latin1", start, end);
  }
}
