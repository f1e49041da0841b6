// The package as a user gets it: `npm pack`, installed into a scratch project with its peers (from npm's cache), then
// every ts snippet of the README compiled with `tsc --strict` and `skipLibCheck: false` (with the DOM lib, which
// @connectrpc/connect's and @types/thrift's declarations need), every documented entry point
// imported (and `require('rxds')` from CommonJS), calls routed through `rxds serve` by the installed `register()` and
// by rxds/connect with the application's own protobuf-es schemas, the `rxds` command run, and the tarball checked by @arethetypeswrong/cli (ESM-only profile) and publint.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile, cp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientStatusRequestSchema, ClientStatusResponseSchema } from "../../gen/envoy/service/status/v3/csds_pb.js";
import { serveMesh } from "../../src/server/mesh-server.js";

const root = new URL("../../../", import.meta.url).pathname;
const run = promisify(execFile);
const bin = (name: string) => join(root, "node_modules", ".bin", name);

/** Free names the README's snippets use without declaring them (the reader's own code), declared for the compiler. */
const snippetGlobals = `declare const init: typeof import("rxds").init;
declare const XdsClient: typeof import("rxds").XdsClient;
declare const xds: import("rxds").XdsClient;
declare const servers: import("rxds").XdsServerOptions[];
declare const node: import("rxds").XdsNodeOptions;
declare const GreetServiceClient: import("@grpc/grpc-js").ServiceClientConstructor;
declare const greetServiceDefinition: import("@grpc/grpc-js").ServiceDefinition;
declare const greetHandlers: import("@grpc/grpc-js").UntypedServiceImplementation;
declare const request: unknown;
declare const callback: (error: unknown, response?: unknown) => void;
type HelloMessage = import("@bufbuild/protobuf").Message<"proxyless.HelloRequest"> & { message: string };
type HelloSchema = import("@bufbuild/protobuf/codegenv2").GenMessage<HelloMessage>;
declare const GreetService: import("@bufbuild/protobuf/codegenv2").GenService<{ sayHello1: { methodKind: "unary"; input: HelloSchema; output: HelloSchema } }>;
declare const jobs$: import("rxjs").Observable<import("rxds").RouteRequest>;
declare function dispatch(endpoint: import("rxds").EndpointModel): Promise<void>;
declare function connect(address: string, port: number): { close(): void };
declare const cluster: import("rxds/gen/envoy/config/cluster/v3/cluster_pb").Cluster;
declare const ClusterSchema: typeof import("rxds/gen/envoy/config/cluster/v3/cluster_pb").ClusterSchema;
`;

