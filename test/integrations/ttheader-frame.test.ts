import { expect } from "chai";
import { kitexMetainfoKey } from "../../src/integrations/thrift/kitex-metainfo-key.js";
import { encodeTTHeaderInfo, ttheaderFrame, ttheaderPayload, ttheaderPrefixProblem } from "../../src/integrations/thrift/ttheader-frame.js";
import { thrown } from "../support/thrown.js";

/** Bytes from hex, spaces and comments (`# …` to the end of a line) ignored. */
function bytes(hex: string): Buffer {
  return Buffer.from(hex.replace(/#.*$/gm, "").replace(/\s+/g, ""), "hex");
}

// A Kitex call's frame, laid out by hand from cloudwego's TTHeader reference (Kitex's own tests only round-trip
// their encoder through their decoder; no byte-level example is published).
const HEADER = `
  00 00                                   # PROTOCOL ID 0 (binary), NUM TRANSFORMS 0
  01 0002                                 # INFO_KEYVALUE, 2 pairs
  0003 69736e  000c 4772656574536572766963 65                     # "isn" → "GreetService"
  0011 5250435f5452414e5349545f7374616765  0006 63616e617279      # "RPC_TRANSIT_stage" → "canary"
  10 0001                                 # INFO_INTKEYVALUE, 1 pair
  0009 0008 53617948656c6c6f              # 9 (TO_METHOD) → "SayHello"
  0000                                    # padding to 68 bytes
`;
const FRAME = `
  00000052                                # LENGTH 82 = 10 + 68 + 4
  1000 0000                               # MAGIC, FLAGS
  00000007                                # SEQUENCE NUMBER 7
  0011                                    # HEADER SIZE 17 × 4 = 68
  ${HEADER}
  80010001                                # the payload (4 bytes here)
`;
const kitexCall = { protocolId: 0, strings: { isn: "GreetService", RPC_TRANSIT_stage: "canary" }, ints: [[9, "SayHello"]] as [number, string][] };

describe("TTHeader frames (pure functions)", () => {
  it("encodes a Kitex call's header and frame byte for byte as the TTHeader reference lays them out", () => {
    const header = encodeTTHeaderInfo(kitexCall);
    expect(header.toString("hex")).to.equal(bytes(HEADER).toString("hex"));
    const payload = [Buffer.from([0x80, 0x01]), Buffer.from([0x00, 0x01])];
    expect(ttheaderFrame(7, header, payload, 4).toString("hex")).to.equal(bytes(FRAME).toString("hex"));
  });

  it("encodes a frame without key-values as the protocol id, no transforms and padding", () => {
    expect(encodeTTHeaderInfo({ protocolId: 2, strings: {}, ints: [] }).toString("hex")).to.equal("02000000");
  });

  it("counts key-value lengths in UTF-8 bytes", () => {
    const header = encodeTTHeaderInfo({ protocolId: 0, strings: { "RPC_TRANSIT_é": "ü" }, ints: [] });
    expect(header.subarray(5, 7).readUInt16BE()).to.equal(14); // 12 ASCII bytes + 2 for "é"
    expect(header.toString("utf8", 7, 21)).to.equal("RPC_TRANSIT_é");
    expect(header.subarray(21, 23).readUInt16BE()).to.equal(2);
  });

  it("refuses key-values over 65535 bytes and headers over 64 KiB, naming the key", () => {
    expect(thrown(() => encodeTTHeaderInfo({ protocolId: 0, strings: { k: "v".repeat(65_536) }, ints: [] }), "INVALID_ARGUMENT").message).to.equal(
      'TTHeader: the key-value "k" is 65536 bytes, over 65535',
    );
    const big = { protocolId: 0, strings: { a: "v".repeat(40_000), b: "v".repeat(40_000) }, ints: [] };
    expect(thrown(() => encodeTTHeaderInfo(big), "INVALID_ARGUMENT").message).to.equal("TTHeader: the key-values make a 80016-byte header, over Kitex's limit of 65536 bytes");
  });

  it("reads a frame's payload, skipping its key-values", () => {
    expect(ttheaderPayload(bytes(FRAME), 0)).to.deep.equal(Buffer.from([0x80, 0x01, 0x00, 0x01]));
  });

  it("says why a frame is not one it can read", () => {
    const frame = bytes(FRAME);
    const altered = (at: number, ...values: number[]) => {
      const copy = Buffer.from(frame);
      copy.set(values, at);
      return copy;
    };
    expect(ttheaderPayload(altered(4, 0x0f, 0xff), 0)).to.equal("not a TTHeader frame: bytes 4-5 are 0x0FFF, not the magic 0x1000");
    expect(ttheaderPayload(frame, 2)).to.equal("TTHeader frame with payload protocol id 0, expected 2");
    expect(ttheaderPayload(altered(15, 1), 0)).to.equal("TTHeader frame with 1 transforms (compression), which rxds does not read");
    expect(ttheaderPayload(altered(12, 0, 0), 0)).to.equal("bad TTHeader frame: HEADER SIZE 0 bytes is not within [4, 72]");
    expect(ttheaderPayload(altered(12, 0, 19), 0)).to.equal("bad TTHeader frame: HEADER SIZE 76 bytes is not within [4, 72]");
    expect(ttheaderPayload(frame.subarray(0, 80), 0)).to.equal("bad TTHeader frame: LENGTH 82, but 76 bytes follow it");
    expect(ttheaderPrefixProblem(bytes("00000004 1000 0000"))).to.equal("bad TTHeader frame: LENGTH 4 is not within [10, 1073741823]");
    expect(ttheaderPrefixProblem(bytes("48545450 2f31 2e31"))).to.equal("not a TTHeader frame: bytes 4-5 are 0x2F31, not the magic 0x1000"); // "HTTP/1.1"
  });

  it("maps call key-values to the keys a Kitex server reads as metainfo", () => {
    expect(["stage", "x-request-id", "RPC_PERSIST_trace", "rpc_persist_trace", "Rpc_Transit_Lane", "RPC_TRANSIT_UPSTREAM_x", "RPC_PERSISTtrace"].map(kitexMetainfoKey)).to.deep.equal([
      "RPC_TRANSIT_stage",
      "RPC_TRANSIT_x-request-id",
      "RPC_PERSIST_trace",
      "RPC_PERSIST_trace",
      "RPC_TRANSIT_Lane",
      "RPC_TRANSIT_UPSTREAM_x",
      "RPC_TRANSIT_RPC_PERSISTtrace",
    ]);
  });
});
