import type { Dirent } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { XdsError } from "../xds-error.js";
import type { MeshSource } from "./config/mesh-config.js";

/** The mesh config sources as read once: the files' texts in order, and the directories to watch for changes. */
export interface ReadSources {
  readonly sources: readonly MeshSource[];
  /** Absolute paths of the directories whose entries may change a source (a file's directory, each walked directory). */
  readonly directories: ReadonlySet<string>;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const yamlName = /\.ya?ml$/;

/** Decodes a file's bytes as UTF-8; bytes that are not UTF-8 are an error naming the file and where, not a dump. */
function decode(bytes: Buffer, name: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    const text = bytes.toString("utf8");
    const at = text.indexOf("\ufffd");
    const line = text.slice(0, at).split("\n").length;
    throw new XdsError("INVALID_CONFIG", `${name}: not YAML text: bytes that are not UTF-8 at line ${line}`);
  }
}

async function readText(path: string, name: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new XdsError("INVALID_CONFIG", `${name}: cannot read the file: ${errorMessage(error)}`, { cause: error });
  }
  return decode(bytes, name);
}

/**
 * The `*.yaml` and `*.yml` files under a directory, recursively, in name order, following symbolic links.
 * Names starting with "." are skipped: a Kubernetes ConfigMap mount keeps its real files in `..<timestamp>`
 * directories behind `..data`, and the visible names link to them.
 */
async function walk(directory: string, name: string, into: { files: { path: string; name: string }[]; directories: Set<string> }, seen: Set<string>): Promise<void> {
  const real = await realpath(directory);
  if (seen.has(real)) return;
  seen.add(real);
  into.directories.add(resolve(directory));
  let entries: Dirent[];
  try {
    entries = await readdir(directory, { withFileTypes: true });
  } catch (error) {
    throw new XdsError("INVALID_CONFIG", `${name}: cannot read the directory: ${errorMessage(error)}`, { cause: error });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    const path = join(directory, entry.name);
    const shown = join(name, entry.name);
    const kind = entry.isSymbolicLink() ? await stat(path).catch(() => undefined) : entry;
    if (kind === undefined) continue;
    if (kind.isDirectory()) await walk(path, shown, into, seen);
    else if (kind.isFile() && yamlName.test(entry.name)) into.files.push({ path, name: shown });
  }
}

/**
 * Reads the sources named by `--config`: a file, a directory (its YAML files, recursively) or `-` for
 * standard input, which is read once (`stdin` gives its text). Messages name each file as given.
 */
export async function readSources(configs: readonly string[], stdin: () => Promise<string>): Promise<ReadSources> {
  const sources: MeshSource[] = [];
  const directories = new Set<string>();
  for (const config of configs) {
    if (config === "-") {
      sources.push({ file: "<stdin>", text: await stdin() });
      continue;
    }
    const info = await stat(config).catch((error: unknown) => {
      throw new XdsError("INVALID_CONFIG", `${config}: cannot read: ${errorMessage(error)}`, { cause: error });
    });
    if (info.isDirectory()) {
      const found = { files: [] as { path: string; name: string }[], directories };
      await walk(config, config, found, new Set());
      for (const file of found.files) sources.push({ file: file.name, text: await readText(file.path, file.name) });
    } else {
      directories.add(dirname(resolve(config)));
      sources.push({ file: config, text: await readText(config, config) });
    }
  }
  return { sources, directories };
}

/** Whether two reads hold the same files with the same texts. */
export function sameSources(a: readonly MeshSource[], b: readonly MeshSource[]): boolean {
  return a.length === b.length && a.every((source, i) => source.file === b[i]?.file && source.text === b[i]?.text);
}