describe("the packed package, installed", function () {
  this.timeout(240_000);
  let scratch: string;
  let tarball: string;

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), "rxds-package-"));
    const packed = await run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", scratch], { cwd: root });
    tarball = join(scratch, packed.stdout.trim().split("\n").at(-1)!);
    const own = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
    const peers = ["@grpc/grpc-js", "rxjs", "@connectrpc/connect", "@connectrpc/connect-node", "thrift", "@types/thrift", "@types/node"].map((name) => `${name}@${own.devDependencies[name]}`);
    await writeFile(join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error", tarball, ...peers], { cwd: scratch });
  });

  after(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it("PackageSnippets: every ts snippet of the README compiles with tsc --strict and skipLibCheck: false", async () => {
    const readme = await readFile(join(root, "README.md"), "utf8");
    const snippets = [...readme.matchAll(/^```ts\n([^]*?)^```/gm)].map((m) => m[1]!);
    expect(snippets.length).to.be.greaterThan(8);
    await mkdir(join(scratch, "snippets"), { recursive: true });
    await Promise.all(snippets.map((code, i) => writeFile(join(scratch, "snippets", `snippet-${i + 1}.ts`), `${code}\nexport {};\n`)));
    await writeFile(join(scratch, "snippets", "globals.d.ts"), snippetGlobals);
    // The Thrift snippet imports a client generated from the demo IDL, as its reader would generate it.
    await cp(join(root, "gen", "thrift"), join(scratch, "snippets", "gen", "thrift"), { recursive: true });
    await writeFile(
      join(scratch, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, target: "ES2022", module: "nodenext", moduleResolution: "nodenext", lib: ["ES2023", "DOM"], types: ["node"] },
        include: ["snippets"],
      }),
    );
    const compiled = await run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: scratch }).catch((e: { stdout: string }) => e);
    expect(compiled.stdout, compiled.stdout).to.equal("");
  });

  it("PackageEntryPoints: every documented entry point imports; require('rxds') works from CommonJS, typed under module nodenext", async () => {
    const script = `
      const entries = { rxds: ["init", "XdsClient", "XdsError", "messageType"], "rxds/server": ["ControlPlane", "serveMesh", "dumpMesh"],
        "rxds/grpc": ["xdsClientOptions", "addCsdsService", "metainfo"], "rxds/connect": ["createXdsTransport", "waitForReady"],
        "rxds/operators": ["routeWith", "endpointChanges", "whenReady"], "rxds/thrift": ["createXdsThriftClient"],
        "rxds/gen/envoy/config/cluster/v3/cluster_pb": ["ClusterSchema"] };
      for (const [entry, names] of Object.entries(entries)) {
        const module = await import(entry);
        for (const name of names) if (module[name] === undefined) throw new Error(entry + " lacks " + name);
      }
      console.log("imported " + Object.keys(entries).length);`;
    expect((await run(process.execPath, ["--input-type=module", "-e", script], { cwd: scratch })).stdout).to.equal("imported 7\n");
    const required = await run(process.execPath, ["-e", "const rxds = require('rxds'); console.log(typeof rxds.init, typeof require('rxds/grpc').xdsClientOptions)"], { cwd: scratch });
    expect(required.stdout).to.equal("function function\n");
    await mkdir(join(scratch, "cjs"), { recursive: true });
    await writeFile(join(scratch, "cjs", "consumer.cts"), `import rxds = require("rxds");\nexport const start: typeof rxds.init = rxds.init;\n`);
    await writeFile(
      join(scratch, "cjs", "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, skipLibCheck: false, noEmit: true, module: "nodenext", moduleResolution: "nodenext", types: ["node"] }, include: ["consumer.cts"] }),
    );
    const compiled = await run(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "cjs/tsconfig.json"], { cwd: scratch }).catch((e: { stdout: string }) => e);
    expect(compiled.stdout, compiled.stdout).to.equal("");
  });

  /** Runs `script` (an ES module) in the scratch project, with a bootstrap for `rxds serve` of `host` → a backend that `serve` sets up. */
  async function runRouted(host: string, serve: (backend: Server) => void, script: string): Promise<string> {
    const backend = new Server();
    serve(backend);
    const port = await new Promise<number>((resolve, reject) => backend.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, bound) => (e ? reject(e) : resolve(bound))));
    const mesh = join(scratch, `${host}.yaml`);
    await writeFile(
      mesh,
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${host}, namespace: default}
spec:
  hosts: [${host}]
  ports: [{number: 8080, name: grpc, protocol: GRPC}]
  resolution: STATIC
  endpoints: [{address: 127.0.0.1, ports: {grpc: ${port}}}]
