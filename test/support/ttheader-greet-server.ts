// A Thrift GreetService server speaking Kitex's TTHeader, written for the tests from cloudwego's TTHeader reference
// (not from rxds's encoder, so that each checks the other): it decodes every frame it is sent — fixed header,
// protocol id, transforms, every info block —, records what it read, runs the generated processor over the payload
// (the `thrift` package's TBinaryProtocol or TCompactProtocol), and answers in a TTHeader frame of its own encoding.
//
// Reference: LENGTH u32 | 0x1000 u16 | FLAGS u16 | SEQUENCE NUMBER u32 | HEADER SIZE u16 (/4) | PROTOCOL ID u8 (0
// binary, 2 compact) | NUM TRANSFORMS u8 | transform ids | infos: 0x00 padding, 0x01 u16 count × (u16-length key,
// u16-length value), 0x10 u16 count × (u16 key, u16-length value), 0x11 one u16-length ACL token | payload.

import * as net from "node:net";
import type { AddressInfo } from "node:net";
import thrift from "thrift";
import { GreetService, HelloResponse, type HelloRequest } from "../../gen/thrift/proxyless/index.js";

/** What the server read of one frame. */
export interface TTHeaderFrameRead {
  readonly flags: number;
  readonly seqId: number;
  readonly protocolId: number;
  /** INFO_KEYVALUE pairs. */
  readonly strings: Readonly<Record<string, string>>;
  /** INFO_INTKEYVALUE pairs. */
  readonly ints: Readonly<Record<number, string>>;
  /** The method and sequence id of the Thrift message in the payload. */
  readonly method: string;
  readonly messageSeqId: number;
}

/** What a Kitex server's metainfo holds after reading `strings` (bytedance/gopkg cloud/metainfo, SetMetaInfoFromMap). */
export function kitexMetainfo(strings: Readonly<Record<string, string>>): { transient: Record<string, string>; persistent: Record<string, string> } {
  const transient: Record<string, string> = {};
  const persistent: Record<string, string> = {};
  for (const [key, value] of Object.entries(strings)) {
    if (value === "") continue;
    // RPC_TRANSIT_UPSTREAM_ (the longest prefix) is transient too, as GetValue reads it.
    const match = /^(RPC_TRANSIT_UPSTREAM_|RPC_TRANSIT_|RPC_PERSIST_)(.+)$/s.exec(key);
    if (match === null) continue;
    (match[1] === "RPC_PERSIST_" ? persistent : transient)[match[2]!] = value;
  }
  return { transient, persistent };
}

type Protocol = new (transport: unknown) => { readMessageBegin(): { fname: string; rseqid: number } };
const lib = thrift as unknown as {
  TBinaryProtocol: Protocol;
  TCompactProtocol: Protocol;
  TFramedTransport: new (buffer?: Buffer, onFlush?: (message: Buffer) => void) => object;
};

/** A GreetService server on 127.0.0.1 reading and answering TTHeader frames. */
export class TTHeaderGreetServer {
  /** Every frame it read, in order. */
  readonly frames: TTHeaderFrameRead[] = [];
  /** What it could not read (each closed its connection). */
  readonly errors: string[] = [];
  /**
   * How it answers: in TTHeader frames; or wrongly, which a TTHeader client must refuse: in framed Thrift messages
   * ("framed"), or in TTHeader frames whose message lacks its last byte ("truncated").
   */
  replyAs: "ttheader" | "framed" | "truncated" = "ttheader";
  /** How many connections it accepted. */
  accepted = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server = net.createServer((socket) => this.serve(socket));

  private constructor(
    /** What it answers (`Message`). */
    readonly name: string,
  ) {}

