// XXH64 against the reference implementation's outputs (computed with xxhash-wasm, which grpc-js-xds uses), over
// every code path: empty, under 4 bytes, 4..7, 8..31, 32 and more (the stripe loop), non-ASCII UTF-8, an unpaired
// surrogate (encoded as U+FFFD, as TextEncoder does), and seed 1 (Maglev's skip).
import { expect } from "chai";
import fc from "fast-check";
import { combineHash, hashHex, hashTop53, xxHash64, type Hash64 } from "../../src/routing/xx-hash64.js";

const VECTORS: [string, number, string][] = [
  ["", 0, "ef46db3751d8e999"],
  ["a", 0, "d24ec4f1a98c6e5b"],
  ["abc", 0, "44bc2cf5ad770999"],
  ["127.0.0.1:8080_0", 0, "f673a43b9624fa24"],
  ["x".repeat(32), 0, "e2df261fc2ec30eb"],
  ["The quick brown fox jumps over the lazy dog.", 0, "44ad33705751ad73"],
  ["héllo wörld ☃ 😀", 0, "37b75793f408bd95"],
  ["\ud800", 0, "3cf809391954c4fe"],
  ["10.0.0.1:8888", 1, "a1eccb80afc61c91"],
  ["0123456789".repeat(10), 0, "f80e7b96315afffa"],
];

function hex(text: string, seed = 0): string {
  const out: Hash64 = { hi: 0, lo: 0 };
  xxHash64(text, out, seed);
  return hashHex(out);
}

describe("xxHash64", () => {
  for (const [text, seed, expected] of VECTORS) {
    it(`hashes ${JSON.stringify(text.length > 20 ? `${text.slice(0, 20)}…` : text)} (seed ${seed}) as the reference does`, () => {
      expect(hex(text, seed)).to.equal(expected);
    });
  }

  it("gives the same hash for the same text after hashing a longer one (the scratch buffer is reused)", () => {
    const before = hex("abc");
    hex("y".repeat(5000));
    expect(hex("abc")).to.equal(before);
  });

  it("orders hashes by their top 53 bits as by the full 64 (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        const ha: Hash64 = { hi: 0, lo: 0 };
        const hb: Hash64 = { hi: 0, lo: 0 };
        xxHash64(a, ha);
        xxHash64(b, hb);
        const full = BigInt(`0x${hashHex(ha)}`) - BigInt(`0x${hashHex(hb)}`);
        const top = hashTop53(ha) - hashTop53(hb);
        return full === 0n ? top === 0 : top === 0 || Math.sign(top) === Math.sign(Number(full));
      }),
    );
  });

  it("combines two hashes as Envoy and gRPC do: rotate left by one, then XOR", () => {
    const acc: Hash64 = { hi: 0x80000001, lo: 0x00000003 };
    combineHash(acc, { hi: 0x0000000f, lo: 0xf0000000 });
    // rotl1(0x8000000100000003) = 0x0000000200000007; XOR 0x0000000ff0000000
    expect(hashHex(acc)).to.equal("0000000df0000007");
  });
});
