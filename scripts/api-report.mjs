// The API report of every entry point (api/<entry>.api.md, by @microsoft/api-extractor), so that the public surface
// changes only on purpose. `node scripts/api-report.mjs` checks the reports against the compiled declarations and
// fails on a difference or a warning (an undocumented export, a type used but not exported); `--update` rewrites them.
import { Extractor, ExtractorConfig } from "@microsoft/api-extractor";
import { fileURLToPath } from "node:url";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const update = process.argv.includes("--update");
const entries = {
  rxds: "dist/src/index.d.ts",
  server: "dist/src/server/index.d.ts",
  grpc: "dist/src/integrations/grpc/index.d.ts",
  connect: "dist/src/integrations/connect/index.d.ts",
  operators: "dist/src/operators/index.d.ts",
  thrift: "dist/src/integrations/thrift/index.d.ts",
};
// Names the main entry point exports: the subpaths' declarations refer to them, and consumers import them from "rxds".
const mainExports = new Set(
  [...readFileSync(join(root, entries.rxds), "utf8").matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap((m) => m[1].split(",").map((n) => n.trim()).filter(Boolean)),
);
const only = process.argv.slice(2).filter((arg) => !arg.startsWith("--"));

let failed = false;
for (const [name, entry] of Object.entries(entries)) {
  if (only.length > 0 && !only.includes(name)) continue;
  let warnings = 0;
  const config = ExtractorConfig.prepare({
    configObject: {
      projectFolder: root,
      mainEntryPointFilePath: join(root, entry),
      compiler: { tsconfigFilePath: join(root, "tsconfig.json") },
      apiReport: { enabled: true, reportFileName: `${name}.api.md`, reportFolder: join(root, "api"), reportTempFolder: join(root, "dist/api") },
      docModel: { enabled: false },
      dtsRollup: { enabled: false },
      tsdocMetadata: { enabled: false },
      messages: {
        extractorMessageReporting: { default: { logLevel: "warning" }, "ae-missing-release-tag": { logLevel: "none" }, "ae-undocumented": { logLevel: "none" } },
        tsdocMessageReporting: { default: { logLevel: "none" } },
        compilerMessageReporting: { default: { logLevel: "warning" } },
      },
    },
    configObjectFullPath: join(root, "api", `${name}.json`),
    packageJsonFullPath: join(root, "package.json"),
  });
  const result = Extractor.invoke(config, {
    localBuild: update,
    messageCallback: (message) => {
      message.handled = true;
      // Generated types refer to other generated types; all of them are public under rxds/gen/*.
      if (message.logLevel !== "warning" && message.logLevel !== "error") return;
      if (message.messageId === "ae-forgotten-export") {
        const symbol = /The symbol "([^"]+)"/.exec(message.text)?.[1];
        if (message.sourceFilePath?.includes("/dist/gen/") === true || (name !== "rxds" && mainExports.has(symbol))) return;
      }
      warnings++;
      console.error(`${name}: ${message.formatMessageWithLocation(root)}`);
    },
  });
  if (warnings > 0 || result.errorCount > 0 || (!update && result.apiReportChanged)) {
    failed = true;
    console.error(`${name}: ${result.apiReportChanged ? "the API report differs from api/ (run npm run api:update, review and commit it); " : ""}${warnings} warnings, ${result.errorCount} errors`);
  }
}
if (failed) process.exitCode = 1;
else console.log(`API reports ${update ? "written" : "match"}: ${Object.keys(entries).filter((n) => only.length === 0 || only.includes(n)).join(", ")}`);
