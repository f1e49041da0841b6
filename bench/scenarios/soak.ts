import { filter, firstValueFrom, throwError, timeout } from "rxjs";
import { liveMemory } from "../support/heap.js";
import { Arrival, waitLimitMs, withLoopback } from "../support/loopback.js";
import type { Scenario } from "../support/scenario.js";
import { assignmentResource, defaultPort, EDS, LDS } from "../support/xds-fixtures.js";
import type { ControlPlane } from "rxds/server";
import type { XdsSubjectClient } from "../subjects/xds-subject.js";

/** Parameters of the soak scenario. */
export interface SoakParams {
  readonly targets: number;
  readonly updates: number;
}

const batch = 1_000;
const serviceName = "outbound|8080||soak.default.svc.cluster.local";

/** The next LDS request the plane receives that names `count` listeners; fails after the bench's wait limit. */
function ldsRequestNaming(plane: ControlPlane, count: number): Promise<unknown> {
  return firstValueFrom(
    plane.requests$.pipe(
      filter((r) => r.request.typeUrl === LDS && r.request.resourceNames.length === count),
      timeout({ first: waitLimitMs, with: () => throwError(() => new Error(`bench: no LDS request naming ${count} listeners within ${waitLimitMs / 1000} s`)) }),
    ),
  );
}

/** A long-lived client's churn: targets watched and dropped, endpoint updates, then close(): what stays on the heap. */
export const soak: Scenario<SoakParams> = {
  id: "soak",
  title: "Soak",
  description:
    "With a fresh control plane and client: N targets are resolved and dropped, a thousand at a time (each one's listener requested, then released), one EDS assignment of 10 endpoints is updated M times (each update delivered), then the client is closed. Live heap after a full GC, minus before the client was made; and the wall time of the whole run.",
  metrics: [
    { key: "heapMB", label: "heap left after close()", unit: "MB" },
    { key: "seconds", label: "run time", unit: "s" },
  ],
  cases: (mode) => [mode === "quick" ? { label: "1k targets, 500 EDS updates", params: { targets: 1_000, updates: 500 } } : { label: "10k targets, 5k EDS updates", params: { targets: 10_000, updates: 5_000 } }],
  runs: (mode) => (mode === "quick" ? 1 : 3),
  measure: (subject, { targets, updates }) =>
    withLoopback(subject, async (plane, connect) => {
      // A first, small pass loads what any use loads once (modules' lazy tables, the plane's own state).
      await churn(plane, connect(), 2, 10, 10);
      const before = await liveMemory();
      const started = performance.now();
      await churn(plane, connect(), targets / batch, batch, updates);
      const seconds = (performance.now() - started) / 1000;
      const after = await liveMemory();
      return { heapMB: (after.heapBytes - before.heapBytes) / 1e6, seconds };
    }),
};

/** One client's life: `batches` × `size` targets resolved and dropped, `updates` EDS updates delivered, then close(). */
async function churn(plane: ControlPlane, client: XdsSubjectClient, batches: number, size: number, updates: number): Promise<void> {
  // One target held all along, as a service holds its upstreams: the stream stays open while the others churn.
  const held = client.watchTarget("held.default.svc.cluster.local:8080", () => undefined);
  for (let b = 0; b < batches; b++) {
    const named = ldsRequestNaming(plane, size + 1);
    const unwatch = Array.from({ length: size }, (_, i) => client.watchTarget(`soak-${b}-${i}.default.svc.cluster.local:8080`, () => undefined));
    await named;
    const released = ldsRequestNaming(plane, 1);
    for (const stop of unwatch) stop();
    await released;
  }
  const arrival = new Arrival();
  let emissions = 0;
  const watched = firstValueFrom(plane.requests$.pipe(filter((r) => r.request.typeUrl === EDS && r.request.resourceNames.includes(serviceName))));
  const stop = client.watchEndpoints(serviceName, () => {
    emissions++;
    arrival.notify();
  });
  // Once the plane knows the watch, every update is its own response, and the client delivers each.
  await watched;
  const base = emissions;
  for (let k = 1; k <= updates; k++) plane.set(EDS, { [serviceName]: assignmentResource(serviceName, 10, (i) => defaultPort + i + (i === 0 ? 100 + k : 0)) });
  await arrival.until(() => emissions === base + updates, "the last EDS update");
  stop();
  held();
  await client.close();
}
