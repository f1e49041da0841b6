// How rxds serve splits multi-document YAML and parses each document: js-yaml for plain documents, the yaml library
// for the rest, with the same values either way and lines counted in the file.
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { parseYamlDocument, parseYamlFile, splitYamlDocuments } from "../../../src/server/config/yaml-documents.js";
import { thrown } from "../../support/thrown.js";
import { exampleMesh } from "../../fixtures/serve-mesh.js";

describe("YAML documents", () => {
  it("Split: documents start at each --- line, counted as the yaml library counts them, with their first line in the file", () => {
    const text = "# a comment before the first marker\n---\na: 1\n--- {b: 2}\n---\n---\r\nc: |\n  text\n---\n";
    const chunks = splitYamlDocuments(text) ?? expect.fail("expected documents");
    expect(chunks.map((chunk) => chunk.line)).to.deep.equal([2, 4, 5, 6, 9]);
    expect(chunks.map((chunk, i) => parseYamlDocument("f.yaml", i + 1, chunk.text, () => chunk.line).root)).to.deep.equal([{ a: 1 }, { b: 2 }, null, { c: "text\n" }, null]);
    expect(parseAllDocuments(text)).to.have.length(chunks.length);
    // Content before the first marker is a document of its own.
    expect(splitYamlDocuments("a: 1\n---\nb: 2\n")?.map((chunk) => chunk.text)).to.deep.equal(["a: 1\n", "---\nb: 2\n"]);
  });

  it("SplitLeavesWhole: a file with directives or ... end markers is not split, and parses whole", () => {
    expect(splitYamlDocuments("%YAML 1.2\n---\na: 1\n")).to.equal(undefined);
    expect(splitYamlDocuments("a: 1\n...\n---\nb: 2\n")).to.equal(undefined);
    expect(parseYamlFile("f.yaml", "a: 1\n...\n---\nb: 2\n").map((document) => document.root)).to.deep.equal([{ a: 1 }, { b: 2 }]);
  });

  it("SameValues: the example mesh parses document by document to the values the yaml library gives for the whole file", async () => {
    const text = await exampleMesh({ ports: [18001, 18002] });
    const chunks = splitYamlDocuments(text) ?? expect.fail("expected documents");
    const split = chunks.map((chunk, i) => parseYamlDocument("mesh.yaml", i + 1, chunk.text, () => chunk.line).root);
    expect(split).to.deep.equal(parseAllDocuments(text).map((document) => document.toJS()));
    const scalars = "a: [1, -2.5, 0x1f, 1e3, .inf, true, False, ~, null, '', \"x\", 2024-01-01, 010, +1]\n";
    expect(parseYamlDocument("f.yaml", 1, scalars, () => 1).root).to.deep.equal(parseAllDocuments(scalars)[0]?.toJS());
  });

  it("Anchors: a document with anchors is read by the yaml library, aliases resolved", () => {
    const text = "---\nbase: &labels {app: a}\ncopy: *labels\n";
    expect(parseYamlDocument("f.yaml", 1, text, () => 1).root).to.deep.equal({ base: { app: "a" }, copy: { app: "a" } });
  });

  it("Lines: a field's line and a syntax error's line are counted from the start of the file", () => {
    const chunk = splitYamlDocuments("a: 1\n---\nb: 2\nc:\n  d: [1, 2]\n")?.[1] ?? expect.fail("expected two documents");
    expect(parseYamlDocument("f.yaml", 2, chunk.text, () => chunk.line).lineOf(["c", "d"])).to.equal(5);
    const broken = "a: 1\n---\nb: [1, 2\n";
    const second = splitYamlDocuments(broken)?.[1] ?? expect.fail("expected two documents");
    expect(thrown(() => parseYamlDocument("f.yaml", 2, second.text, () => second.line), "INVALID_CONFIG").message).to.equal(
      "f.yaml: document 2: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (line 4)",
    );
    // The yaml library, reading the whole file, puts it on the same line.
    expect(parseAllDocuments(broken)[1]?.errors[0]?.linePos?.[0].line).to.equal(4);
  });
});
