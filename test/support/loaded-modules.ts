// Run as a child process (`node loaded-modules.js <module specifier>...`): imports the modules, in order, into a fresh
// process and prints, as JSON, what loading them loaded: `esm`, the URLs of the ES modules (seen by a module load hook),
// and `cjs`, the paths of the CommonJS modules (require's cache).
import { createRequire, register } from "node:module";
import { MessageChannel } from "node:worker_threads";

const hook = `
let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }
`;
const urls: string[] = [];
const { port1, port2 } = new MessageChannel();
port1.on("message", (url: string) => urls.push(url));
register(`data:text/javascript,${encodeURIComponent(hook)}`, { data: { port: port2 }, transferList: [port2] });
for (const specifier of process.argv.slice(2)) await import(specifier);
// Messages from the hook thread arrive asynchronously: one more turn of the event loop delivers the last of them.
await new Promise((resolve) => setImmediate(resolve));
port1.close();
process.stdout.write(`${JSON.stringify({ esm: urls, cjs: Object.keys(createRequire(import.meta.url).cache) })}\n`);
