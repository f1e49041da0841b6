// Real GreetService backends on loopback for the integration tests: each answers with its own name and
// records what it saw of every call (method, metadata, remaining deadline).
//
// - GrpcGreetBackend: a grpc-js server with a hand-written service definition built on the protobuf-es
//   schemas; besides SayHello and SayHello1 it serves two test-only streaming methods on the same
//   service (SayHelloStream: server streaming, Chat: bidi) to check that streams are routed at start.
// - ConnectGreetBackend: connect-node's adapter on a plain http2 server (gRPC, Connect and gRPC-web);
//   besides GreetService it serves a test-only GreetStreamService (one server-streaming method), whose
//   descriptor is built here at run time so that the demo's proto stays as kitex's example has it.

import { create, createFileRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { GenService } from "@bufbuild/protobuf/codegenv2";
import { FieldDescriptorProto_Label, FieldDescriptorProto_Type, FileDescriptorProtoSchema, MethodDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  Metadata as GrpcMetadata,
  makeGenericClientConstructor,
  type ConnectionInjector,
  Server,
  ServerCredentials,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type ServiceDefinition,
  status,
} from "@grpc/grpc-js";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { AddressInfo } from "node:net";
import {
  file_proxyless_greet,
  GreetService,
  HelloRequestSchema,
  HelloResponseSchema,
  type HelloRequest,
  type HelloResponse,
} from "../../gen/proxyless/greet_pb.js";

/** What a backend saw of one call. */
export interface SeenCall {
  /** The method name, e.g. `SayHello`. */
  readonly method: string;
  /** The request headers / metadata, lower-case names, first value. */
  readonly headers: Readonly<Record<string, string>>;
  /** The ms left until the call's deadline when the backend saw it; undefined for none. */
  readonly deadlineMs: number | undefined;
  /** The SANs of the client's certificate (Node's `subjectaltname`), over mutual TLS. */
  readonly peerSans?: string;
  /** When the backend saw it (Date.now()). */
  readonly at: number;
}

/** A status a backend ends a call with instead of answering it. */
export interface BackendFailure {
  readonly code: number;
  readonly details: string;
  /** Trailers to send with it (e.g. `grpc-retry-pushback-ms`). */
  readonly trailers?: Readonly<Record<string, string>>;
}

/** Mutual TLS for a backend: its certificate and key, and the CA client certificates must be signed by (PEM). */
export interface BackendTls {
  readonly certificate: string;
  readonly privateKey: string;
  readonly clientCa: string;
}

const serialize = {
  requestSerialize: (request: HelloRequest) => Buffer.from(toBinary(HelloRequestSchema, request)),
  requestDeserialize: (bytes: Buffer) => fromBinary(HelloRequestSchema, bytes),
  responseSerialize: (response: HelloResponse) => Buffer.from(toBinary(HelloResponseSchema, response)),
  responseDeserialize: (bytes: Buffer) => fromBinary(HelloResponseSchema, bytes),
};

/** proxyless.GreetService for grpc-js, plus the test-only streaming methods SayHelloStream and Chat. */
export const greetServiceDefinition = {
  SayHello: { path: "/proxyless.GreetService/SayHello", requestStream: false, responseStream: false, ...serialize },
  SayHello1: { path: "/proxyless.GreetService/SayHello1", requestStream: false, responseStream: false, ...serialize },
  SayHelloStream: { path: "/proxyless.GreetService/SayHelloStream", requestStream: false, responseStream: true, ...serialize },
  Chat: { path: "/proxyless.GreetService/Chat", requestStream: true, responseStream: true, ...serialize },
} satisfies ServiceDefinition;

/** A grpc-js client class for greetServiceDefinition, as a code generator would make it. */
export const GreetServiceClient = makeGenericClientConstructor(greetServiceDefinition, "GreetService");

/**
 * proxyless.GreetStreamService, test-only: SayHelloStream(HelloRequest) returns (stream HelloResponse).
 * The backend answers `<name>#0`, `<name>#1`, `<name>#2` and ends; for the message "forever" it answers
 * `<name>#0` and then holds the stream open until the call is cancelled.
 */
export const GreetStreamService = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "proxyless/greet_stream.proto",
    package: "proxyless",
    dependency: [file_proxyless_greet.proto.name],
    syntax: "proto3",
    service: [
      {
        name: "GreetStreamService",
        method: [
          create(MethodDescriptorProtoSchema, {
            name: "SayHelloStream",
            inputType: ".proxyless.HelloRequest",
            outputType: ".proxyless.HelloResponse",
            serverStreaming: true,
          }),
        ],
      },
    ],
  }),
  (name) => (name === file_proxyless_greet.proto.name ? file_proxyless_greet : undefined),
).getService("proxyless.GreetStreamService") as GenService<{
  sayHelloStream: { methodKind: "server_streaming"; input: typeof HelloRequestSchema; output: typeof HelloResponseSchema };
}>;

