// A profiling target for the RPC path through rxds/grpc: one run of the RPC overhead scenario for rxds,
// longer than the bench's. Not part of `npm run bench`; run it under the profiler:
//
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/profile/rpc-loop.js [ms]
import { rpcOverhead } from "../scenarios/rpc-overhead.js";
import { rxdsSubject } from "../subjects/rxds-subject.js";

const durationMs = Number(process.argv[2] ?? 4000);
console.log(await rpcOverhead.measure(rxdsSubject, { concurrency: 16, warmUpMs: 500, durationMs }));
