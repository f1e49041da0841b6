// A pool of per-endpoint clients kept in step with the mesh: `xds.resolve(target)` → `endpointChanges()` →
// `perEndpoint()`. Each endpoint of the target gets a GreetService client when it appears and loses it when it
// leaves; a change of weight or health is printed. Run `npm run serve` in one terminal and this in another
// (`node dist/examples/connection-pool.js [--server 127.0.0.1:15010] [--target kitex-server:8888]`), then edit
// examples/mesh.yaml (the ServiceEntry's endpoints): the adds and removes print live. Ctrl-C closes every client.
import { credentials, type Client } from "@grpc/grpc-js";
import { endpointChanges, perEndpoint, type MeshEndpoint } from "rxds/operators";
import { exampleSetup } from "./example-client.js";
import { GreetServiceClient } from "./greet-service.js";

const { xds, target } = exampleSetup();

/** How an endpoint reads in the log: address, cluster, weight and health. */
const describe = (e: MeshEndpoint) => `${e.key}  ${e.cluster}  weight ${e.weight}  ${e.health}`;

console.log(`connection pool of ${target}: Ctrl-C to stop`);
const subscription = xds
  .resolve(target)
  .pipe(
    endpointChanges(),
    perEndpoint<Client>({
      create: (endpoint) => {
        console.log(`+ ${describe(endpoint)}`);
        return new GreetServiceClient(endpoint.key, credentials.createInsecure());
      },
      update: (_client, endpoint) => console.log(`~ ${describe(endpoint)}`),
      dispose: (client, endpoint) => {
        console.log(`- ${endpoint.key}`);
        client.close();
      },
    }),
  )
  .subscribe((pool) => console.log(`pool: ${pool.size} clients (${[...pool.keys()].join(", ")})`));

async function stop(): Promise<void> {
  subscription.unsubscribe(); // disposes every client of the pool
  await xds.close();
  console.log("closed");
}
process.once("SIGINT", () => void stop());
process.once("SIGTERM", () => void stop());
