import { expect } from "chai";
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import * as rxjs from "rxjs";
import { resourceSchemas } from "../../src/client/resource-schemas.js";
import * as rx from "../../src/rx.js";
import { extensionSchemas } from "../../src/resources/extension-schemas.js";

const probe = fileURLToPath(new URL("../support/loaded-modules.js", import.meta.url));

/** What importing the modules into a fresh process (run with `nodeOptions`) loaded: ES module URLs and CommonJS paths. */
async function loadedBy(nodeOptions: string[], ...specifiers: string[]): Promise<{ esm: string[]; cjs: string[] }> {
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions, probe, ...specifiers], { timeout: 30_000 });
  return JSON.parse(stdout) as { esm: string[]; cjs: string[] };
}

describe("start-up cost", () => {
  it("GeneratedCodeDeferred: importing rxds and rxds/grpc loads no generated Envoy module, nothing of the server side, not rxjs's index nor re2js", async () => {
    const { esm: urls, cjs: paths } = await loadedBy(["--conditions=rxds-unbundled"], "rxds", "rxds/grpc");
    expect(urls.some((url) => url.endsWith("/dist/src/index.js")), "the probe saw rxds load").to.equal(true);
    expect(urls.filter((url) => /\/dist\/gen\/(envoy|xds|udpa|istio|google)\//.test(url) && !url.endsWith("/envoy/type/v3/percent_pb.js"))).to.deep.equal([]);
    expect(urls.filter((url) => url.includes("/dist/src/server/"))).to.deep.equal([]);
    expect(urls.filter((url) => url.includes("/node_modules/rxjs/")), "rxjs's index, imported").to.deep.equal([]);
    expect(paths.filter((path) => path.endsWith("/rxjs/dist/cjs/index.js")), "rxjs's index, required").to.deep.equal([]);
    expect(paths.some((path) => path.endsWith("/rxjs/dist/cjs/internal/Observable.js")), "rxjs's parts, required").to.equal(true);
    expect([...urls, ...paths].filter((path) => path.includes("/node_modules/re2js/"))).to.deep.equal([]);
  });

  it("BundleAlone: as installed, rxds and rxds/grpc load from the bundle alone, with protobuf-es inside it, generated code deferred, rxjs's parts and without re2js", async () => {
    const { esm: urls, cjs: paths } = await loadedBy([], "rxds", "rxds/grpc");
    const own = urls.filter((url) => url.startsWith(new URL("../../", import.meta.url).href) && !url.includes("/node_modules/"));
    expect(own.filter((url) => !url.includes("/dist/lib/") && !url.endsWith("/support/loaded-modules.js"))).to.deep.equal([]);
    expect(own.some((url) => url.endsWith("/dist/lib/integrations/grpc/index.js"))).to.equal(true);
    const bundle = own.filter((url) => url.includes("/dist/lib/"));
    expect(bundle.length, "files of the bundle loaded").to.be.at.most(25);
    // A generated Envoy file's descriptors are built inside esbuild's lazy initialiser (an indented assignment in an
    // __esm wrapper), which runs on first use; one built at a chunk's top level would run at import.
    const code = (await Promise.all(bundle.map((url) => readFile(new URL(url), "utf8")))).join("\n");
    const built = /^([ \t]*)(?:var )?file_(?:envoy|xds|udpa|istio|google_rpc)\w* = /gm;
    const places = [...code.matchAll(built)];
    expect(places.length, "generated files in the loaded chunks").to.be.greaterThan(50);
    expect(places.filter((m) => m[1] === "").map((m) => m[0])).to.deep.equal([]);
    expect(urls.filter((url) => url.includes("/node_modules/rxjs/")), "rxjs's index, imported").to.deep.equal([]);
    expect(paths.filter((path) => path.endsWith("/rxjs/dist/cjs/index.js")), "rxjs's index, required").to.deep.equal([]);
    expect(paths.some((path) => path.endsWith("/rxjs/dist/cjs/internal/Observable.js")), "rxjs's parts, required").to.equal(true);
    expect([...urls, ...paths].filter((path) => path.includes("/node_modules/re2js/") || path.includes("/dist/src/") || path.includes("/dist/gen/"))).to.deep.equal([]);
    expect(urls.filter((url) => url.includes("/node_modules/@bufbuild/protobuf/")), "protobuf-es, bundled").to.deep.equal([]);
  });

  it("RxjsParts: each rxjs class and function rxds loads from rxjs's own files is the one `import \"rxjs\"` gives", () => {
    const parts = Object.entries(rx);
    expect(parts.length).to.be.greaterThan(30);
    for (const [name, value] of parts) expect(value, name).to.equal((rxjs as Record<string, unknown>)[name]);
    expect(new rx.Subject<number>()).to.be.instanceOf(rxjs.Observable);
  });

  it("LazySchemaNames: each lazily loaded schema's written type name is the name of the schema it loads", () => {
    for (const lazy of [...resourceSchemas, ...extensionSchemas]) {
      expect(lazy.schema().typeName, lazy.typeName).to.equal(lazy.typeName);
      expect(lazy.schema(), "loaded once").to.equal(lazy.schema());
    }
  });
});
