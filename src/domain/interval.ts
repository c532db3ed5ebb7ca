/** A half-open span of time [start, end) in epoch milliseconds. */
export interface Interval {
  readonly start: number;
  readonly end: number;
}

/**
 * Sorts intervals and merges those that overlap or lie closer than `joinGapMs` apart
 * (0 merges only overlapping and touching ones). Empty intervals are dropped.
 */
export function mergeIntervals(intervals: readonly Interval[], joinGapMs = 0): Interval[] {
  const sorted = intervals.filter((i) => i.end > i.start).sort((a, b) => a.start - b.start);
  const merged: Interval[] = [];
  for (const next of sorted) {
    const last = merged[merged.length - 1];
    const joins =
      last !== undefined &&
      (joinGapMs > 0 ? next.start - last.end < joinGapMs : next.start <= last.end);
    if (last !== undefined && joins) {
      merged[merged.length - 1] = { start: last.start, end: Math.max(last.end, next.end) };
    } else {
      merged.push(next);
    }
  }
  return merged;
}

/** The part of `a` inside `b`, or undefined when they do not overlap. */
export function intersectInterval(a: Interval, b: Interval): Interval | undefined {
  const start = Math.max(a.start, b.start);
  const end = Math.min(a.end, b.end);
  return end > start ? { start, end } : undefined;
}

/** True when `t` lies in one of the sorted, disjoint `intervals`. */
export function containsInstant(intervals: readonly Interval[], t: number): boolean {
  let lo = 0;
  let hi = intervals.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const i = intervals[mid] as Interval;
    if (t < i.start) hi = mid - 1;
    else if (t >= i.end) lo = mid + 1;
    else return true;
  }
  return false;
}
