// The drop-in proof: one grpc-js program (test/fixtures/drop-in-calls.ts) runs as a @grpc/grpc-js-xds user wrote it,
// then with its one import changed to rxds/grpc, each in a process of its own, against `rxds serve` serving the
// example mesh (80/20 split) and two GreetService backends; both print the same outcomes.
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { expect } from "chai";
import { readFile, rm, writeFile } from "node:fs/promises";
import { serveMesh, type MeshServer } from "rxds/server";
import { ConfigDir, exampleMesh, MemoryLog, target } from "../fixtures/serve-mesh.js";
import { RunningProcess } from "../support/running-process.js";

/** A GreetService backend answering with its name; "slow" after 1.5 s, "fail" with PERMISSION_DENIED. */
class Backend {
  private constructor(
    readonly port: number,
    private readonly server: Server,
  ) {}

  static async start(name: string): Promise<Backend> {
    const server = new Server();
    const method = (path: string) => ({
      path,
      requestStream: false,
      responseStream: false,
      requestDeserialize: (bytes: Buffer) => bytes.subarray(2).toString(),
      responseSerialize: (text: string) => Buffer.concat([Buffer.from([0x0a, text.length]), Buffer.from(text)]),
      requestSerialize: (text: string) => Buffer.from(text),
      responseDeserialize: (bytes: Buffer) => bytes.toString(),
    });
    const reply = (call: ServerUnaryCall<string, string>, callback: sendUnaryData<string>) => {
      if (call.request === "fail") callback({ code: status.PERMISSION_DENIED, details: `denied by ${name}`, metadata: new Metadata() });
      else if (call.request === "slow") setTimeout(() => callback(null, name), 1500).unref();
      else callback(null, name);
    };
    server.addService({ SayHello: method("/proxyless.GreetService/SayHello"), SayHello1: method("/proxyless.GreetService/SayHello1") }, { SayHello: reply, SayHello1: reply });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
    );
    return new Backend(port, server);
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** Runs a compiled program with the bootstrap of `server`; resolves with the JSON lines it printed, by case. */
async function run(program: URL, server: string): Promise<Map<string, Record<string, unknown>>> {
  const bootstrap = {
    xds_servers: [{ server_uri: server, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: "sidecar~127.0.0.1~drop-in.default~default.svc.cluster.local", locality: {}, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
  };
  const child = RunningProcess.node(program, [target], { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), RXDS_LOG: "none" });
  const code = await child.exit();
  expect(code, child.output).to.equal(0);
  const cases = new Map<string, Record<string, unknown>>();
  for (const line of child.output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const parsed = JSON.parse(line) as Record<string, unknown>;
    cases.set(String(parsed["case"]), parsed);
  }
  return cases;
}

describe("register() from rxds/grpc: a drop-in for @grpc/grpc-js-xds", function () {
  this.timeout(60000);
  const program = new URL("../fixtures/drop-in-calls.js", import.meta.url);
  const rxdsProgram = new URL(`../fixtures/drop-in-calls-rxds-${process.pid}.js`, import.meta.url);
  let v1: Backend;
  let v2: Backend;
  let dir: ConfigDir;
  let server: MeshServer;

  before(async () => {
    [v1, v2] = await Promise.all([Backend.start("v1"), Backend.start("v2")]);
    dir = await ConfigDir.create(await exampleMesh({ ports: [v1.port, v2.port], weights: [80, 20] }));
    server = await serveMesh({ config: dir.file, port: 0, log: new MemoryLog().log });
  });

  after(async () => {
    await rm(rxdsProgram, { force: true });
    await server?.close();
    v1?.stop();
    v2?.stop();
    await dir?.remove();
  });

  it("DropIn_OneImport: the same program gives the same outcomes with grpc-js-xds's register() and rxds's", async () => {
    const source = await readFile(program, "utf8");
    const changed = source.replace(`from "@grpc/grpc-js-xds"`, `from "rxds/grpc"`);
    const lines = (text: string) => text.split("\n");
    const differing = lines(source).filter((line, i) => line !== lines(changed)[i]);
    expect(differing, "the one line a user changes").to.deep.equal([`import { register } from "@grpc/grpc-js-xds";`]);
    await writeFile(rxdsProgram, changed);

    const peer = await run(program, server.address);
    const ours = await run(rxdsProgram, server.address);
    for (const outcomes of [peer, ours]) {
      expect(outcomes.get("header route")).to.deep.equal({ case: "header route", answers: { v1: 20 } });
      expect(outcomes.get("method route")).to.deep.equal({ case: "method route", answers: { v2: 20 } });
      // v1 ~ Binomial(200, 0.8): P(v1 < 130 or v1 > 190) = 2.5e-7 (exact sum).
      const split = outcomes.get("weighted split")!["answers"] as Record<string, number>;
      expect(Object.keys(split).sort()).to.deep.equal(["v1", "v2"]);
      expect(split["v1"]! + split["v2"]!).to.equal(200);
      expect(split["v1"]).to.be.within(130, 190);
      // The route's 0.5 s timeout ends the call to the backend that answers after 1.5 s.
      expect(outcomes.get("route timeout")).to.deep.equal({ case: "route timeout", code: status.DEADLINE_EXCEEDED });
      expect(outcomes.get("backend status")).to.deep.equal({ case: "backend status", outcome: { code: status.PERMISSION_DENIED, details: "denied by v2" } });
      expect(outcomes.get("after failures")).to.deep.equal({ case: "after failures", outcome: { answer: "v2" } });
    }
    expect([...ours.keys()]).to.deep.equal([...peer.keys()]);
  });
});
