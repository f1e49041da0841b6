// `npm run docs`: typedoc builds the API reference of every entry point from a clone, without a warning (its config
// treats warnings as errors), so an export left undocumented or a broken link fails here.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const root = new URL("../../../", import.meta.url).pathname;

describe("the API reference", function () {
  this.timeout(120_000);

  it("ApiDocs: typedoc builds it for every entry point, with no warning", async () => {
    const out = await mkdtemp(join(tmpdir(), "rxds-docs-"));
    try {
      const run = await promisify(execFile)(process.execPath, [join(root, "node_modules", "typedoc", "bin", "typedoc"), "--out", out], { cwd: root }).catch(
        (e: { stdout: string; stderr: string; code: number }) => e,
      );
      expect("code" in run ? run.code : 0, `${run.stdout}${run.stderr}`).to.equal(0);
      expect(run.stdout).to.match(/Found 0 errors and 0 warnings|html generated/).and.not.contain("[warning]");
      expect(await readdir(join(out, "modules"))).to.include.members(["index.html", "server.html", "integrations_grpc.html"]);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
});