  /** Starts a server answering `name`. */
  static async start(name: string): Promise<TTHeaderGreetServer> {
    const self = new TTHeaderGreetServer(name);
    await new Promise<void>((resolve, reject) => {
      self.server.once("error", reject);
      self.server.listen(0, "127.0.0.1", () => resolve());
    });
    return self;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** How many client connections are open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Closes every connection and the listener. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.accepted++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.on("error", () => {});
    let pending = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
        const frame = pending.subarray(0, 4 + pending.readUInt32BE(0));
        pending = pending.subarray(frame.length);
        try {
          this.answer(socket, frame);
        } catch (error: unknown) {
          this.errors.push(error instanceof Error ? error.message : String(error));
          socket.destroy();
          return;
        }
      }
    });
  }

  /** Reads one whole frame and answers it. */
  private answer(socket: net.Socket, frame: Buffer): void {
    if (frame.readUInt16BE(4) !== 0x1000) throw new Error(`no TTHeader magic: 0x${frame.readUInt16BE(4).toString(16)}`);
    const flags = frame.readUInt16BE(6);
    const seqId = frame.readInt32BE(8);
    const headerEnd = 14 + frame.readUInt16BE(12) * 4;
    if (headerEnd > frame.length) throw new Error(`header size ${headerEnd - 14} past the frame's end`);
    const protocolId = frame[14]!;
    let at = 16 + frame[15]!; // past the transform ids
    const strings: Record<string, string> = {};
    const ints: Record<number, string> = {};
    const u16 = () => {
      if (at + 2 > headerEnd) throw new Error(`a u16 at ${at} runs past the header`);
      at += 2;
      return frame.readUInt16BE(at - 2);
    };
    const text = () => {
      const length = u16();
      if (at + length > headerEnd) throw new Error(`a ${length}-byte string at ${at} runs past the header`);
      at += length;
      return frame.toString("utf8", at - length, at);
    };
    while (at < headerEnd) {
      const info = frame[at++];
      if (info === 0x00) continue;
      else if (info === 0x01) for (let n = u16(); n > 0; n--) strings[text()] = text();
      else if (info === 0x10) for (let n = u16(); n > 0; n--) ints[u16()] = text();
      else if (info === 0x11) strings["acl-token"] = text();
      else throw new Error(`unknown info id 0x${info!.toString(16)} at ${at - 1}`);
    }
    if (protocolId !== 0 && protocolId !== 2) throw new Error(`unknown protocol id ${protocolId}`);
    const Protocol = protocolId === 0 ? lib.TBinaryProtocol : lib.TCompactProtocol;
    const input = new Protocol(new lib.TFramedTransport(frame.subarray(headerEnd)));
    const begin = input.readMessageBegin.bind(input);
    input.readMessageBegin = () => {
      const message = begin();
      this.frames.push({ flags, seqId, protocolId, strings, ints, method: message.fname, messageSeqId: message.rseqid });
      return message;
    };
    // The framed transport's flush writes LENGTH and the message: the message is what the reply frame carries.
    const output = new Protocol(new lib.TFramedTransport(undefined, (framed) => socket.write(this.reply(framed.subarray(4), seqId, protocolId))));
    new GreetService.Processor({ SayHello: (request) => this.hello(request), SayHello1: (request) => this.hello(request) }).process(input as never, output as never);
  }

  private hello(request: HelloRequest): HelloResponse | Promise<HelloResponse> {
    const response = new HelloResponse({ Message: this.name });
    if (!request.Message.startsWith("sleep:")) return response;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve(response);
      }, Number(request.Message.slice("sleep:".length)));
      this.timers.add(timer);
    });
  }

  /** The reply frame of `message`: TTHeader with one key-value (`server: <name>`), or framed. */
  private reply(message: Buffer, seqId: number, protocolId: number): Buffer {
    if (this.replyAs === "framed") return Buffer.concat([u32(message.length), message]);
    if (this.replyAs === "truncated") message = message.subarray(0, -1);
    const name = Buffer.from(this.name);
    const info = Buffer.concat([Buffer.from([protocolId, 0, 0x01, 0, 1, 0, 6]), Buffer.from("server"), u16(name.length), name]);
    const header = Buffer.concat([info, Buffer.alloc((4 - (info.length % 4)) % 4)]);
    const fixed = Buffer.alloc(10);
    fixed.writeUInt16BE(0x1000, 0);
    fixed.writeInt32BE(seqId, 4);
    fixed.writeUInt16BE(header.length / 4, 8);
    return Buffer.concat([u32(10 + header.length + message.length), fixed, header, message]);
  }
}

function u32(value: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(value);
  return bytes;
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}
