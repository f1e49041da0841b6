/**
 * The wire level of protobuf writing: a growing buffer of tags, varints, fixed-size numbers, UTF-8 strings and
 * length-delimited values. A length-delimited value is written in place after one reserved byte, and moved when its
 * length needs more than one byte, so nothing is encoded twice. message-encoding.ts writes messages on top of it.
 */
import { ScalarType } from "@bufbuild/protobuf";

/** Wire types. */
export const varintWire = 0;
export const fixed64Wire = 1;
export const delimitedWire = 2;
export const fixed32Wire = 5;

/** The wire type a scalar is written with. */
export function wireTypeOf(scalar: ScalarType): number {
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

/** A growing buffer of protobuf fields. */
export class WireWriter {
  protected buffer = new Uint8Array(256);
  protected view = new DataView(this.buffer.buffer);
  protected position = 0;

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
    return this.tag(number, delimitedWire).delimitedString(value);
  }

  /** Writes a length-delimited field from bytes encoded elsewhere (a nested message, say). */
  bytes(number: number, value: Uint8Array): this {
    return this.tag(number, delimitedWire).uint32(value.length).raw(value);
  }

  /** Appends bytes that are already encoded fields. */
  raw(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.position);
    this.position += value.length;
    return this;
  }

  protected scalar(scalar: ScalarType, value: unknown): this {
    switch (scalar) {
      case ScalarType.STRING:
        return this.delimitedString(value as string);
      case ScalarType.BYTES:
        return this.uint32((value as Uint8Array).length).raw(value as Uint8Array);
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

  protected delimitedString(value: string): this {
    const start = this.begin();
    this.utf8(value);
    return this.end(start);
  }

  /** Writes an unsigned varint below 2^32. */
  protected uint32(value: number): this {
    this.reserve(5);
    while (value > 0x7f) {
      this.buffer[this.position++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    this.buffer[this.position++] = value;
    return this;
  }

  /** Writes a 64-bit varint (two's complement for negative values). */
  protected int64(value: bigint): this {
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

  protected utf8(value: string): void {
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
  protected begin(): number {
    this.reserve(1);
    this.position++;
    return this.position;
  }

  /** Writes the length of the value begun at `start`, moving its content when the length takes more than one byte. */
  protected end(start: number): this {
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

  protected reserve(bytes: number): this {
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
