// XXH64 (github.com/Cyan4973/xxHash) with seed 0 over the UTF-8 bytes of a string: the hash gRFC A42 prescribes for
// hash policies and rings, so that rxds, Envoy and gRPC put the same request on the same endpoint of the same ring.
//
// JavaScript has no 64-bit integers but BigInt, which allocates on every operation; the request hash is computed on
// the call path, so the 64-bit arithmetic here works on pairs of unsigned 32-bit halves held in a register object
// (no allocation), and the bytes go through a reused scratch buffer. Callers keep a result as a Hash64 they own, or
// as its top 53 bits (`hashTop53`), which a JavaScript number holds exactly and which orders hashes as the full 64
// bits do (two hashes that differ only below bit 11 compare equal, a chance of 2^-53).

/** A 64-bit hash as two unsigned 32-bit halves; mutable, so that one can be reused call after call. */
export interface Hash64 {
  hi: number;
  lo: number;
}

const P1H = 0x9e3779b1;
const P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d;
const P2L = 0x27d4eb4f;
const P3H = 0x165667b1;
const P3L = 0x9e3779f9;
const P4H = 0x85ebca77;
const P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f;
const P5L = 0x165667c5;

/** The result registers of mul, add, rotl and round (a constant object: its fields are faster to reach than module variables). */
const R = { h: 0, l: 0 };

/**
 * (ah:al) × (bh:bl) mod 2^64: the full 64-bit product of the low halves by 16-bit limbs (every partial product
 * exact), plus the cross products, whose low 32 bits are all that reach the result (Math.imul).
 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const p00 = a0 * b0;
  const p10 = a1 * b0;
  const p01 = a0 * b1;
  const mid = (p00 >>> 16) + (p10 & 0xffff) + (p01 & 0xffff);
  const high = a1 * b1 + (p10 >>> 16) + (p01 >>> 16) + (mid >>> 16);
  R.l = ((mid << 16) | (p00 & 0xffff)) >>> 0;
  R.h = (high + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl;
  R.l = low >>> 0;
  R.h = (ah + bh + (low > 0xffffffff ? 1 : 0)) >>> 0;
}

/** (h:l) rotated left by 0 < r < 32. */
function rotl(h: number, l: number, r: number): void {
  R.h = ((h << r) | (l >>> (32 - r))) >>> 0;
  R.l = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** XXH64's round: rotl(acc + input × P2, 31) × P1. */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, R.h, R.l);
  rotl(R.h, R.l, 31);
  mul(R.h, R.l, P1H, P1L);
}

/** XXH64's mergeRound: (acc ^ round(0, v)) × P1 + P4. */
function mergeRound(acch: number, accl: number, vh: number, vl: number): void {
  round(0, 0, vh, vl);
  mul((acch ^ R.h) >>> 0, (accl ^ R.l) >>> 0, P1H, P1L);
  add(R.h, R.l, P4H, P4L);
}

/** The UTF-8 bytes of the string being hashed; grown when a longer one comes. */
const S = { bytes: new Uint8Array(256) };

