// rxjs is a peer dependency: installed beside an application, rxds uses the application's copy of rxjs, so their
// observables are one kind. And where observables of another copy cross in, any InteropObservable is accepted.
// `rxjs-user` (an npm alias of rxjs 7.8.1, against rxds's own 7.8.2) stands for the application's copy.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { firstValueFrom, type Observable } from "rxjs";
import * as userRx from "rxjs-user";
import { endpointChanges, perEndpoint, routeWith, type EndpointChanges, type EndpointSource, type RouteResult } from "rxds/operators";
import type { Router } from "../../src/routing/router.js";
import { XdsError } from "../../src/xds-error.js";
import { kitexHost, kitexMesh, serveMesh } from "../support/mesh.js";
import { Harness } from "../support/wire.js";

const target = `${kitexHost}:8888`;
const root = fileURLToPath(new URL("../../../", import.meta.url));

/** Runs `node script args…` in `cwd`; resolves with its exit code and output. */
function run(cwd: string, script: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [script, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}

/** What an application sees: it imports its own rxjs and rxds, routes a request, and reports which rxjs rxds used. */
const application = `
import { Observable, of, firstValueFrom } from "rxjs";
import { readFileSync } from "node:fs";
import { XdsClient } from "rxds";
import { routeWith } from "rxds/operators";
const [address, target] = process.argv.slice(2);
const xds = new XdsClient({ servers: [{ uri: address }], node: { id: "sidecar~127.0.0.1~app.default~default.svc.cluster.local", metadata: { GENERATOR: "grpc" } } });
const routed = of({ path: "/proxyless.GreetService/SayHello1", headers: { stage: "canary" } }).pipe(routeWith(xds.router(target)));
const decision = await firstValueFrom(routed);
await xds.close();
console.log(JSON.stringify({
  rxjs: JSON.parse(readFileSync(new URL("./node_modules/rxjs/package.json", import.meta.url), "utf8")).version,
  resolveIsTheApplicationsObservable: xds.resolve(target) instanceof Observable,
  routedIsTheApplicationsObservable: routed instanceof Observable,
  cluster: decision.leafCluster ?? decision.code,
}));
`;

describe("rxjs as a peer dependency", () => {
  let h: Harness;
  beforeEach(async () => (h = await new Harness().start()));
  afterEach(async () => h.stop());

  it("TheApplicationsCopy: installed beside an application's own rxjs, rxds builds its streams with that copy", async function () {
    this.timeout(20000);
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const app = await mkdtemp(join(tmpdir(), "rxds-peer-"));
    try {
      // rxds as npm installs it: its package.json, its bundle (dist/lib, which the app loads), dist/src and dist/gen,
      // with no node_modules of its own; beside it the application's rxjs (7.8.1) and rxds's other dependencies.
      const pkg = join(app, "node_modules", "rxds");
      await mkdir(join(pkg, "dist"), { recursive: true });
      await writeFile(join(pkg, "package.json"), await readFile(join(root, "package.json")));
      const code = (from: string) => !from.endsWith(".map") && !from.endsWith(".d.ts");
      for (const dir of ["lib", "src"]) await cp(join(root, "dist", dir), join(pkg, "dist", dir), { recursive: true, filter: code });
      await cp(join(root, "dist", "gen"), join(pkg, "dist", "gen"), { recursive: true, filter: code });
      await mkdir(join(app, "node_modules", "@bufbuild"), { recursive: true });
      await mkdir(join(app, "node_modules", "@grpc"), { recursive: true });
      for (const dependency of ["@bufbuild/protobuf", "@grpc/grpc-js", "re2js", "yaml"]) {
        await symlink(join(root, "node_modules", dependency), join(app, "node_modules", dependency), "dir");
      }
      await symlink(join(root, "node_modules", "rxjs-user"), join(app, "node_modules", "rxjs"), "dir");
      await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", type: "module", private: true }));
      await writeFile(join(app, "app.mjs"), application);

      const { code: exit, out } = await run(app, "app.mjs", [h.address, target]);
      expect(exit, out).to.equal(0);
      expect(JSON.parse(out)).to.deep.equal({
        rxjs: "7.8.1",
        resolveIsTheApplicationsObservable: true,
        routedIsTheApplicationsObservable: true,
        cluster: `outbound|8888|v1|${kitexHost}`,
      });
    } finally {
      await rm(app, { recursive: true, force: true });
    }
  });

  it("InteropObservables: observables of another rxjs copy are accepted as router$ and as sources", async () => {
    serveMesh(h.cp, kitexMesh(9001, 9002), "grpc");
    const xds = h.xds();
    const router = await firstValueFrom(xds.router(target));
    expect(xds.router(target) instanceof userRx.Observable).to.equal(false); // truly another copy here

    // The other copy's observables, typed as this copy's for the compiler: they are not the same class.
    const routers = new userRx.BehaviorSubject<Router>(router) as unknown as Observable<Router>;
    const requests = userRx.of({ path: "/proxyless.GreetService/SayHello1", headers: { stage: "canary" } }) as unknown as Observable<{ path: string; headers: Record<string, string> }>;
    // ... and rxds's observables are InteropObservables for the other copy in turn.
    const routed = routeWith(routers)(requests) as unknown as userRx.Observable<RouteResult>;
    const results = await userRx.firstValueFrom(userRx.from(routed).pipe(userRx.toArray()));
    expect(results.map((r) => (r instanceof XdsError ? r.code : r.leafCluster))).to.deep.equal([`outbound|8888|v1|${kitexHost}`]);

    const updates = new userRx.Subject<EndpointSource>();
    const pools: number[] = [];
    const subscription = perEndpoint({ create: () => "resource", dispose: () => undefined })(
      endpointChanges()(updates as unknown as Observable<EndpointSource>) as Observable<EndpointChanges>,
    ).subscribe((pool) => pools.push(pool.size));
    updates.next(router.snapshot);
    subscription.unsubscribe();
    expect(pools).to.deep.equal([2]);
    expect(updates.observed).to.equal(false);
  });
});
