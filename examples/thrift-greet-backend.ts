// A Thrift GreetService backend on loopback (the `thrift` package's server), for `npm run demo:thrift` and the
// rxds/thrift tests: it answers with its own name and records every call (method, the THeader key-values it read).
// A request whose Message is `sleep:<ms>` is answered after that long (for deadlines); `throw` gets the server's
// TApplicationException.

import * as net from "node:net";
import type { AddressInfo } from "node:net";
import thrift from "thrift";
import { GreetService, HelloResponse, type HelloRequest } from "../gen/thrift/proxyless/index.js";
import type { ThriftProtocolKind, ThriftTransportKind } from "rxds/thrift";

// The package's server warns "SeqId already set" on every compact reply after the first on a connection (it reuses
// its output protocol, harmlessly); keep that one line out of the output.
const lib = thrift as unknown as { setLogFunc(log: (line: string) => void): void };
lib.setLogFunc((line) => {
  if (!line.includes("SeqId already set")) console.log(line);
});

/** What a backend saw of one call. */
export interface SeenThriftCall {
  /** The method name, e.g. `SayHello`. */
  readonly method: string;
  /** The THeader key-values the call carried (none unless the transport is "header"). */
  readonly headers: Readonly<Record<string, string>>;
}

/** The transports the package's server speaks (not Kitex's TTHeader). */
export type ServerTransportKind = Exclude<ThriftTransportKind, "ttheader">;

/** The server's transport and protocol classes for the client's choice ("header": THeaderProtocol over TBufferedTransport). */
function serverWire(transport: ServerTransportKind, protocol: ThriftProtocolKind): { transport: unknown; protocol: unknown } {
  const lib = thrift as unknown as Record<string, unknown>;
  if (transport === "header") return { transport: lib["TBufferedTransport"], protocol: lib["THeaderProtocol"] };
  return {
    transport: transport === "framed" ? lib["TFramedTransport"] : lib["TBufferedTransport"],
    protocol: protocol === "binary" ? lib["TBinaryProtocol"] : lib["TCompactProtocol"],
  };
}

/** What a processor gets as its input protocol: with THeader, its transport holds the key-values read. */
interface InputProtocol {
  readonly trans?: { getReadHeaders?(): Record<string, string>; clearReadHeaders?(): void };
}

/** A Thrift GreetService server on 127.0.0.1. */
export class ThriftGreetBackend {
  /** Every call it served, in order. */
  readonly calls: SeenThriftCall[] = [];
  /** What connections sent that was not Thrift (the thrift package ends such a connection and reports it on the server). */
  readonly connectionErrors: Error[] = [];
  private readonly sockets = new Set<net.Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    /** What it answers (`Message`). */
    readonly name: string,
    private readonly server: net.Server,
  ) {
    // Without a listener, the "error" the thrift package emits for a connection that sends garbage (a port scan, an
    // HTTP/2 client at the wrong port) would end the process; a server goes on serving its other connections.
    server.on("error", (error: Error) => this.connectionErrors.push(error));
    server.on("connection", (socket: net.Socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** How many client connections are open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Starts a backend answering `name`, reading `transport` × `protocol`. */
  static async start(name: string, transport: ServerTransportKind = "framed", protocol: ThriftProtocolKind = "binary"): Promise<ThriftGreetBackend> {
    let self: ThriftGreetBackend | undefined;
    let reading: InputProtocol | undefined;
    const answer = (method: string) => (request: HelloRequest): HelloResponse | Promise<HelloResponse> => {
      self!.calls.push({ method, headers: { ...reading?.trans?.getReadHeaders?.() } });
      if (request.Message === "throw") throw new Error(`${name} refuses`);
      const response = new HelloResponse({ Message: name });
      if (!request.Message.startsWith("sleep:")) return response;
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          self!.timers.delete(timer);
          resolve(response);
        }, Number(request.Message.slice("sleep:".length)));
        self!.timers.add(timer);
      });
    };
    const processor = new GreetService.Processor({ SayHello: answer("SayHello"), SayHello1: answer("SayHello1") });
    // The handler runs inside process(), once the message and its THeader have been read.
    const recording = {
      process(input: InputProtocol, output: unknown): void {
        reading = input;
        try {
          processor.process(input as never, output as never);
        } finally {
          reading = undefined;
          // The package's buffered THeader transport keeps key-values across messages: start each afresh.
          input.trans?.clearReadHeaders?.();
        }
      },
    };
    const server = (thrift as unknown as { createMultiplexServer(processor: unknown, options: object): net.Server }).createMultiplexServer(
      recording,
      serverWire(transport, protocol),
    );
    self = new ThriftGreetBackend(name, server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return self;
  }

  /** Closes every connection and the listener. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
