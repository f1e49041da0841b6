/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** The `p`th percentile of `values` by linear interpolation between closest ranks; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/**
 * The nanoseconds per call of routing the calls of a mix again and again: `route(i)` routes call `i` of `count`
 * and returns the chosen cluster's name. Each batch goes round the mix fifty times between clock reads, for a
 * warm-up then a measured time; the names' lengths are summed so that the results stay live.
 */
export function nsPerRoutedCall(route: (i: number) => string, count: number, warmUpMs: number, measureMs: number): number {
  const batch = count * 50;
  let sink = 0;
  const runFor = (ms: number): { calls: number; elapsed: number } => {
    const start = performance.now();
    let calls = 0;
    let elapsed = 0;
    do {
      for (let k = 0; k < batch; k++) sink += route(k % count).length;
      calls += batch;
      elapsed = performance.now() - start;
    } while (elapsed < ms);
    return { calls, elapsed };
  };
  runFor(warmUpMs);
  const { calls, elapsed } = runFor(measureMs);
  if (sink === 0) throw new Error("bench: no call was routed");
  return (elapsed * 1e6) / calls;
}
