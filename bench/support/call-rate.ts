import { waitLimitMs } from "./loopback.js";

/** Starts one call and calls `done` when it ends (with its error, if it failed). */
export type StartCall = (done: (error?: unknown) => void) => void;

/** Calls answered and the time from the first call to the last answer. */
export interface CallRate {
  readonly calls: number;
  readonly elapsed: number;
}

/**
 * Runs calls with `concurrency` in flight for `ms`: each of `concurrency` loops starts its next call when the
 * previous one answers, until the time is up. A call that never answers fails the run after the wait limit.
 */
export function drive(start: StartCall, concurrency: number, ms: number): Promise<CallRate> {
  return new Promise((resolve, reject) => {
    const begin = performance.now();
    const stopAt = begin + ms;
    let calls = 0;
    let running = concurrency;
    let failed = false;
    const watchdog = setTimeout(() => fail(new Error(`bench: calls did not finish within ${waitLimitMs / 1000} s`)), ms + waitLimitMs);
    const fail = (error: unknown) => {
      if (failed) return;
      failed = true;
      clearTimeout(watchdog);
      reject(error instanceof Error ? error : new Error(String(error)));
    };
    const loop = (): void => {
      start((error) => {
        if (failed) return;
        if (error) return fail(error);
        calls++;
        if (performance.now() < stopAt) return loop();
        if (--running === 0) {
          clearTimeout(watchdog);
          resolve({ calls, elapsed: performance.now() - begin });
        }
      });
    };
    for (let i = 0; i < concurrency; i++) loop();
  });
}

/**
 * Calls per second of a direct and a routed client: both warmed up for `warmUpMs`, then timed for `durationMs` each
 * in eight slices ordered direct, routed, routed, direct, routed, direct, direct, routed, so that drift on a shared
 * machine affects both alike.
 */
export async function compareCallRates(
  clients: { readonly direct: StartCall; readonly routed: StartCall },
  { concurrency, warmUpMs, durationMs }: { readonly concurrency: number; readonly warmUpMs: number; readonly durationMs: number },
): Promise<{ callsPerSecond: number; directCallsPerSecond: number; ratioToDirect: number }> {
  // The routed client's first calls wait for its routing (the xDS chain) and connection: warm-up.
  await drive(clients.direct, concurrency, warmUpMs);
  await drive(clients.routed, concurrency, warmUpMs);
  const slice = durationMs / 4;
  const sum = { direct: { calls: 0, elapsed: 0 }, routed: { calls: 0, elapsed: 0 } };
  for (const which of ["direct", "routed", "routed", "direct", "routed", "direct", "direct", "routed"] as const) {
    const { calls, elapsed } = await drive(clients[which], concurrency, slice);
    sum[which].calls += calls;
    sum[which].elapsed += elapsed;
  }
  const callsPerSecond = (sum.routed.calls * 1000) / sum.routed.elapsed;
  const directCallsPerSecond = (sum.direct.calls * 1000) / sum.direct.elapsed;
  return { callsPerSecond, directCallsPerSecond, ratioToDirect: callsPerSecond / directCallsPerSecond };
}
