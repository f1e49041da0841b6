import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Scenario } from "../support/scenario.js";

const probe = fileURLToPath(new URL("../support/import-probe.js", import.meta.url));

/** Time and live heap to import the library into a fresh Node process. */
export const importCost: Scenario<Record<string, never>> = {
  id: "import-cost",
  title: "Import cost",
  description:
    "A fresh `node --expose-gc` child imports the library as a gRPC application does (rxds: `rxds` and `rxds/grpc`; @grpc/grpc-js-xds): time of the import, and live heap after a full GC minus before.",
  metrics: [
    { key: "importMs", label: "import time", unit: "ms" },
    { key: "heapMB", label: "heap added", unit: "MB" },
  ],
  cases: () => [{ label: "fresh process", params: {} }],
  runs: (mode) => (mode === "quick" ? 2 : 7),
  async measure(subject) {
    const output = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--expose-gc", probe, ...subject.moduleSpecifiers], { timeout: 60_000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`import probe for ${subject.moduleSpecifiers.join(", ")} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const { importMs, heapBytes } = JSON.parse(output) as { importMs: number; heapBytes: number };
    return { importMs, heapMB: heapBytes / 2 ** 20 };
  },
};
