// An ADS server whose every stream is scripted by the test: for failure modes the ControlPlane is too well
// behaved to produce (a stream ended after one response, a server that answers only with garbage…).
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials, type ServerDuplexStream, type ServiceDefinition } from "@grpc/grpc-js";
import {
  DiscoveryRequestSchema,
  DiscoveryResponseSchema,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from "../../gen/envoy/service/discovery/v3/discovery_pb.js";

/** One open stream as the script sees it. */
export interface ScriptedStream {
  /** Which stream this is, counting from 1. */
  readonly number: number;
  /** The stream itself: write responses, end it, or fail it with `call.destroy(error)` / `call.emit("error", …)`. */
  readonly call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  /** When it opened (performance.now()). */
  readonly openedAt: number;
}

/** Called for every request received, with its stream. */
export type StreamScript = (stream: ScriptedStream, request: DiscoveryRequest) => void;

/** An ADS server on 127.0.0.1 running `script`; `streams` lists every stream it was opened. */
export class RawAdsServer {
  readonly streams: ScriptedStream[] = [];
  readonly requests: DiscoveryRequest[] = [];
  private server: Server | undefined;
  address = "";

  constructor(private readonly script: StreamScript) {}

  async start(port = 0): Promise<this> {
    const server = new Server();
    server.addService(ads, {
      StreamAggregatedResources: (call: ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>) => {
        const stream: ScriptedStream = { number: this.streams.length + 1, call, openedAt: performance.now() };
        this.streams.push(stream);
        call.on("data", (request: DiscoveryRequest) => {
          this.requests.push(request);
          this.script(stream, request);
        });
        call.on("error", () => undefined);
        call.on("end", () => call.end());
      },
    });
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.server = server;
    this.address = `127.0.0.1:${bound}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
  }
}

const ads: ServiceDefinition = {
  StreamAggregatedResources: {
    path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources",
    requestStream: true,
    responseStream: true,
    requestSerialize: (r: DiscoveryRequest) => Buffer.from(toBinary(DiscoveryRequestSchema, r)),
    requestDeserialize: (b: Buffer) => fromBinary(DiscoveryRequestSchema, b),
    responseSerialize: (r: DiscoveryResponse) => Buffer.from(toBinary(DiscoveryResponseSchema, r)),
    responseDeserialize: (b: Buffer) => fromBinary(DiscoveryResponseSchema, b),
  },
};
