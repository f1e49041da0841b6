// Bundles the compiled package (dist/src, with the generated modules it loads, and @bufbuild/protobuf's runtime) into
// dist/lib, which is what the package's exports and bin serve. Why: a fresh process that loads ~110 rxds modules, ~60
// generated ones and ~65 of protobuf-es one by one spends tens of milliseconds in Node's module loader alone
// (resolution, package scopes, file reads); one ES module graph of a few chunks loads in a fraction of that, and
// protobuf-es's unused well-known types drop out. The generated modules stay lazy: esbuild wraps a module that is
// `require`d in an initialiser that runs on the first require, which is how src/lazy-schema.ts and
// src/resources/endpoints.ts load them. protobuf-es's messages and descriptors are plain data, so the bundled runtime
// works on an application's messages and schemas made with its own copy (rxds/gen/* still imports the package's).
// The other dependencies stay external, so an application shares its copies of @grpc/grpc-js and rxjs with rxds.
// rxds's own tests import dist/src (the `rxds-unbundled` export condition) and the bundle as installed.
import { build } from "esbuild";
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(root, "dist", "src");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

// Every export served from dist/lib, with its dist/src twin as the entry point.
const entryPoints = [];
for (const [name, target] of Object.entries(pkg.exports)) {
  if (typeof target !== "object" || !("rxds-unbundled" in target)) continue;
  const bundled = target.default.replace("./dist/lib/", "./dist/src/");
  if (bundled !== target["rxds-unbundled"]) throw new Error(`package.json exports["${name}"]: default and rxds-unbundled must mirror dist/lib and dist/src`);
  entryPoints.push(join(root, target["rxds-unbundled"]));
}
if (pkg.bin.rxds !== "./dist/lib/cli/main.js") throw new Error("package.json bin.rxds must be ./dist/lib/cli/main.js");
entryPoints.push(join(src, "cli", "main.js"));

// A module loaded with `createRequire(import.meta.url)` resolves its paths from its own file, which the bundle moves:
// the two modules that load rxds or generated modules that way get a `require` that esbuild bundles lazily instead.
const localRequire = /^const require = createRequire\(import\.meta\.url\);$/m;
const lazyLoaders = {
  // `generated(path)` loads gen/<path>_pb.js: a table of the paths src names, each a require that esbuild bundles.
  "lazy-schema.js": (code) => {
    const paths = generatedPaths();
    const table = `const generatedModules = {\n${paths.map((p) => `  ${JSON.stringify(p)}: () => require(${JSON.stringify(`../gen/${p}_pb.js`)}),`).join("\n")}\n};`;
    const loader = "require(`../gen/${path}_pb.js`)";
    if (!code.includes(loader)) throw new Error(`dist/src/lazy-schema.js: expected ${loader}`);
    return code.replace(localRequire, table).replace(loader, "generatedModules[path]()");
  },
  "resources/endpoints.js": (code) => code.replace(localRequire, ""),
};

/** Every literal path passed to generated() in dist/src; a computed one fails the build, as the table could miss it. */
function generatedPaths() {
  const paths = new Set();
  for (const file of readdirRecursive(src)) {
    if (file.endsWith("lazy-schema.js")) continue;
    for (const call of readFileSync(file, "utf8").matchAll(/\bgenerated\(([^)]*)\)/g)) {
      const literal = /^"([^"]+)"$/.exec(call[1].trim());
      if (literal === null) throw new Error(`${relative(root, file)}: generated(${call[1]}) needs a string literal path`);
      paths.add(literal[1]);
    }
  }
  return [...paths].sort();
}

function readdirRecursive(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? readdirRecursive(join(dir, entry.name)) : entry.name.endsWith(".js") ? [join(dir, entry.name)] : [],
  );
}

/** Bundled dependencies: their notices go to dist/lib/THIRD-PARTY-NOTICES.md. */
const bundledPackages = ["@bufbuild/protobuf"];
const external = Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })
  .filter((name) => !bundledPackages.includes(name))
  .flatMap((name) => [name, `${name}/*`]);

const outdir = join(root, "dist", "lib");
rmSync(outdir, { recursive: true, force: true }); // chunk names change with their content: no stale chunk may ship
const { metafile } = await build({
  entryPoints,
  outbase: src,
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  metafile: true,
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
  plugins: [
    {
      name: "rxds-lazy-loaders",
      setup(b) {
        b.onLoad({ filter: /[\\/]dist[\\/]src[\\/].*\.js$/ }, (args) => {
          const code = readFileSync(args.path, "utf8");
          const key = relative(src, args.path).split("\\").join("/");
          const rewrite = lazyLoaders[key];
          if (rewrite !== undefined) return { contents: rewrite(code), loader: "js", resolveDir: dirname(args.path) };
          if (/createRequire\(import\.meta\.url\)/.test(code) && /\(\s*["'`]\.\.?\//.test(code))
            throw new Error(`dist/src/${key}: a relative path loaded through createRequire(import.meta.url) would not survive bundling`);
          return undefined;
        });
      },
    },
  ],
});

// Each bundled package's name, version and licence, and every distinct copyright header of its files in the bundle.
const notices = bundledPackages.map((name) => {
  const dir = join(root, "node_modules", name);
  const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const headers = new Set();
  for (const input of Object.keys(metafile.inputs)) {
    if (!join(root, input).startsWith(`${dir}/`)) continue;
    const header = /^(?:\/\/.*\n)+/.exec(readFileSync(join(root, input), "utf8"))?.[0];
    if (header?.includes("Copyright")) headers.add(header.replace(/^\/\/ ?/gm, "").trim());
  }
  if (headers.size === 0) throw new Error(`${name}: no copyright header found in its bundled files`);
  return `## ${name} ${version}, ${license}\n\n${[...headers].map((h) => "```\n" + h + "\n```").join("\n\n")}\n`;
});
writeFileSync(
  join(outdir, "THIRD-PARTY-NOTICES.md"),
  `# Third-party code in this bundle\n\nrxds's bundle (dist/lib) includes the following packages' code, under these notices.\n\n${notices.join("\n")}`,
);