`,
    );
    const plane = await serveMesh({ config: mesh, port: 0, log: () => undefined });
    try {
      const bootstrap = { xds_servers: [{ server_uri: plane.address, channel_creds: [{ type: "insecure" }] }], node: { id: "sidecar~127.0.0.1~app.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc" } } };
      const env = { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), RXDS_LOG: "none" };
      return (await run(process.execPath, ["--input-type=module", "-e", script], { cwd: scratch, env })).stdout;
    } finally {
      await plane.close();
      backend.forceShutdown();
    }
  }

  it("PackageRoutedCall: the installed register() routes a grpc-js call to xds:/// through rxds serve", async () => {
    const echo = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => callback(null, Buffer.from(`echo ${call.request.toString()}`));
    const script = `
      import * as grpc from "@grpc/grpc-js";
      import { register } from "rxds/grpc";
      register();
      const client = new grpc.Client("xds:///echo.default.svc.cluster.local:8080", grpc.credentials.createInsecure());
      const bytes = (b) => b;
      client.makeUnaryRequest("/pkg.Echo/Call", bytes, bytes, Buffer.from("hi"), { deadline: Date.now() + 20000 }, (error, answer) => {
        console.log(error ? error.message : answer.toString());
        process.exit(error ? 1 : 0);
      });`;
    const out = await runRouted("echo", (backend) => backend.register("/pkg.Echo/Call", echo, (b: Buffer) => b, (b: Buffer) => b, "unary"), script);
    expect(out).to.equal("echo hi\n");
  });

  it("PackageProtobufCopies: rxds/connect sends and receives messages of the application's own protobuf-es schemas", async () => {
    // The backend answers a CSDS request with the node it was sent; the client's schemas come from rxds/gen, which
    // imports the installed @bufbuild/protobuf, not the copy inside rxds's bundle.
    const fetch = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const request = fromBinary(ClientStatusRequestSchema, call.request);
      callback(null, Buffer.from(toBinary(ClientStatusResponseSchema, create(ClientStatusResponseSchema, { config: [{ node: request.node }] }))));
    };
    const script = `
      import { createClient } from "@connectrpc/connect";
      import { init } from "rxds";
      import { createXdsTransport } from "rxds/connect";
      import { ClientStatusDiscoveryService } from "rxds/gen/envoy/service/status/v3/csds_pb";
      const transport = createXdsTransport(init(), { target: "csds.default.svc.cluster.local:8080", protocol: "grpc" });
      const answer = await createClient(ClientStatusDiscoveryService, transport).fetchClientStatus({ node: { id: "app-1", cluster: "east" } });
      console.log(answer.$typeName, answer.config[0].node.id, answer.config[0].node.cluster);
      transport.close();
      process.exit(0);`;
    const path = "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus";
    const out = await runRouted("csds", (backend) => backend.register(path, fetch, (b: Buffer) => b, (b: Buffer) => b, "unary"), script);
    expect(out).to.equal("envoy.service.status.v3.ClientStatusResponse app-1 east\n");
  });

  it("PackageCommand: the rxds command answers --help and --version", async () => {
    const help = await run(join(scratch, "node_modules", ".bin", "rxds"), ["--help"], { cwd: scratch });
    expect(help.stdout).to.match(/^usage: rxds serve /).and.contain("rxds status <host:port>").and.contain("rxds watch <target>");
    const own = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as { version: string };
    expect((await run(join(scratch, "node_modules", ".bin", "rxds"), ["--version"], { cwd: scratch })).stdout).to.equal(`rxds ${own.version}\n`);
  });

  it("PackageContents: a LICENSE, source maps that carry their sources, no demo code; attw (ESM-only profile) and publint pass", async () => {
    const files = (await run("tar", ["tzf", tarball])).stdout.split("\n");
    expect(files).to.include("package/LICENSE");
    expect(files).to.include("package/dist/lib/THIRD-PARTY-NOTICES.md");
    expect(files.filter((f) => /gen\/(proxyless|thrift)\//.test(f) || f.includes("/test/") || f.endsWith(".tsbuildinfo"))).to.deep.equal([]);
    const map = JSON.parse(await readFile(join(scratch, "node_modules", "rxds", "dist", "src", "xds-client.js.map"), "utf8")) as { sourcesContent?: string[] };
    expect(map.sourcesContent?.[0]).to.contain("export class XdsClient");
    // The bundle's maps lead to the TypeScript sources, with their text.
    const bundleMap = JSON.parse(await readFile(join(scratch, "node_modules", "rxds", "dist", "lib", "index.js.map"), "utf8")) as { sources: string[]; sourcesContent?: string[] };
    const index = bundleMap.sources.findIndex((source) => source.endsWith("src/index.ts"));
    expect(index, bundleMap.sources.join(", ")).to.be.greaterThan(-1);
    expect(bundleMap.sourcesContent?.[index]).to.contain("export");
    const attw = await run(bin("attw"), ["--profile", "esm-only", "--no-color", tarball]).catch((e: { stdout: string; code: number }) => e);
    expect("code" in attw ? attw.code : 0, attw.stdout).to.equal(0);
    const publint = await run(bin("publint"), ["--strict", "--pack", "false", join(scratch, "node_modules", "rxds")]);
    expect(publint.stdout).to.contain("All good!");
  });
});
