/**
 * Resolves once `condition` holds, checking on each turn of the event loop; fails after 5 s, saying `what`.
 * For state that no event announces (a socket count, a log line); prefer waiting for an event where there is one.
 */
export async function until(condition: () => boolean, what = "condition"): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} not met within 5 s`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}
