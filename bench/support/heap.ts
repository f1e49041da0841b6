import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gcFunction: (() => void) | undefined;

/** The V8 collector: `global.gc` under `--expose-gc`, else obtained by turning that flag on at run time. */
function collector(): () => void {
  if (gcFunction) return gcFunction;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return (gcFunction = exposed);
  setFlagsFromString("--expose-gc");
  gcFunction = runInNewContext("gc") as () => void;
  return gcFunction;
}

/** Collects garbage fully: twice, with a turn of the event loop between so pending callbacks release what they hold. */
export async function collectGarbage(): Promise<void> {
  const gc = collector();
  gc();
  await new Promise<void>((resolve) => setImmediate(resolve));
  gc();
}

/** Live memory after a full collection. */
export interface LiveMemory {
  /** The JS heap in use (`heapUsed`). */
  readonly heapBytes: number;
  /** ArrayBuffer and Buffer backing stores, which live outside the JS heap (`arrayBuffers`). */
  readonly bufferBytes: number;
}

/** Collects garbage fully, then reads the live JS heap and buffer memory. */
export async function liveMemory(): Promise<LiveMemory> {
  await collectGarbage();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return { heapBytes: heapUsed, bufferBytes: arrayBuffers };
}
