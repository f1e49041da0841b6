import { XdsError } from "../../xds-error.js";

/** A path into one YAML document: keys and list indexes from the document's root. */
export type ConfigPath = readonly (string | number)[];

/** Where a document sits in its file, for error messages. */
export interface DocumentPlace {
  /** The file name as given to the parser. */
  readonly file: string;
  /** The document's position in the file, counting from 1. */
  readonly index: number;
  /** The 1-based line of the node at `path`, or of its nearest ancestor, when known. */
  readonly lineOf: (path: ConfigPath) => number | undefined;
  /** Where the resource sits inside the document: `["items", 3]` for an item of a `kind: List`. Default: the root. */
  readonly base?: ConfigPath;
}

/** A plain YAML mapping, as `toJS()` produces it. */
export type ConfigObject = Record<string, unknown>;

/** Renders a path the way a user reads it: `spec.http[0].route[1].weight`. */
export function formatPath(path: ConfigPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out === "" ? segment : `.${segment}`;
  }
  return out === "" ? "(document)" : out;
}

/** Describes a value found in the YAML for "got …" in messages. */
function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value);
  // A long scalar (a whole file read as one string, say) is cut: the message names where it is, not all of it.
  return text.length > 80 ? `${text.slice(0, 60)}… (${text.length} characters)` : text;
}

/**
 * Reads one YAML document's plain values with checks; every failure is an
 * `XdsError("INVALID_CONFIG")` naming the file, the document, the field path and what was expected.
 */
export class ConfigReader {
  private label: string;

  constructor(private readonly place: DocumentPlace) {
    this.label = place.base === undefined ? `document ${place.index}` : `document ${place.index} ${formatPath(place.base)}`;
  }

  /** Names the resource once its kind and name are known, for every later message. */
  identify(kind: string, name: string): void {
    const item = this.place.base === undefined ? "" : `${formatPath(this.place.base)}: `;
    this.label = `document ${this.place.index} (${item}${kind} ${name})`;
  }

  /** Where the resource is, for messages about it as a whole: `mesh.yaml: document 2 (VirtualService reviews)`. */
  get where(): string {
    return `${this.place.file}: ${this.label}`;
  }

  /** Throws the error for `path`, with a free-form reason. */
  fail(path: ConfigPath, reason: string): never {
    const base = this.place.base ?? [];
    const line = this.place.lineOf([...base, ...path]);
    const where = line === undefined ? "" : ` (line ${line})`;
    throw new XdsError("INVALID_CONFIG", `${this.place.file}: ${this.label}: ${formatPath(path)}: ${reason}${where}`);
  }

  /** Throws "expected …, got …" for `path`. */
  expected(path: ConfigPath, what: string, got: unknown): never {
    return this.fail(path, `expected ${what}, got ${describe(got)}`);
  }

  /** A mapping whose keys are all in `allowed`; an unknown key is an error naming it. */
  object(value: unknown, path: ConfigPath, allowed: readonly string[]): ConfigObject {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return this.expected(path, "a mapping", value);
    const record = value as ConfigObject;
    for (const key of Object.keys(record)) {
      if (!allowed.includes(key)) {
        this.fail([...path, key], `unknown field "${key}"; expected one of ${allowed.join(", ")}`);
      }
    }
    return record;
  }

  /** A mapping whatever its keys (Kubernetes objects carry many fields rxds does not read); absent reads as empty. */
  mapping(value: unknown, path: ConfigPath): ConfigObject {
    if (value === undefined) return {};
    if (value === null || typeof value !== "object" || Array.isArray(value)) return this.expected(path, "a mapping", value);
    return value as ConfigObject;
  }

  /** A list (an absent value reads as an empty list). */
  list(value: unknown, path: ConfigPath): readonly unknown[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) return this.expected(path, "a list", value);
    return value;
  }

  /** A required string (non-empty unless `allowEmpty`). */
  string(value: unknown, path: ConfigPath, allowEmpty = false): string {
    if (typeof value !== "string" || (!allowEmpty && value === "")) {
      return this.expected(path, allowEmpty ? "a string" : "a non-empty string", value);
    }
    return value;
  }

  /** An optional string. */
  optionalString(value: unknown, path: ConfigPath): string | undefined {
    return value === undefined ? undefined : this.string(value, path, true);
  }

  /** An integer in `min..max`. */
  integer(value: unknown, path: ConfigPath, min: number, max: number): number {
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return this.expected(path, `an integer ${min}..${max}`, value);
    }
    return value;
  }

  /** An optional integer in `min..max`. */
  optionalInteger(value: unknown, path: ConfigPath, min: number, max: number): number | undefined {
    return value === undefined ? undefined : this.integer(value, path, min, max);
  }

  /** An optional boolean. */
  optionalBoolean(value: unknown, path: ConfigPath): boolean | undefined {
    if (value === undefined) return undefined;
    if (typeof value !== "boolean") return this.expected(path, "true or false", value);
    return value;
  }

  /** One of a closed set of strings. */
  oneOf<T extends string>(value: unknown, path: ConfigPath, choices: readonly T[]): T {
    if (typeof value !== "string" || !(choices as readonly string[]).includes(value)) {
      return this.expected(path, `one of ${choices.join(", ")}`, value);
    }
    return value as T;
  }

  /** A mapping of strings to strings (labels); absent reads as empty. */
  stringMap(value: unknown, path: ConfigPath): Readonly<Record<string, string>> {
    if (value === undefined) return {};
    if (value === null || typeof value !== "object" || Array.isArray(value)) return this.expected(path, "a mapping of strings", value);
    const out: Record<string, string> = {};
    for (const [key, item] of Object.entries(value as ConfigObject)) {
      out[key] = this.string(item, [...path, key], true);
    }
    return out;
  }
}
