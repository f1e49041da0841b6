import { create, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { NameTableSchema, type NameTable } from "../../gen/istio/networking/nds/v1/nds_pb.js";
import type { DecodeResult } from "../../src/client/resource-type.js";
import { nameTableType, type NameTableModel } from "../../src/resources/name-table.js";

function table(init: Record<string, { ips?: string[]; registry?: string; shortname?: string; namespace?: string; altHosts?: string[] }>): NameTable {
  return create(NameTableSchema, { table: Object.fromEntries(Object.entries(init).map(([host, info]) => [host, info])) });
}

function decode(message: NameTable): DecodeResult<NameTableModel> {
  return nameTableType.decode(toBinary(NameTableSchema, message));
}

describe("name table (Istio NDS)", () => {
  const message = table({
    "kitex-server.default.svc.cluster.local": {
      ips: ["10.96.73.130", "fd00:10:96::a"],
      registry: "Kubernetes",
      shortname: "kitex-server",
      namespace: "default",
      altHosts: ["kitex-server.default.svc.cluster.local.", "kitex-server.default"],
    },
    "Reviews.Default.svc.cluster.local": { ips: ["10.96.0.9"] },
  });

  it("is one resource named \"\" that SotW omission does not delete", () => {
    expect(decode(message).name).to.equal("");
    expect(nameTableType.deletedByOmission).to.equal(false);
    expect(nameTableType.typeUrl).to.equal("type.googleapis.com/istio.networking.nds.v1.NameTable");
  });

  it("keys entries by lower-cased hostname and keeps every field", () => {
    const model = decode(message).value!;
    expect([...model.hosts.keys()]).to.deep.equal(["kitex-server.default.svc.cluster.local", "reviews.default.svc.cluster.local"]);
    expect(model.hosts.get("kitex-server.default.svc.cluster.local")).to.deep.equal({
      hostname: "kitex-server.default.svc.cluster.local",
      ips: ["10.96.73.130", "fd00:10:96::a"],
      registry: "Kubernetes",
      namespace: "default",
      shortName: "kitex-server",
      altHosts: ["kitex-server.default.svc.cluster.local.", "kitex-server.default"],
    });
  });

  it("looks a host up by name ignoring case and a trailing dot, then by alt host", () => {
    const model = decode(message).value!;
    expect(model.lookup("REVIEWS.default.svc.cluster.local.")?.ips).to.deep.equal(["10.96.0.9"]);
    expect(model.lookup("kitex-server.default")?.hostname).to.equal("kitex-server.default.svc.cluster.local");
    expect(model.lookup("unknown.default")).to.equal(undefined);
  });

  it("rejects an address that is not an IP, naming the host and index", () => {
    expect(decode(table({ "a.default.svc.cluster.local": { ips: ["10.0.0.1", "a.example"] } })).error).to.equal(
      'name table "": table["a.default.svc.cluster.local"].ips[1]: must be an IPv4 or IPv6 address, got "a.example"',
    );
  });

  it("rejects two hostnames that differ only in case", () => {
    expect(decode(table({ "a.b": { ips: [] }, "A.b": { ips: [] } })).error).to.contain('table["A.b"]: duplicate hostname (same as "a.b" ignoring case)');
  });
});
