/** The most instants of `times` inside any window [t, t + width): a peak request rate. */
export function peakIn(times: readonly number[], width: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < sorted.length; hi++) {
    while ((sorted[hi] as number) - (sorted[lo] as number) >= width) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}
