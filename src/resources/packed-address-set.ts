/** The keys of a released set. */
const NO_KEYS = new Float64Array(0);

/** A set of IPv4 socket addresses, each as one number, ipv4 × 65536 + port (exact in a double), for the duplicate check. */
export class PackedAddressSet {
  private keys: Float64Array;
  private mask: number;
  private size = 0;

  constructor(expected: number) {
    let capacity = 64;
    while (capacity < expected * 2) capacity *= 2;
    this.keys = new Float64Array(capacity).fill(-1);
    this.mask = capacity - 1;
  }

  /** Drops the keys (the set is not used again). */
  release(): void {
    this.keys = NO_KEYS;
    this.size = 0;
    this.mask = 0;
  }

  /** Adds a key; false when it was already there. */
  add(ipv4: number, port: number): boolean {
    const key = ipv4 * 65536 + port;
    const keys = this.keys;
    const mask = this.mask;
    let i = hashOf(ipv4, port) & mask;
    for (;;) {
      const k = keys[i]!;
      if (k === key) return false;
      if (k === -1) break;
      i = (i + 1) & mask;
    }
    keys[i] = key;
    if (++this.size * 2 > keys.length) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.keys;
    const keys = new Float64Array(old.length * 2).fill(-1);
    const mask = keys.length - 1;
    for (let j = 0; j < old.length; j++) {
      const key = old[j]!;
      if (key === -1) continue;
      const port = key % 65536;
      let i = hashOf((key - port) / 65536, port) & mask;
      while (keys[i] !== -1) i = (i + 1) & mask;
      keys[i] = key;
    }
    this.keys = keys;
    this.mask = mask;
  }
}

function hashOf(ipv4: number, port: number): number {
  let h = Math.imul(ipv4 ^ Math.imul(port, 0x9e37_79b1), 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  return h ^ (h >>> 16);
}

/**
 * The address in buf[start, end) as a uint32 when it is an IPv4 literal in the form node:net's isIP accepts
 * (four decimal octets 0..255, no leading zeros), else -1.
 */
export function strictIpv4(buf: Uint8Array, start: number, end: number): number {
  let value = 0;
  let i = start;
  for (let octet = 0; octet < 4; octet++) {
    if (octet > 0) {
      if (i >= end || buf[i] !== 0x2e) return -1;
      i++;
    }
    const first = i;
    let n = 0;
    while (i < end && i - first < 3) {
      const c = buf[i]! - 0x30;
      if (c < 0 || c > 9) break;
      n = n * 10 + c;
      i++;
    }
    const digits = i - first;
    if (digits === 0 || n > 255 || (digits > 1 && buf[first] === 0x30)) return -1;
    value = value * 256 + n;
  }
  return i === end ? value : -1;
}
