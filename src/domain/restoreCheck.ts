import { MINUTE_MS } from "./units.js";

/**
 * Whether a restore keepwarm rode out was the whole restore. keepwarm times a restore from
 * its own first ModelNotReadyException; when another caller (a second replica, a user, a
 * second config naming the same ARN) met the cold model first, the restore began before
 * that and the sample is too short. Learned from, it would shorten the lead time, and the
 * next window would open cold once that caller is gone.
 *
 * CloudWatch counts every call that met the restoring model, keepwarm's and others', in the
 * cold-call metric (`daemon.coldCallMetric`). Set against keepwarm's own cold calls, the
 * count says whether someone else was there: cold calls in the minutes before keepwarm's
 * first, or more of others' cold calls than keepwarm's own (callers that ride out a restore
 * retry at about the same pace, so whoever made more calls came first).
 */

/** A restore as measured, waiting for CloudWatch to say whether it was keepwarm's alone. */
export interface RiddenRestore {
  /** When the model first answered (the end of the restore as measured). */
  readonly at: number;
  readonly ms: number;
  /** keepwarm's own requests that met the restoring model, ascending (the first starts `ms`). */
  readonly notReadyAt: readonly number[];
}

/** Minutes before keepwarm's first cold call in which others' cold calls are looked for. */
export const RESTORE_CHECK_LOOKBACK_MS = 5 * MINUTE_MS;

/** Counts of the cold-call metric per minute from `start`, `values[i]` for minute i. */
export interface ColdCallCounts {
  readonly start: number;
  readonly values: ArrayLike<number>;
}

export type RestoreVerdict =
  /** Only keepwarm's calls met the model restoring: the sample is the whole restore. */
  | { readonly kind: "alone"; readonly own: number }
  /** Someone else met the cold model first: the restore began before keepwarm's first call. */
  | {
      readonly kind: "joined";
      readonly own: number;
      readonly others: number;
      readonly othersBefore: number;
    }
  /** The metric counted fewer cold calls than keepwarm made: it does not count them. */
  | { readonly kind: "unverifiable"; readonly own: number; readonly counted: number };

const minuteOf = (t: number): number => Math.floor(t / MINUTE_MS) * MINUTE_MS;

/** The minutes to read: from the lookback before the first cold call to the restore's end. */
export function restoreCheckRange(sample: RiddenRestore): { start: number; end: number } {
  const first = sample.notReadyAt[0] ?? sample.at - sample.ms;
  return {
    start: minuteOf(first) - RESTORE_CHECK_LOOKBACK_MS,
    end: minuteOf(sample.at) + MINUTE_MS,
  };
}

/** When every minute of the range is readable: its last minute plus the publish delay. */
export function restoreCheckDueAt(sample: RiddenRestore, publishDelayMs: number): number {
  return restoreCheckRange(sample).end + publishDelayMs + MINUTE_MS;
}

/** Judges a restore sample by the cold calls CloudWatch counted over its range. */
export function judgeRestore(sample: RiddenRestore, counts: ColdCallCounts): RestoreVerdict {
  const own = sample.notReadyAt.length;
  const firstMinute = minuteOf(sample.notReadyAt[0] ?? sample.at - sample.ms);
  let counted = 0;
  let before = 0;
  for (let i = 0; i < counts.values.length; i++) {
    const value = counts.values[i] ?? 0;
    counted += value;
    if (counts.start + i * MINUTE_MS < firstMinute) before += value;
  }
  if (counted < own) return { kind: "unverifiable", own, counted };
  const others = counted - own;
  if (before > 0 || others > own) return { kind: "joined", own, others, othersBefore: before };
  return { kind: "alone", own };
}
