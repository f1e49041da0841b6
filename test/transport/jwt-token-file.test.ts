// gRFC A97's caching of a JWT token file: cached until 30 s before `exp`, read again in the background within a minute
// of that, waited for once expired; a failed read fails the calls until its backoff has passed.
import { expect } from "chai";
import { rm, writeFile } from "node:fs/promises";
import { JwtTokenFile } from "../../src/transport/jwt-token-file.js";
import { CertificateDir, jwt } from "../support/mesh-certificates.js";

describe("JwtTokenFile (gRFC A97)", () => {
  let dir: CertificateDir;
  let now = 0;
  beforeEach(async () => {
    dir = await CertificateDir.create();
    now = 1_000_000_000_000;
  });
  afterEach(async () => dir.remove());

  const token = (n: number, expInS: number) => jwt({ n, exp: Math.floor(now / 1000) + expInS });

  it("Caching: a token far from expiry is not read again; within a minute of its cache expiry it is, in the background", async () => {
    const file = new JwtTokenFile(await dir.write("t", token(1, 3600)), () => now);
    const first = await file.token();
    const second = token(2, 7200);
    await writeFile(dir.file("t"), second);
    expect(await file.token()).to.deep.equal(first);
    now += (3600 - 30 - 59) * 1000; // 59 s before the cached token's expiry (exp - 30 s)
    expect(await file.token()).to.deep.equal(first); // still the cached one, while the re-read runs
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await file.token()).to.deep.equal({ token: second });
  });

  it("Failures: an unreadable file is UNAVAILABLE-like, a file without exp UNAUTHENTICATED, and calls during the backoff get the same failure", async () => {
    const path = dir.file("missing");
    const file = new JwtTokenFile(path, () => now);
    const failed = await file.token();
    expect(failed).to.deep.include({ unauthenticated: false });
    expect((failed as { error: string }).error).to.contain(`cannot read the JWT token file ${path}`);
    await writeFile(path, jwt({ n: 1, exp: Math.floor(now / 1000) + 3600 }));
    expect(await file.token()).to.deep.equal(failed); // in backoff: not read again yet
    now += 60_000;
    expect(await file.token()).to.have.property("token");
    await rm(path);
    const invalid = new JwtTokenFile(await dir.write("invalid", jwt({ n: 1 })), () => now);
    expect(await invalid.token()).to.deep.include({ unauthenticated: true });
  });
});
