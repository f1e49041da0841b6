import { expect } from "chai";
import fc from "fast-check";
import { createPrefixIndex } from "../../../src/resources/match/prefix-index.js";

/** The plain answer: every index whose prefix `path[0, end)` starts with, ascending. */
function plain(prefixes: readonly string[], path: string, end: number): number[] {
  const head = path.slice(0, end);
  return prefixes.flatMap((prefix, i) => (head.startsWith(prefix) ? [i] : []));
}

describe("createPrefixIndex", () => {
  it("gives the items whose prefix the path starts with, in order", () => {
    const lookup = createPrefixIndex(["/a.S/Get", "/a.S/", "", "/b.T/", "/a.S/Get", "/a."]);
    expect(lookup("/a.S/Get", 8)).to.deep.equal([0, 1, 2, 4, 5]);
    expect(lookup("/a.S/Getter", 11)).to.deep.equal([0, 1, 2, 4, 5]);
    expect(lookup("/a.S/Ge", 7)).to.deep.equal([1, 2, 5]);
    expect(lookup("/a.S/Get?x=1", 5)).to.deep.equal([1, 2, 5]);
    expect(lookup("/b.T/X", 6)).to.deep.equal([2, 3]);
    expect(lookup("/c", 2)).to.deep.equal([2]);
    expect(lookup("", 0)).to.deep.equal([2]);
    expect(createPrefixIndex([])("/x", 2)).to.deep.equal([]);
  });

  it("agrees with startsWith on every item (property)", () => {
    // A small alphabet so that prefixes share long runs and paths often hit, miss and stop mid-edge.
    const text = fc.string({ unit: fc.constantFrom("/", "a", "b", ".", "S", "?"), maxLength: 8 });
    fc.assert(
      fc.property(fc.array(text, { maxLength: 12 }), text, fc.nat(), (prefixes, path, cut) => {
        const end = path.length === 0 ? 0 : cut % (path.length + 1);
        expect(createPrefixIndex(prefixes)(path, end)).to.deep.equal(plain(prefixes, path, end));
      }),
      { numRuns: 2000 },
    );
  });
});
