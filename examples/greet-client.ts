// A GreetService client as a user writes it: one option turns the generated grpc-js client into a
// mesh client, so every call goes where the mesh's VirtualService says.
import { create } from "@bufbuild/protobuf";
import { credentials, Metadata, type Client } from "@grpc/grpc-js";
import type { XdsClient } from "rxds";
import { xdsClientOptions } from "rxds/grpc";
import { HelloRequestSchema, type HelloResponse } from "../gen/proxyless/greet_pb.js";
import { GreetServiceClient } from "./greet-service.js";

/** A GreetService client for `target` (e.g. `kitex-server:8888`) routed by `xds`. */
export function createGreetClient(xds: XdsClient, target: string): Client {
  return new GreetServiceClient(target, credentials.createInsecure(), xdsClientOptions(xds));
}

/** Calls `method` with `headers` as metadata; resolves with the reply's message. */
export function greet(client: Client, method: "SayHello" | "SayHello1", headers: Record<string, string> = {}): Promise<string> {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  const call = (client as unknown as Record<string, Function>)[method]!.bind(client);
  return new Promise((resolve, reject) =>
    call(create(HelloRequestSchema, { message: "hi" }), metadata, { deadline: Date.now() + 5000 }, (error: Error | null, reply?: HelloResponse) =>
      error ? reject(error) : resolve(reply?.message ?? ""),
    ),
  );
}