/**
 * proxyless.GreetService as the grpc-js backend serves it, streaming methods included, for Connect clients: built at run
 * time in a registry of its own (its messages are wire-compatible copies of HelloRequest and HelloResponse), since the
 * demo's proto keeps kitex's two unary methods.
 */
export const GreetServiceWithStreams = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "proxyless/greet_streams.proto",
    package: "proxyless",
    syntax: "proto3",
    messageType: ["HelloRequest", "HelloResponse"].map((name) => ({
      name,
      field: [{ name: "message", number: 1, type: FieldDescriptorProto_Type.STRING, label: FieldDescriptorProto_Label.OPTIONAL, jsonName: "message" }],
    })),
    service: [
      {
        name: "GreetService",
        method: [
          create(MethodDescriptorProtoSchema, { name: "SayHello", inputType: ".proxyless.HelloRequest", outputType: ".proxyless.HelloResponse" }),
          create(MethodDescriptorProtoSchema, { name: "SayHelloStream", inputType: ".proxyless.HelloRequest", outputType: ".proxyless.HelloResponse", serverStreaming: true }),
          create(MethodDescriptorProtoSchema, { name: "Chat", inputType: ".proxyless.HelloRequest", outputType: ".proxyless.HelloResponse", clientStreaming: true, serverStreaming: true }),
        ],
      },
    ],
  }),
  () => undefined,
).getService("proxyless.GreetService") as GenService<{
  sayHello: { methodKind: "unary"; input: typeof HelloRequestSchema; output: typeof HelloResponseSchema };
  sayHelloStream: { methodKind: "server_streaming"; input: typeof HelloRequestSchema; output: typeof HelloResponseSchema };
  chat: { methodKind: "bidi_streaming"; input: typeof HelloRequestSchema; output: typeof HelloResponseSchema };
}>;

/** A HelloRequest. */
export function hello(message = "hi"): HelloRequest {
  return create(HelloRequestSchema, { message });
}

function reply(message: string): HelloResponse {
  return create(HelloResponseSchema, { message });
}

function remaining(deadline: Date | number): number | undefined {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? at - Date.now() : undefined;
}

/**
 * A grpc-js GreetService server on 127.0.0.1 that answers every call with its name. It accepts TCP
 * connections itself and injects them into the grpc-js server, so tests can count open connections.
 */
