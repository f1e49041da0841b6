// Builds gen/ from proto/ and the upstream Envoy/xDS/googleapis/validate protos that the pinned
// devDependency @grpc/grpc-js-xds publishes under deps/. Everything comes from node_modules.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const upstream = join(root, "build", "upstream");
const require = createRequire(import.meta.url);
const deps = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");

rmSync(upstream, { recursive: true, force: true });
mkdirSync(upstream, { recursive: true });
for (const [from, dir] of [
  ["envoy-api", "envoy"],
  ["xds", "xds"],
  ["xds", "udpa"],
  ["googleapis", "google"],
  ["protoc-gen-validate", "validate"],
]) {
  cpSync(join(deps, from, dir), join(upstream, dir), { recursive: true });
}

// Current Envoy protos use StringRules.ignore_empty (field 26); the published validate.proto predates it.
const validate = join(upstream, "validate", "validate.proto");
const text = readFileSync(validate, "utf8");
if (!/ignore_empty\s*=\s*26/.test(text)) {
  const start = text.indexOf("message StringRules {");
  const end = text.indexOf("\n}", start);
  if (start < 0 || end < 0) throw new Error(`${validate}: message StringRules not found`);
  writeFileSync(validate, `${text.slice(0, end)}\n  optional bool ignore_empty = 26;${text.slice(end)}`);
}

// The files whose types rxds uses; buf adds everything they import.
const files = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/service/status/v3/csds.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
  "envoy/extensions/filters/network/thrift_proxy/v3/thrift_proxy.proto",
  "envoy/extensions/filters/network/thrift_proxy/v3/route.proto",
  "envoy/extensions/clusters/aggregate/v3/cluster.proto",
  "envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto",
  "envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto",
  "envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto",
  "envoy/extensions/load_balancing_policies/wrr_locality/v3/wrr_locality.proto",
  "envoy/extensions/load_balancing_policies/pick_first/v3/pick_first.proto",
  "envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto",
  "envoy/extensions/load_balancing_policies/random/v3/random.proto",
  // Filters and transport sockets istiod puts in sidecar listeners and clusters that a proxyless client
  // may read (mTLS, fault injection, local rate limits, TCP-only listeners).
  "envoy/extensions/transport_sockets/tls/v3/tls.proto",
  "envoy/extensions/filters/http/fault/v3/fault.proto",
  "envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto",
  "envoy/extensions/filters/network/tcp_proxy/v3/tcp_proxy.proto",
  // The retry host predicate istiod's routes carry, so that `rxds serve --print` can show it.
  "envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto",
  "xds/type/v3/typed_struct.proto",
  "udpa/type/v1/typed_struct.proto",
  "google/rpc/status.proto",
  "istio/networking/nds/v1/nds.proto",
  "proxyless/greet.proto",
];

const buf = require.resolve("@bufbuild/buf/bin/buf");
const args = ["generate", "--include-imports", ...files.flatMap((f) => ["--path", join(existsSync(join(root, "proto", f)) ? "proto" : "build/upstream", f)])];
rmSync(join(root, "gen"), { recursive: true, force: true });
execFileSync(process.execPath, [buf, ...args], { cwd: root, stdio: "inherit" });

// Thrift: the demo GreetService IDL, with @creditkarma/thrift-typescript's `apache` target (code for
// the `thrift` package), into gen/thrift/. Its relative imports gain the `.js` that ESM needs.
const thriftOut = join(root, "gen", "thrift");
const thriftTypescript = join(dirname(require.resolve("@creditkarma/thrift-typescript/package.json")), "dist", "main", "bin", "index.js");
execFileSync(process.execPath, [thriftTypescript, "--target", "apache", "--rootDir", root, "--sourceDir", "proto", "--outDir", thriftOut, "proxyless/greet.thrift"], {
  cwd: root,
  stdio: "inherit",
});
for (const dir of readdirSync(thriftOut, { recursive: true, withFileTypes: true })) {
  if (!dir.isFile() || !dir.name.endsWith(".ts")) continue;
  const file = join(dir.parentPath, dir.name);
  writeFileSync(file, readFileSync(file, "utf8").replace(/from "(\.\.?\/[^"]+)"/g, 'from "$1.js"'));
}

// Custom options (protoc-gen-validate's rules, udpa's and xds's status and versioning, Envoy's deprecation marks,
// google.api's HTTP rules) are only read by tools: no rxds code asks for them. Their files, and descriptor.proto that
// each of them extends, are dropped from every other file's imports, so that loading a file does not load and register
// them again and again (protobuf-es registers each file's dependencies anew for every file). The options stay in the
// descriptors as unknown fields; the annotation files themselves are still generated.
const annotationFiles = /^file_(validate_validate|udpa_annotations_\w+|xds_annotations_v3_\w+|envoy_annotations_\w+|google_api_annotations)$/;
const genRoot = join(root, "gen");
for (const entry of readdirSync(genRoot, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith("_pb.ts")) continue;
  const file = join(entry.parentPath, entry.name);
  let source = readFileSync(file, "utf8");
  const dropped = [];
  source = source.replace(/^import \{ (file_\w+) \} from "[^"]+";\n/gm, (line, name) => {
    if (!annotationFiles.test(name)) return line;
    dropped.push(name);
    return "";
  });
  if (dropped.length === 0) continue;
  source = source.replace(/fileDesc\("([^"]*)", \[([^\]]*)\]\)/, (_call, b64, deps) => {
    const kept = deps.split(", ").filter((name) => !dropped.includes(name));
    return `fileDesc("${b64}"${kept.length === 0 ? "" : `, [${kept.join(", ")}]`})`;
  });
  writeFileSync(file, source);
}
