// A stream of jobs routed by the mesh: an async generator stands in for a queue (a Kafka consumer, a job table), and
// `routeWith(xds.router(target))` gives each job its route, cluster and endpoint, with no call made. Jobs tagged
// `stage: canary` follow examples/mesh.yaml's header route to v1; the others its 50/50 default split, visible in the
// tally. With `npm run serve` running: `node dist/examples/job-router.js [--jobs 200] [--server …] [--target …]`.
import { from, lastValueFrom, scan } from "rxjs";
import { XdsError } from "rxds";
import { routeWith, whenReady, type RouteDecision } from "rxds/operators";
import { exampleSetup } from "./example-client.js";

const { xds, target, options } = exampleSetup(["jobs"]);
const count = Number(options["jobs"] ?? 200);
if (!Number.isInteger(count) || count < 1) throw new Error(`--jobs: expected a number of jobs >= 1, got ${JSON.stringify(options["jobs"])}`);

/** A job: what it asks for (a GreetService method) and its headers; every fifth is a canary. */
interface Job {
  readonly id: number;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The queue: jobs arrive one by one, as from a consumer. */
async function* jobs(): AsyncGenerator<Job> {
  for (let id = 1; id <= count; id++) {
    yield { id, path: "/proxyless.GreetService/SayHello1", headers: id % 5 === 0 ? { stage: "canary" } : {} };
  }
}

/** The subset a decision went to: `v1` of `outbound|8888|v1|kitex-server…`. */
const subsetOf = (decision: RouteDecision) => decision.leafCluster.split("|")[2] || decision.leafCluster;

// A startup gate: fail at once if the target cannot be routed (absent, rejected, control plane unreachable).
await whenReady(xds, target);

const tally = await lastValueFrom(
  from(jobs()).pipe(
    routeWith(xds.router(target), (result, job) => ({ job, result })),
    scan((counts, { job, result }) => {
      const kind = job.headers["stage"] === "canary" ? "canary" : "other";
      const where = result instanceof XdsError ? result.code : subsetOf(result);
      // A decision holds its endpoint until done(): a real job calls it with the status it ended with; these are
      // only looked at, never sent, so they give their endpoint back at once.
      if (!(result instanceof XdsError)) result.done();
      if (job.id <= 10) {
        const how = result instanceof XdsError ? result.message : `route ${result.routeName || "(unnamed)"} → ${where} ${result.endpoint.address}:${result.endpoint.port}`;
        console.log(`job ${job.id} (${kind}): ${how}`);
      }
      const key = `${kind} ${where}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return counts;
    }, new Map<string, number>()),
  ),
);

for (const kind of ["canary", "other"]) {
  const rows = [...tally].filter(([key]) => key.startsWith(`${kind} `)).sort();
  const total = rows.reduce((sum, [, n]) => sum + n, 0);
  console.log(`${kind} jobs (${total}): ${rows.map(([key, n]) => `${key.slice(kind.length + 1)} ${n} (${Math.round((100 * n) / total)}%)`).join(", ")}`);
}
await xds.close();