/** Writes the UTF-8 encoding of `text` into S.bytes (an unpaired surrogate as U+FFFD, as TextEncoder does); returns its length. */
function encode(text: string): number {
  if (S.bytes.length < text.length * 3) S.bytes = new Uint8Array(text.length * 3);
  const out = S.bytes;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >>> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out[n++] = 0xf0 | (c >>> 18);
        out[n++] = 0x80 | ((c >>> 12) & 0x3f);
        out[n++] = 0x80 | ((c >>> 6) & 0x3f);
        out[n++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >>> 12);
    out[n++] = 0x80 | ((c >>> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return n;
}

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/**
 * XXH64 of the UTF-8 bytes of `text`, written into `out`; `seed` is a small non-negative integer (0 unless told,
 * as gRFC A42 prescribes). Allocates nothing (but a longer scratch buffer once).
 */
export function xxHash64(text: string, out: Hash64, seed = 0): void {
  const length = encode(text);
  const b = S.bytes;
  let p = 0;
  let hh: number;
  let hl: number;
  if (length >= 32) {
    add(P1H, P1L, P2H, P2L);
    add(R.h, R.l, 0, seed);
    let v1h = R.h;
    let v1l = R.l;
    add(P2H, P2L, 0, seed);
    let v2h = R.h;
    let v2l = R.l;
    let v3h = 0;
    let v3l = seed;
    // seed - P1, mod 2^64
    add(~P1H >>> 0, ~P1L >>> 0, 0, 1 + seed);
    let v4h = R.h;
    let v4l = R.l;
    const limit = length - 32;
    do {
      round(v1h, v1l, u32(b, p + 4), u32(b, p));
      v1h = R.h;
      v1l = R.l;
      round(v2h, v2l, u32(b, p + 12), u32(b, p + 8));
      v2h = R.h;
      v2l = R.l;
      round(v3h, v3l, u32(b, p + 20), u32(b, p + 16));
      v3h = R.h;
      v3l = R.l;
      round(v4h, v4l, u32(b, p + 28), u32(b, p + 24));
      v4h = R.h;
      v4l = R.l;
      p += 32;
    } while (p <= limit);
    rotl(v1h, v1l, 1);
    hh = R.h;
    hl = R.l;
    rotl(v2h, v2l, 7);
    add(hh, hl, R.h, R.l);
    hh = R.h;
    hl = R.l;
    rotl(v3h, v3l, 12);
    add(hh, hl, R.h, R.l);
    hh = R.h;
    hl = R.l;
    rotl(v4h, v4l, 18);
    add(hh, hl, R.h, R.l);
    hh = R.h;
    hl = R.l;
    mergeRound(hh, hl, v1h, v1l);
    mergeRound(R.h, R.l, v2h, v2l);
    mergeRound(R.h, R.l, v3h, v3l);
    mergeRound(R.h, R.l, v4h, v4l);
    hh = R.h;
    hl = R.l;
  } else {
    add(P5H, P5L, 0, seed);
    hh = R.h;
    hl = R.l;
  }
  add(hh, hl, 0, length);
  hh = R.h;
  hl = R.l;
  while (p + 8 <= length) {
    round(0, 0, u32(b, p + 4), u32(b, p));
    rotl((hh ^ R.h) >>> 0, (hl ^ R.l) >>> 0, 27);
    mul(R.h, R.l, P1H, P1L);
    add(R.h, R.l, P4H, P4L);
    hh = R.h;
    hl = R.l;
    p += 8;
  }
  if (p + 4 <= length) {
    mul(0, u32(b, p), P1H, P1L);
    rotl((hh ^ R.h) >>> 0, (hl ^ R.l) >>> 0, 23);
    mul(R.h, R.l, P2H, P2L);
    add(R.h, R.l, P3H, P3L);
    hh = R.h;
    hl = R.l;
    p += 4;
  }
  while (p < length) {
    mul(0, b[p]!, P5H, P5L);
    rotl((hh ^ R.h) >>> 0, (hl ^ R.l) >>> 0, 11);
    mul(R.h, R.l, P1H, P1L);
    hh = R.h;
    hl = R.l;
    p++;
  }
  // avalanche
  hl = (hl ^ (hh >>> 1)) >>> 0;
  mul(hh, hl, P2H, P2L);
  hh = R.h;
  hl = (R.l ^ ((R.l >>> 29) | (R.h << 3))) >>> 0;
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  out.hi = R.h;
  out.lo = (R.l ^ R.h) >>> 0;
}

/** `acc` ← rotl(acc, 1) XOR `next`: how Envoy and gRPC combine the hashes of several hash policies (gRFC A42). */
export function combineHash(acc: Hash64, next: Hash64): void {
  const hi = ((acc.hi << 1) | (acc.lo >>> 31)) >>> 0;
  const lo = ((acc.lo << 1) | (acc.hi >>> 31)) >>> 0;
  acc.hi = (hi ^ next.hi) >>> 0;
  acc.lo = (lo ^ next.lo) >>> 0;
}

/** The top 53 bits of a hash, as an exact non-negative integer: ordered as the full hash is (see the top of this file). */
export function hashTop53(hash: Hash64): number {
  return hash.hi * 2 ** 21 + (hash.lo >>> 11);
}

/** A 64-bit hash as 16 lower-case hex digits (for tests and logs). */
export function hashHex(hash: Hash64): string {
  return hash.hi.toString(16).padStart(8, "0") + hash.lo.toString(16).padStart(8, "0");
}
