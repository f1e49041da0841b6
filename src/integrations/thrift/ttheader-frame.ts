// Kitex's TTHeader framing (cloudwego's "TTHeader" transport protocol reference), as pure functions.
//
//   LENGTH u32 (of the rest) | MAGIC u16 0x1000 | FLAGS u16 | SEQUENCE NUMBER u32 | HEADER SIZE u16 (bytes / 4)
//   header: PROTOCOL ID u8 | NUM TRANSFORMS u8 | transform ids u8… | infos… | 0x00 padding to a multiple of 4
//   payload: one Thrift message (binary or compact)
//
// Infos: INFO_KEYVALUE 0x01 (u16 count, then count × key and value, each a u16 length and its bytes) and
// INFO_INTKEYVALUE 0x10 (u16 count, then count × u16 key and a u16-length value). The header is at most 64 KiB.
// Unlike Apache Thrift's THeader (magic 0x0FFF), every integer is fixed-size: no varints.

import { XdsError } from "../../xds-error.js";

/** The magic in bytes 4-5 of every TTHeader frame. */
const TTHEADER_MAGIC = 0x1000;
/** The fixed part after LENGTH: magic, flags, sequence number, header size. */
const FIXED_SIZE = 10;
/** Kitex's bound on the header (from the protocol id to the end of the padding). */
const MAX_HEADER_SIZE = 65536;
/** Kitex's bound on a frame's LENGTH. */
const MAX_FRAME_SIZE = 0x3fffffff;
const MAX_U16 = 0xffff;

/** The payload protocol ids a TTHeader frame announces. */
export const TTHEADER_PROTOCOL_IDS = { binary: 0, compact: 2 } as const;

/** The int keys of INFO_INTKEYVALUE that rxds sends (Kitex's transmeta keys). */
export const TTHEADER_INT_KEYS = { toMethod: 9, rpcTimeout: 12 } as const;

/** What the header of one frame carries. */
export interface TTHeaderInfo {
  /** The payload's protocol id (TTHEADER_PROTOCOL_IDS). */
  readonly protocolId: number;
  /** INFO_KEYVALUE pairs, in order. */
  readonly strings: Readonly<Record<string, string>>;
  /** INFO_INTKEYVALUE pairs, in order; keys are u16. */
  readonly ints: ReadonlyArray<readonly [number, string]>;
}

/**
 * The header of a frame (protocol id to padding) carrying `info`; throws an INVALID_ARGUMENT XdsError naming the key
 * when a key or value is over 65535 bytes, or the header over Kitex's 64 KiB.
 */
export function encodeTTHeaderInfo(info: TTHeaderInfo): Buffer {
  const { strings, ints } = info;
  let pairs = 0;
  let size = 2;
  for (const key in strings) {
    pairs++;
    size += 4 + stringLength(key, key) + stringLength(strings[key]!, key);
  }
  if (pairs > 0) size += 3;
  if (ints.length > 0) size += 3;
  for (const [key, value] of ints) size += 4 + stringLength(value, `int key ${key}`);
  if (pairs > MAX_U16 || ints.length > MAX_U16) throw new XdsError("INVALID_ARGUMENT", `TTHeader: more than ${MAX_U16} key-values`);
  const padded = (size + 3) & ~3;
  if (padded > MAX_HEADER_SIZE) {
    throw new XdsError("INVALID_ARGUMENT", `TTHeader: the key-values make a ${padded}-byte header, over Kitex's limit of ${MAX_HEADER_SIZE} bytes`);
  }
  const header = Buffer.allocUnsafe(padded);
  header[0] = info.protocolId;
  header[1] = 0; // no transforms
  let at = 2;
  if (pairs > 0) {
    header[at] = 0x01;
    at = header.writeUInt16BE(pairs, at + 1);
    for (const key in strings) at = writeString(header, strings[key]!, writeString(header, key, at));
  }
  if (ints.length > 0) {
    header[at] = 0x10;
    at = header.writeUInt16BE(ints.length, at + 1);
    for (const [key, value] of ints) at = writeString(header, value, header.writeUInt16BE(key, at));
  }
  header.fill(0, at); // padding
  return header;
}

