// Run as a child process (`node --expose-gc import-probe.js <specifier>...`): imports the modules, in order, into a
// fresh process and prints, as JSON, how long the imports took and how much live heap they added.
const specifiers = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (specifiers.length === 0 || !gc) {
  process.stderr.write("usage: node --expose-gc import-probe.js <module specifier>...\n");
  process.exit(2);
}
gc();
const heapBefore = process.memoryUsage().heapUsed;
const start = performance.now();
for (const specifier of specifiers) await import(specifier);
const importMs = performance.now() - start;
gc();
const heapBytes = process.memoryUsage().heapUsed - heapBefore;
process.stdout.write(`${JSON.stringify({ importMs, heapBytes })}\n`);
