// Run as a child process (`node client-fleet.js <server address> <clients> <EDS name>`): connects that many rxds
// XdsClients to the server, each on its own ADS stream watching one ClusterLoadAssignment, and reports every delivery
// to the parent over IPC as `{ client, at }` (`at`: wall-clock ms, comparable across processes). Closes its clients
// and exits when the parent sends "close". Keeps the clients' cost out of the server process that a scenario measures.
import { XdsClient } from "rxds";

const [address, count, name] = process.argv.slice(2);
if (address === undefined || count === undefined || name === undefined || process.send === undefined) {
  process.stderr.write("usage: node client-fleet.js <server address> <clients> <EDS name>, forked with IPC\n");
  process.exit(2);
}
const send = process.send.bind(process);
const clients: XdsClient[] = [];
for (let client = 0; client < Number(count); client++) {
  const xds = new XdsClient({
    servers: [{ uri: address }],
    node: { id: `sidecar~127.0.0.1~fleet-${client}.default~default.svc.cluster.local`, metadata: { GENERATOR: "grpc", NAMESPACE: "default" } },
  });
  clients.push(xds);
  xds.endpoints(name).subscribe((update) => {
    if (update.resource !== undefined) send({ client, at: performance.timeOrigin + performance.now() });
  });
}
process.on("message", (message) => {
  if (message !== "close") return;
  void Promise.all(clients.map((xds) => xds.close())).then(() => process.disconnect());
});
