// Acceptance bounds for a weighted split: the interval of counts a fair split lands in except with a
// given (tiny) probability, from the exact binomial distribution.

/** [lo, hi] such that a Binomial(n, p) count falls outside with probability at most `alpha` (half each side). */
export function binomialBounds(n: number, p: number, alpha = 1e-6): [number, number] {
  const logPmf = (k: number): number => logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log(1 - p);
  let lo = 0;
  let below = 0;
  while (lo < n && below + Math.exp(logPmf(lo)) <= alpha / 2) below += Math.exp(logPmf(lo++));
  let hi = n;
  let above = 0;
  while (hi > 0 && above + Math.exp(logPmf(hi)) <= alpha / 2) above += Math.exp(logPmf(hi--));
  return [lo, hi];
}

function logChoose(n: number, k: number): number {
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += Math.log(n - k + i) - Math.log(i);
  return sum;
}
