/**
 * Multi-document YAML, split into its documents and parsed one by one, so that a reload parses again only the
 * documents whose text changed. js-yaml parses a document without anchors (several times faster than the `yaml`
 * library); the `yaml` library, which limits aliases and knows where each node is, parses the others, and any
 * document js-yaml rejects, so that error messages and line numbers are the `yaml` library's.
 */
import jsYaml from "js-yaml";
import { isNode, LineCounter, parseAllDocuments, parseDocument, type Document } from "yaml";
import { XdsError } from "../../xds-error.js";
import type { ConfigPath } from "./config-reader.js";

/** One document's text and where it starts in its file. */
export interface YamlChunk {
  readonly text: string;
  /** The 1-based line of its first line in the file. */
  readonly line: number;
  /** The offset of its first character in the file. */
  readonly offset: number;
}

/** A parsed document. */
export interface YamlDocument {
  /** Its position in the file, counting from 1. */
  readonly index: number;
  /** Its content as plain values; null or undefined for an empty document. */
  readonly root: unknown;
  /** The 1-based line in the file of the node at `path`, or of its nearest ancestor. */
  readonly lineOf: (path: ConfigPath) => number | undefined;
}

/** At most this many aliases in one document: more is an alias bomb. */
const maxAliasCount = 100;

const documentStart = /^---(?=[ \t\r\n]|$)/gm;
/** Directives and document end markers, which splitting on `---` lines would not read right: such a file is parsed whole. */
const unsplittable = /^(%|\.\.\.(?=[ \t\r\n]|$))/m;
const content = /^[ \t\ufeff]*[^\s#\ufeff]/m;

/**
 * The documents of a file, split where a line starts with `---` (a document marker wherever it appears, as YAML
 * says); the text before the first marker is a document when it holds more than comments. Undefined when the file
 * has directives or `...` end markers.
 */
export function splitYamlDocuments(text: string): YamlChunk[] | undefined {
  if (unsplittable.test(text)) return undefined;
  const starts: number[] = [];
  for (const match of text.matchAll(documentStart)) starts.push(match.index);
  if (starts[0] !== 0 && content.test(text.slice(0, starts[0] ?? text.length))) starts.unshift(0);
  const chunks: YamlChunk[] = [];
  let line = 1;
  let counted = 0;
  for (let i = 0; i < starts.length; i++) {
    const offset = starts[i] as number;
    line += countLines(text, counted, offset);
    counted = offset;
    chunks.push({ text: text.slice(offset, starts[i + 1] ?? text.length), line, offset });
  }
  return chunks;
}

function countLines(text: string, from: number, to: number): number {
  let lines = 0;
  for (let at = text.indexOf("\n", from); at !== -1 && at < to; at = text.indexOf("\n", at + 1)) lines++;
  return lines;
}

/** The offset of the first character that cannot be in YAML text (a C0 control other than tab and line breaks, or U+FFFD from bytes that are not UTF-8). */
function binaryOffset(text: string): number {
  return text.search(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffd]/);
}

/** Rejects text holding binary data, naming the file, the line and the character (counted in the file). */
export function checkYamlText(file: string, chunk: YamlChunk): void {
  const binary = binaryOffset(chunk.text);
  if (binary < 0) return;
  const line = chunk.line + countLines(chunk.text, 0, binary);
  throw new XdsError("INVALID_CONFIG", `${file}: not YAML text: binary data at line ${line} (character ${chunk.offset + binary + 1})`);
}

/** Finds the line of the node at `path`, or of its nearest ancestor that exists. */
function lineFinder(document: Document, lines: LineCounter, firstLine: number): (path: ConfigPath) => number | undefined {
  return (path) => {
    for (let length = path.length; length >= 0; length--) {
      const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
      if (isNode(node) && node.range) return lines.linePos(node.range[0]).line + firstLine - 1;
    }
    return undefined;
  };
}

/** Reads a document the `yaml` library parsed; throws an XdsError naming the file, the document and the line. */
function fromYamlLibrary(file: string, index: number, document: Document, lines: LineCounter, firstLine: number): YamlDocument {
  const firstError = document.errors[0];
  if (firstError !== undefined) {
    const line = firstError.linePos?.[0].line;
    const at = line === undefined ? "" : ` (line ${line + firstLine - 1})`;
    // The library's own "at line L, column C:" counts from the document's start: the line in the file follows instead.
    const reason = (firstError.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "").slice(0, 200);
    throw new XdsError("INVALID_CONFIG", `${file}: document ${index}: invalid YAML: ${reason}${at}`);
  }
  let root: unknown;
  try {
    root = document.toJS({ maxAliasCount });
  } catch (error) {
    // An alias bomb ("Excessive alias count …") or an alias to nothing.
    throw new XdsError("INVALID_CONFIG", `${file}: document ${index}: invalid YAML: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { index, root, lineOf: lineFinder(document, lines, firstLine) };
}

/**
 * Parses one document of a file. `firstLine` gives the line its text starts at in the file, read when a line is
 * asked for (a document's place in its file may change while its text does not).
 */
export function parseYamlDocument(file: string, index: number, text: string, firstLine: () => number): YamlDocument {
  if (!text.includes("&")) {
    let root: unknown;
    let parsed = true;
    try {
      root = jsYaml.load(text, { schema: jsYaml.CORE_SCHEMA });
    } catch {
      parsed = false;
    }
    if (parsed) {
      let finder: ((path: ConfigPath) => number | undefined) | undefined;
      const lineOf = (path: ConfigPath) => {
        if (finder === undefined) {
          const lines = new LineCounter();
          finder = lineFinder(parseDocument(text, { lineCounter: lines }), lines, 1);
        }
        const line = finder(path);
        return line === undefined ? undefined : line + firstLine() - 1;
      };
      return { index, root, lineOf };
    }
  }
  const lines = new LineCounter();
  return fromYamlLibrary(file, index, parseDocument(text, { lineCounter: lines }), lines, firstLine());
}

/** Parses every document of a file with the `yaml` library (for files `splitYamlDocuments` does not split). */
export function parseYamlFile(file: string, text: string): YamlDocument[] {
  checkYamlText(file, { text, line: 1, offset: 0 });
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines });
  const documents = Array.isArray(parsed) ? parsed : [];
  return documents.map((document, i) => fromYamlLibrary(file, i + 1, document, lines, 1));
}
