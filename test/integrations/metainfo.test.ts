import { expect } from "chai";
import { setImmediate as immediate, setTimeout as sleep } from "node:timers/promises";
import { metainfo } from "../../src/integrations/metainfo.js";
import { XdsError } from "../../src/xds-error.js";

describe("metainfo", () => {
  it("is empty and frozen outside any context, the same object every time", () => {
    const all = metainfo.all();
    expect(all).to.deep.equal({});
    expect(Object.isFrozen(all)).to.equal(true);
    expect(metainfo.all()).to.equal(all);
    expect(metainfo.get("stage")).to.equal(undefined);
  });

  it("shows values inside withValues and not after it, returning fn's result", () => {
    const result = metainfo.withValues({ stage: "canary" }, () => {
      expect(metainfo.get("stage")).to.equal("canary");
      expect(metainfo.all()).to.deep.equal({ stage: "canary" });
      return 42;
    });
    expect(result).to.equal(42);
    expect(metainfo.get("stage")).to.equal(undefined);
    expect(metainfo.all()).to.deep.equal({});
  });

  it("lower-cases keys, since they are header names, and looks keys up case-insensitively", () => {
    metainfo.withValues({ "X-Stage": "canary", Region: "eu" }, () => {
      expect(metainfo.all()).to.deep.equal({ "x-stage": "canary", region: "eu" });
      expect(metainfo.get("x-stage")).to.equal("canary");
      expect(metainfo.get("X-STAGE")).to.equal("canary");
    });
  });

  it("merges nested contexts, the inner value winning, and restores the outer one after", () => {
    metainfo.withValues({ stage: "canary", user: "alice" }, () => {
      metainfo.withValues({ stage: "beta", region: "eu" }, () => {
        expect(metainfo.all()).to.deep.equal({ stage: "beta", user: "alice", region: "eu" });
      });
      expect(metainfo.all()).to.deep.equal({ stage: "canary", user: "alice" });
    });
  });

  it("stores one frozen, prototype-less object per context, so all() allocates nothing", () => {
    metainfo.withValues({ stage: "canary" }, () => {
      const all = metainfo.all();
      expect(metainfo.all()).to.equal(all);
      expect(Object.isFrozen(all)).to.equal(true);
      expect(Object.getPrototypeOf(all)).to.equal(null);
      expect(metainfo.get("constructor")).to.equal(undefined);
      expect(metainfo.get("__proto__")).to.equal(undefined);
      // Empty values keep the current object.
      metainfo.withValues({}, () => expect(metainfo.all()).to.equal(all));
    });
  });

  it("keeps values across awaits, timers and promise continuations", async () => {
    const seen = await metainfo.withValues({ stage: "canary" }, async () => {
      const values: (string | undefined)[] = [];
      await Promise.resolve();
      values.push(metainfo.get("stage"));
      await sleep(5);
      values.push(metainfo.get("stage"));
      await immediate();
      values.push(metainfo.get("stage"));
      values.push(await new Promise<string | undefined>((resolve) => setTimeout(() => resolve(metainfo.get("stage")), 1)));
      values.push(await Promise.resolve().then(() => metainfo.get("stage")));
      return values;
    });
    expect(seen).to.deep.equal(["canary", "canary", "canary", "canary", "canary"]);
    expect(metainfo.get("stage")).to.equal(undefined);
  });

  it("keeps concurrent contexts apart", async () => {
    const run = (stage: string, delays: number[]) =>
      metainfo.withValues({ stage }, async () => {
        const seen: string[] = [];
        for (const delay of delays) {
          await sleep(delay);
          seen.push(metainfo.get("stage") ?? "none");
          await metainfo.withValues({ step: String(delay) }, async () => {
            await immediate();
            seen.push(`${metainfo.get("stage")}/${metainfo.get("step")}`);
          });
        }
        return seen;
      });
    const [a, b, outside] = await Promise.all([run("a", [3, 1, 2]), run("b", [1, 3, 1]), sleep(2).then(() => metainfo.get("stage"))]);
    expect(a).to.deep.equal(["a", "a/3", "a", "a/1", "a", "a/2"]);
    expect(b).to.deep.equal(["b", "b/1", "b", "b/3", "b", "b/1"]);
    expect(outside).to.equal(undefined);
  });

  it("leaves the context when fn throws", () => {
    expect(() =>
      metainfo.withValues({ stage: "canary" }, () => {
        throw new Error("boom");
      }),
    ).to.throw("boom");
    expect(metainfo.get("stage")).to.equal(undefined);
  });

  it("rejects values that are not strings", () => {
    const call = () => metainfo.withValues({ stage: 1 } as unknown as Record<string, string>, () => undefined);
    expect(call).to.throw(XdsError, 'metainfo.withValues: values["stage"]: expected a string, got number');
    expect(() => metainfo.withValues(null as unknown as Record<string, string>, () => undefined)).to.throw(XdsError, "expected an object of strings");
  });
});
