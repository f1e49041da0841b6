// A terminal view of a target: `xds.resolve(target)` rendered on every change (routes, clusters, endpoints). On a
// terminal the screen is redrawn; piped, each view is printed after a line of its own. With `npm run serve`
// running: `node dist/examples/watch.js [--server …] [--target …]`, then edit examples/mesh.yaml. Ctrl-C stops.
// `rxds watch <target> --server …` is this as a command, with the NACKs and the connection state added.
import { exampleSetup } from "./example-client.js";
import { renderTarget } from "../src/cli/target-view.js"; // the view `rxds watch` draws

const { xds, target } = exampleSetup();
let views = 0;
const subscription = xds.resolve(target).subscribe((snapshot) => {
  const view = renderTarget(snapshot).join("\n");
  if (process.stdout.isTTY) process.stdout.write(`\x1b[2J\x1b[H${view}\n\n(Ctrl-C to stop)\n`);
  else process.stdout.write(`--- view ${++views} ---\n${view}\n`);
});

async function stop(): Promise<void> {
  subscription.unsubscribe();
  await xds.close();
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
