// Run as a child process (`node --expose-gc import-probe.js <specifier>`): imports one module into a
// fresh process and prints, as JSON, how long the import took and how much live heap it added.
const specifier = process.argv[2];
const gc = (globalThis as { gc?: () => void }).gc;
if (!specifier || !gc) {
  process.stderr.write("usage: node --expose-gc import-probe.js <module specifier>\n");
  process.exit(2);
}
gc();
const heapBefore = process.memoryUsage().heapUsed;
const start = performance.now();
await import(specifier);
const importMs = performance.now() - start;
gc();
const heapBytes = process.memoryUsage().heapUsed - heapBefore;
process.stdout.write(`${JSON.stringify({ importMs, heapBytes })}\n`);