export class GrpcGreetBackend {
  /** Every call it served, in order. */
  readonly calls: SeenCall[] = [];
  /** Every `failEvery`-th unary call (counting from 1) fails with UNAVAILABLE; 0: none. */
  failEvery = 0;
  /** How long each unary call waits before it is answered, ms. */
  delayMs = 0;
  /** While set, unary calls wait for it before they are answered (a backend holding its calls). */
  gate: Promise<void> | undefined;
  /** How many unary calls it is answering now. */
  inFlight = 0;
  /** Decides each unary call's failure (after its delay), given what the backend saw and the call's number from 1; undefined: answer it. */
  failWith: ((call: SeenCall, n: number) => BackendFailure | undefined) | undefined;
  /**
   * While set, SayHelloStream writes `after` replies and then fails with `code`, and Chat answers nothing until the
   * client half-closes, then writes `after` replies and fails with `code` (no reply at all: a trailers-only failure).
   */
  streamFailure: { readonly after: number; readonly code: number } | undefined;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    readonly name: string,
    private readonly server: Server,
    private readonly injector: ConnectionInjector,
    private readonly listener: net.Server,
  ) {
    listener.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      injector.injectConnection(socket);
    });
  }

  /** The port it listens on. */
  get port(): number {
    return (this.listener.address() as AddressInfo).port;
  }

  /** How many client connections are open. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Starts the backend; with `tls`, it serves only mutual TLS (an Istio STRICT workload). */
  static async start(name: string, tls?: BackendTls): Promise<GrpcGreetBackend> {
    const server = new Server();
    let self: GrpcGreetBackend | undefined;
    type Seen = { metadata: { getMap(): Record<string, unknown> }; getDeadline(): Date | number; getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } } };
    const record = (method: string, call: Seen): void => {
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(call.metadata.getMap())) if (typeof value === "string") headers[key] = value;
      const peerSans = call.getAuthContext().sslPeerCertificate?.subjectaltname;
      self!.calls.push({ method, headers, deadlineMs: remaining(call.getDeadline()), at: Date.now(), ...(peerSans === undefined ? {} : { peerSans }) });
    };
    const failure = (failed: BackendFailure) => {
      const trailers = new GrpcMetadata();
      for (const [key, value] of Object.entries(failed.trailers ?? {})) trailers.set(key, value);
      return { code: failed.code, details: failed.details, metadata: trailers };
    };
    const unary = (method: string) => (call: ServerUnaryCall<HelloRequest, HelloResponse>, callback: sendUnaryData<HelloResponse>) => {
      record(method, call);
      const backend = self!;
      const n = backend.calls.length;
      backend.inFlight++;
      void (async () => {
        await backend.gate;
        if (backend.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, backend.delayMs));
        backend.inFlight--;
        const failed = backend.failWith?.(backend.calls[n - 1]!, n);
        if (failed !== undefined) callback(failure(failed));
        else if (backend.failEvery > 0 && n % backend.failEvery === 0) callback({ code: status.UNAVAILABLE, details: `${name} failed call ${n}` });
        else callback(null, reply(name));
      })();
    };
    server.addService(greetServiceDefinition, {
      SayHello: unary("SayHello"),
      SayHello1: unary("SayHello1"),
      SayHelloStream: (call: ServerWritableStream<HelloRequest, HelloResponse>) => {
        record("SayHelloStream", call);
        const failing = self!.streamFailure;
        for (let i = 0; i < (failing?.after ?? 3); i++) call.write(reply(`${name}#${i}`));
        if (failing === undefined) call.end();
        else call.emit("error", failure({ code: failing.code, details: `${name} failed the stream after ${failing.after} replies` }));
      },
      Chat: (call: ServerDuplexStream<HelloRequest, HelloResponse>) => {
        record("Chat", call);
        const failing = self!.streamFailure;
        if (failing === undefined) {
          call.on("data", (request: HelloRequest) => call.write(reply(`${name}:${request.message}`)));
          call.on("end", () => call.end());
          return;
        }
        let received = 0;
        call.on("data", () => received++);
        call.on("end", () => {
          for (let i = 0; i < failing.after; i++) call.write(reply(`${name}#${i}`));
          call.emit("error", failure({ code: failing.code, details: `${name} failed the chat after ${received} requests` }));
        });
      },
    });
    const credentials =
      tls === undefined
        ? ServerCredentials.createInsecure()
        : ServerCredentials.createSsl(Buffer.from(tls.clientCa), [{ cert_chain: Buffer.from(tls.certificate), private_key: Buffer.from(tls.privateKey) }], true);
    const injector = server.createConnectionInjector(credentials);
    const listener = net.createServer();
    self = new GrpcGreetBackend(name, server, injector, listener);
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(0, "127.0.0.1", () => resolve());
    });
    return self;
  }

  /** Stops listening and drops open connections. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    this.injector.destroy();
    this.server.forceShutdown();
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }
}

/** A Connect GreetService server (gRPC, Connect and gRPC-web protocols) over cleartext http2 on 127.0.0.1. */
export class ConnectGreetBackend {
  /** Every call it served, in order. */
  readonly calls: SeenCall[] = [];
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  private constructor(
    readonly name: string,
    private readonly server: http2.Http2Server,
  ) {
    server.on("session", (session) => {
      this.sessions.add(session);
      session.on("close", () => this.sessions.delete(session));
    });
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  static async start(name: string): Promise<ConnectGreetBackend> {
    let self: ConnectGreetBackend | undefined;
    const handle = (method: string) => (_request: HelloRequest, context: HandlerContext) => {
      const headers: Record<string, string> = {};
      context.requestHeader.forEach((value, key) => (headers[key] = value));
      self!.calls.push({ method, headers, deadlineMs: context.timeoutMs(), at: Date.now() });
      return reply(name);
    };
    const handler = connectNodeAdapter({
      routes: (router) => {
        router.service(GreetService, { sayHello: handle("SayHello"), sayHello1: handle("SayHello1") });
        router.service(GreetStreamService, {
          sayHelloStream: async function* (request: HelloRequest, context: HandlerContext) {
            handle("SayHelloStream")(request, context);
            yield reply(`${name}#0`);
            if (request.message === "forever") {
              if (!context.signal.aborted) await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
              return;
            }
            yield reply(`${name}#1`);
            yield reply(`${name}#2`);
          },
        });
      },
    });
    const server = http2.createServer(handler);
    self = new ConnectGreetBackend(name, server);
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    return self;
  }

  /** How many client connections are open. */
  get openSessions(): number {
    return this.sessions.size;
  }

  /** Stops listening and closes every open connection. */
  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const session of this.sessions) session.destroy();
    await closed;
  }
}
