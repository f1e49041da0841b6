// A view kept from one config to the next: an update names exactly the resources that changed, and what it serves
// after is what translating the new config from scratch gives.
import { expect } from "chai";
import { grpcKind } from "../../../src/server/config/grpc-translation.js";
import { IdentityCache } from "../../../src/server/config/identity-cache.js";
import { MeshConfigCache, parseMeshSources } from "../../../src/server/config/mesh-config.js";
import { sidecarKind } from "../../../src/server/config/sidecar-translation.js";
import { ViewState, type ViewKind } from "../../../src/server/config/view-state.js";
import { viewTranslation, type TranslationOptions } from "../../../src/server/config/view-translation.js";
import { shortTypeName, type PackedResources } from "../../../src/server/config/xds-resources.js";

function serviceEntry(name: string, port = 20000): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: shop}
spec:
  hosts: [${name}]
  addresses: [10.1.0.${name.length}]
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: 127.0.0.1, ports: {http: ${port}}}]
`;
}

const rawRoutes = `"@type": type.googleapis.com/envoy.config.route.v3.RouteConfiguration
name: "outbound|80||a.shop.svc.cluster.local"
virtual_hosts: [{name: raw, domains: ["raw.example"], routes: [{match: {prefix: "/"}, route: {cluster: "outbound|80||a.shop.svc.cluster.local"}}]}]
`;

/** A view kept across the configs `documents` give, in turn, and what each update changed (`RDS name`, `(removed)` after). */
class Kept {
  private readonly parsed = new MeshConfigCache();
  private readonly cache = new IdentityCache();
  private readonly state: ViewState<unknown>;

  constructor(
    kind: ViewKind<unknown>,
    private readonly options: TranslationOptions = {},
  ) {
    this.state = new ViewState(kind);
  }

  update(...documents: string[]): string[] {
    const config = parseMeshSources([{ file: "mesh.yaml", text: documents.join("---\n") }], this.parsed);
    // The catalog is derived from the one the view served, as a reload does.
    const update = this.state.update(viewTranslation(config, this.options, this.cache, this.state.catalog));
    update.commit();
    return update.changes.map(({ typeUrl, name, resource }) => `${shortTypeName(typeUrl)} ${name}${resource === undefined ? " (removed)" : ""}`).sort();
  }

  get resources(): PackedResources {
    return this.state.resources;
  }

  /** Whether the last update's catalog was derived from the one before (else it was indexed from scratch). */
  get derived(): boolean {
    return this.state.catalog?.changes !== undefined;
  }
}

/** Services nothing else refers to, so that an edit changes a small part of the mesh (as a reload usually does). */
const others = Array.from({ length: 8 }, (_, i) => serviceEntry(`other${i}`));

/** What translating the documents from scratch serves, as type → name → bytes in hex. */
function fromScratch(kind: ViewKind<unknown>, ...documents: string[]): Record<string, Record<string, string>> {
  return fromScratchFor(kind, {}, ...documents);
}

function fromScratchFor(kind: ViewKind<unknown>, options: TranslationOptions, ...documents: string[]): Record<string, Record<string, string>> {
  const state = new ViewState(kind);
  state.update(viewTranslation(parseMeshSources([{ file: "mesh.yaml", text: documents.join("---\n") }]), options)).commit();
  return bytes(state.resources);
}

function bytes(resources: PackedResources): Record<string, Record<string, string>> {
  return Object.fromEntries([...resources].map(([typeUrl, byName]) => [shortTypeName(typeUrl), Object.fromEntries([...byName].map(([name, any]) => [name, Buffer.from(any.value).toString("hex")]))]));
}

describe("ViewState", () => {
  it("OnlyWhatChanged: an endpoint edit changes one EDS; a comment changes nothing; each update serves what a fresh translation does", () => {
    const view = new Kept(grpcKind);
    expect(view.update(serviceEntry("a"), serviceEntry("b"), ...others)).to.have.length(60);
    expect(view.update(serviceEntry("a"), serviceEntry("b", 20001), ...others)).to.deep.equal(["EDS outbound|80||b.shop.svc.cluster.local"]);
    expect(view.derived).to.equal(true);
    expect(bytes(view.resources)).to.deep.equal(fromScratch(grpcKind, serviceEntry("a"), serviceEntry("b", 20001), ...others));
    // Read again (its text changed), built again, and the same bytes: no change.
    expect(view.update(serviceEntry("a"), `# a comment\n${serviceEntry("b", 20001)}`, ...others)).to.deep.equal([]);
    // Most of the mesh changing: indexed from scratch, the same result.
    expect(view.update(serviceEntry("a", 20002), serviceEntry("b", 20002))).to.have.length(6 * 8 + 2);
    expect(view.derived).to.equal(false);
    expect(bytes(view.resources)).to.deep.equal(fromScratch(grpcKind, serviceEntry("a", 20002), serviceEntry("b", 20002)));
  });

  it("Destinations: a change to a service that another's routes send to rebuilds that other's routes too", () => {
    const view = new Kept(grpcKind);
    const routesToA = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: shop}
spec:
  hosts: [b]
  http: [{route: [{destination: {host: a}}]}]
`;
    view.update(serviceEntry("a"), serviceEntry("b"), routesToA, ...others);
    // a's only port becomes 81: b's route (to a's only port) names outbound|81||a…, and a's own resources move.
    const a81 = serviceEntry("a").replace("number: 80", "number: 81");
    const changed = view.update(a81, serviceEntry("b"), routesToA, ...others);
    expect(changed).to.include("RDS outbound|80||b.shop.svc.cluster.local");
    expect(changed.filter((name) => name.includes("other"))).to.deep.equal([]);
    expect(view.derived).to.equal(true);
    expect(bytes(view.resources)).to.deep.equal(fromScratch(grpcKind, a81, serviceEntry("b"), routesToA, ...others));
  });

  it("PolicyEdit: an edit of a VirtualService's fault or retries changes its route configuration in both views, as a fresh translation", () => {
    const policies = (fault: string, retries: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: b, namespace: shop}
spec:
  hosts: [b]
  http: [{route: [{destination: {host: b}}], fault: ${fault}, retries: ${retries}}]
`;
    const before = policies("{abort: {httpStatus: 503, percentage: {value: 10}}}", "{attempts: 2, backoff: 25ms}");
    const edits = [
      policies("{abort: {httpStatus: 503, percentage: {value: 20}}}", "{attempts: 2, backoff: 25ms}"),
      policies("{delay: {fixedDelay: 1s, percent: 5}}", "{attempts: 2, backoff: 25ms}"),
      policies("{delay: {fixedDelay: 1s, percent: 5}}", "{attempts: 2, backoff: 50ms, retryIgnorePreviousHosts: true}"),
    ];
    for (const [kind, routes] of [
      [grpcKind, "RDS outbound|80||b.shop.svc.cluster.local"],
      [sidecarKind, "RDS 80"],
    ] as const) {
      const view = new Kept(kind);
      view.update(serviceEntry("a"), serviceEntry("b"), before, ...others);
      for (const edit of edits) {
        expect(view.update(serviceEntry("a"), serviceEntry("b"), edit, ...others)).to.deep.equal([routes]);
        expect(view.derived).to.equal(true);
        expect(bytes(view.resources)).to.deep.equal(fromScratch(kind, serviceEntry("a"), serviceEntry("b"), edit, ...others));
      }
    }
  });

  it("MovedHost: a host that moves to another document in one edit is served throughout, not removed", () => {
    const view = new Kept(grpcKind);
    view.update(serviceEntry("a"), serviceEntry("b"), ...others);
    const renamed = serviceEntry("b").replace("name: b,", "name: b2,");
    expect(view.update(serviceEntry("a"), renamed, ...others)).to.deep.equal([]);
    expect(view.derived).to.equal(true);
    expect(view.update(serviceEntry("a"), ...others)).to.deep.equal([
      "CDS outbound|80||b.shop.svc.cluster.local (removed)",
      "EDS outbound|80||b.shop.svc.cluster.local (removed)",
      "LDS b.shop.svc.cluster.local:80 (removed)",
      "LDS b.shop.svc:80 (removed)",
      "LDS b.shop:80 (removed)",
      "RDS outbound|80||b.shop.svc.cluster.local (removed)",
    ]);
  });

  it("Raw: a raw resource replaces the generated one of its name, and its removal brings that back", () => {
    const view = new Kept(grpcKind);
    view.update(serviceEntry("a"));
    const generated = view.resources.get("type.googleapis.com/envoy.config.route.v3.RouteConfiguration")?.get("outbound|80||a.shop.svc.cluster.local");
    expect(view.update(serviceEntry("a"), rawRoutes)).to.deep.equal(["RDS outbound|80||a.shop.svc.cluster.local"]);
    expect(bytes(view.resources)).to.deep.equal(fromScratch(grpcKind, serviceEntry("a"), rawRoutes));
    expect(view.update(serviceEntry("a"))).to.deep.equal(["RDS outbound|80||a.shop.svc.cluster.local"]);
    expect(view.resources.get("type.googleapis.com/envoy.config.route.v3.RouteConfiguration")?.get("outbound|80||a.shop.svc.cluster.local")?.value).to.deep.equal(generated?.value);
  });

  it("Shared: the sidecar view's per-port routes and name table follow a service's arrival and departure", () => {
    const view = new Kept(sidecarKind);
    view.update(serviceEntry("a"), ...others);
    // b is added after the others: the documents before it keep their place (and their objects).
    expect(view.update(serviceEntry("a"), ...others, serviceEntry("bb"))).to.deep.equal([
      "CDS outbound|80||bb.shop.svc.cluster.local",
      "EDS outbound|80||bb.shop.svc.cluster.local",
      "NDS ",
      "RDS 80",
    ]);
    expect(view.derived).to.equal(true);
    expect(bytes(view.resources)).to.deep.equal(fromScratch(sidecarKind, serviceEntry("a"), ...others, serviceEntry("bb")));
    expect(view.update(serviceEntry("a"), ...others, serviceEntry("bb", 20001))).to.deep.equal(["EDS outbound|80||bb.shop.svc.cluster.local"]);
    expect(view.update(serviceEntry("a"), ...others)).to.deep.equal([
      "CDS outbound|80||bb.shop.svc.cluster.local (removed)",
      "EDS outbound|80||bb.shop.svc.cluster.local (removed)",
      "NDS ",
      "RDS 80",
    ]);
  });

  it("EnvoyFilterEdit: an edit of an EnvoyFilter alone changes the listeners it patches; without it, the generated ones are served again", () => {
    const client = { clientNamespace: "shop", clientAddress: "127.0.0.1" };
    const view = new Kept(sidecarKind, client);
    const filter = (outbound: string, inbound: string) => `apiVersion: networking.istio.io/v1alpha3
kind: EnvoyFilter
metadata: {name: ef, namespace: shop}
spec:
  configPatches:
  - {applyTo: HTTP_FILTER, match: {context: SIDECAR_OUTBOUND}, patch: {operation: INSERT_FIRST, value: {name: ${outbound}}}}
  - {applyTo: HTTP_FILTER, match: {context: SIDECAR_INBOUND}, patch: {operation: INSERT_FIRST, value: {name: ${inbound}}}}
`;
    view.update(serviceEntry("a"), ...others);
    expect(view.update(serviceEntry("a"), ...others, filter("out", "in"))).to.deep.equal(["LDS 0.0.0.0_80", "LDS virtualInbound"]);
    expect(bytes(view.resources)).to.deep.equal(fromScratchFor(sidecarKind, client, serviceEntry("a"), ...others, filter("out", "in")));
    expect(view.update(serviceEntry("a"), ...others, filter("out", "in2"))).to.deep.equal(["LDS virtualInbound"]);
    expect(view.update(serviceEntry("a"), ...others, `# a comment\n${filter("out", "in2")}`)).to.deep.equal([]);
    // A service change goes through the patches: its instance's port (20001) becomes an inbound chain, patched.
    expect(view.update(serviceEntry("a"), ...others, serviceEntry("bb", 20001), filter("out", "in2"))).to.include("LDS virtualInbound");
    expect(bytes(view.resources)).to.deep.equal(fromScratchFor(sidecarKind, client, serviceEntry("a"), ...others, serviceEntry("bb", 20001), filter("out", "in2")));
    expect(view.update(serviceEntry("a"), ...others)).to.include.members(["LDS 0.0.0.0_80", "LDS virtualInbound"]);
    expect(bytes(view.resources)).to.deep.equal(fromScratchFor(sidecarKind, client, serviceEntry("a"), ...others));
  });
});
