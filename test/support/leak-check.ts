// Root hooks: after the whole suite, nothing a test started (sockets, servers, timers) may still be open.
function census(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return counts;
}

let baseline = new Map<string, number>();

export const mochaHooks = {
  beforeAll() {
    baseline = census();
  },
  afterAll(this: Mocha.Context) {
    this.timeout(5000);
    // Closed sockets and cancelled timers are released on a later turn of the loop, hence the wait.
    // Two timers belong to this hook itself: mocha's timeout for it and the wait below.
    return new Promise<void>((resolve, reject) =>
      setTimeout(() => {
        const leaks = [...census()].filter(([kind, n]) => n > (baseline.get(kind) ?? 0) + (kind === "Timeout" ? 2 : 0));
        if (leaks.length > 0) reject(new Error(`left open after the suite: ${leaks.map(([k, n]) => `${k} ×${n}`).join(", ")}`));
        else resolve();
      }, 200),
    );
  },
};
