// Parsing mesh config again with what the last parse kept: only documents whose text changed are read again, and
// what the others declare keeps its objects; errors stay what a parse from scratch gives.
import { expect } from "chai";
import { MeshConfigCache, parseMeshSources } from "../../../src/server/config/mesh-config.js";
import { thrown } from "../../support/thrown.js";

function serviceEntry(name: string, address: string, extra = ""): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: shop}
spec:
  hosts: [${name}]${extra}
  ports: [{number: 80, name: http, protocol: HTTP}]
  endpoints: [{address: ${address}}]
`;
}

const mesh = (...documents: string[]) => [{ file: "mesh.yaml", text: documents.join("---\n") }];

/** The message of the INVALID_CONFIG error `run` throws. */
function errorOf(run: () => unknown): string {
  return thrown(run, "INVALID_CONFIG").message;
}

describe("parseMeshSources with a cache", () => {
  it("KeepsUnchanged: a document whose text is unchanged keeps its objects; an edited one is read again", () => {
    const cache = new MeshConfigCache();
    const first = parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), serviceEntry("b", "10.0.0.2")), cache);
    const second = parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), serviceEntry("b", "10.0.0.3")), cache);
    expect(second.serviceEntries[0]).to.equal(first.serviceEntries[0]);
    expect(second.serviceEntries[1]).to.not.equal(first.serviceEntries[1]);
    expect(second.serviceEntries[1]?.endpoints[0]?.address).to.equal("10.0.0.3");
  });

  it("Lines: an error blamed on an unchanged document names its line in the file as it is now", () => {
    const cache = new MeshConfigCache();
    parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), serviceEntry("b", "10.0.0.2"), serviceEntry("x", "10.0.0.3")), cache);
    // Document 1 grows by a line and document 2 now claims host x: document 3, unchanged and read before, is the later claim.
    const grown = serviceEntry("a", "10.0.0.1", "\n  location: MESH_INTERNAL");
    const claimsX = serviceEntry("b", "10.0.0.2").replace("hosts: [b]", "hosts: [x]");
    expect(errorOf(() => parseMeshSources(mesh(grown, claimsX, serviceEntry("x", "10.0.0.3")), cache))).to.equal(
      "mesh.yaml: document 3 (ServiceEntry x): spec.hosts[0]: host x.shop.svc.cluster.local is already declared in mesh.yaml: document 2 (ServiceEntry b) (line 22)",
    );
  });

  it("Claims: an edit that claims a host another document holds is rejected, though no other document changed", () => {
    const cache = new MeshConfigCache();
    parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), serviceEntry("b", "10.0.0.2")), cache);
    const clash = serviceEntry("b", "10.0.0.2").replace("hosts: [b]", "hosts: [a]");
    expect(errorOf(() => parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), clash), cache))).to.equal(
      "mesh.yaml: document 2 (ServiceEntry b): spec.hosts[0]: host a.shop.svc.cluster.local is already declared in mesh.yaml: document 1 (ServiceEntry a) (line 13)",
    );
    // The cache holds nothing wrong after a failed parse: the same sources parse as from scratch.
    expect(parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), serviceEntry("b", "10.0.0.2")), cache).serviceEntries).to.have.length(2);
    expect(errorOf(() => parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), clash), cache))).to.equal(errorOf(() => parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), clash))));
  });

  it("FirstErrorFirst: a claim clash in an earlier document is reported before a bad field in a later one", () => {
    const clash = serviceEntry("b", "10.0.0.2").replace("hosts: [b]", "hosts: [a]");
    const bad = serviceEntry("c", "10.0.0.3").replace("number: 80", "number: 0");
    expect(errorOf(() => parseMeshSources(mesh(serviceEntry("a", "10.0.0.1"), clash, bad), new MeshConfigCache()))).to.include("document 2 (ServiceEntry b): spec.hosts[0]");
  });
});
