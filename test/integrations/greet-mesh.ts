// The fixture of the grpc-js integration tests: a control plane and an XdsClient of it, a v1 and a v2
// GreetService backend on loopback, the clients a test makes, and a watch on what escapes its calls.
import { expect } from "chai";
import type { XdsClient } from "rxds";
import { GrpcGreetBackend } from "../support/greet-backend.js";
import { Harness } from "../support/wire.js";
import { watchEscapes, type Escapes } from "./escapes.js";

/** What each test of a suite gets; set up before and stopped after each test. */
export interface GreetMesh {
  h: Harness;
  xds: XdsClient;
  v1: GrpcGreetBackend;
  v2: GrpcGreetBackend;
  /** Clients a test made; each is closed after the test. */
  clients: { close(): void }[];
}

/** Registers the hooks that give each test of the enclosing suite a fresh GreetMesh, and fail it if anything escaped. */
export function greetMeshPerTest(): GreetMesh {
  const mesh = {} as GreetMesh;
  let escapes: Escapes;
  beforeEach(async () => {
    mesh.h = await new Harness().start();
    mesh.xds = mesh.h.xds();
    [mesh.v1, mesh.v2] = await Promise.all([GrpcGreetBackend.start("v1"), GrpcGreetBackend.start("v2")]);
    mesh.clients = [];
    escapes = watchEscapes();
  });
  afterEach(async () => {
    const escaped = await escapes.stop();
    for (const client of mesh.clients) client.close();
    await mesh.h.stop();
    await Promise.all([mesh.v1.stop(), mesh.v2.stop()]);
    expect(escaped, "unhandled rejections and uncaught exceptions").to.deep.equal([]);
  });
  return mesh;
}