/** A whole frame (LENGTH included): `header` (from encodeTTHeaderInfo) and the payload's `parts`, of `payloadLength` bytes in all. */
export function ttheaderFrame(seqId: number, header: Buffer, parts: readonly Buffer[], payloadLength: number): Buffer {
  const frame = Buffer.allocUnsafe(4 + FIXED_SIZE + header.length + payloadLength);
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.writeUInt16BE(TTHEADER_MAGIC, 4);
  frame.writeUInt16BE(0, 6); // flags
  frame.writeInt32BE(seqId | 0, 8);
  frame.writeUInt16BE(header.length / 4, 12);
  let at = 14 + header.copy(frame, 14);
  for (const part of parts) at += part.copy(frame, at);
  return frame;
}

/** The bytes a reader needs to tell whether a frame is TTHeader: LENGTH, MAGIC and FLAGS. */
export const TTHEADER_PREFIX_SIZE = 8;

/**
 * Why a frame whose first TTHEADER_PREFIX_SIZE bytes are `start` cannot be TTHeader (LENGTH out of bounds, no magic),
 * or undefined; lets a reader fail before waiting for the whole LENGTH.
 */
export function ttheaderPrefixProblem(start: Buffer): string | undefined {
  const magic = start.readUInt16BE(4);
  if (magic !== TTHEADER_MAGIC) return `not a TTHeader frame: bytes 4-5 are 0x${hex(magic)}, not the magic 0x${hex(TTHEADER_MAGIC)}`;
  const length = start.readUInt32BE(0);
  if (length < FIXED_SIZE || length > MAX_FRAME_SIZE) return `bad TTHeader frame: LENGTH ${length} is not within [${FIXED_SIZE}, ${MAX_FRAME_SIZE}]`;
  return undefined;
}

/**
 * The payload of `frame` (one whole frame, LENGTH included), or why it is not a TTHeader frame whose payload has
 * protocol id `protocolId`. The key-values are not read: a client has no use for a reply's.
 */
export function ttheaderPayload(frame: Buffer, protocolId: number): Buffer | string {
  if (frame.length < 4 + FIXED_SIZE) return `bad TTHeader frame: ${frame.length} bytes, shorter than the fixed header (${4 + FIXED_SIZE} bytes)`;
  const problem = ttheaderPrefixProblem(frame);
  if (problem !== undefined) return problem;
  if (frame.length !== 4 + frame.readUInt32BE(0)) return `bad TTHeader frame: LENGTH ${frame.readUInt32BE(0)}, but ${frame.length - 4} bytes follow it`;
  const headerSize = frame.readUInt16BE(12) * 4;
  const room = Math.min(MAX_HEADER_SIZE, frame.length - 4 - FIXED_SIZE);
  if (headerSize < 4 || headerSize > room) return `bad TTHeader frame: HEADER SIZE ${headerSize} bytes is not within [4, ${room}]`;
  const at = 4 + FIXED_SIZE;
  if (frame[at] !== protocolId) return `TTHeader frame with payload protocol id ${frame[at]}, expected ${protocolId}`;
  if (frame[at + 1] !== 0) return `TTHeader frame with ${frame[at + 1]} transforms (compression), which rxds does not read`;
  return frame.subarray(at + headerSize);
}

/** The UTF-8 length of `text`, checked to fit a u16 length; `what` names it in the error. */
function stringLength(text: string, what: string): number {
  const length = Buffer.byteLength(text);
  if (length > MAX_U16) throw new XdsError("INVALID_ARGUMENT", `TTHeader: the key-value ${JSON.stringify(what.slice(0, 64))} is ${length} bytes, over ${MAX_U16}`);
  return length;
}

function writeString(into: Buffer, text: string, at: number): number {
  const length = into.write(text, at + 2);
  into.writeUInt16BE(length, at);
  return at + 2 + length;
}

function hex(value: number): string {
  return value.toString(16).padStart(4, "0").toUpperCase();
}
