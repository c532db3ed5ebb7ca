import { DAY_MS, HOUR_MS, MINUTE_MS } from "./units.js";

/**
 * When the daemon asks AWS's bill (Cost Explorer GetCostAndUsage, $0.01 a request) about
 * which UTC days. Cost Explorer has a day about 24 hours after it ends and marks it
 * Estimated until it is final; a day is reconciled once, when it is final. All pending days
 * go into one request (one date range), so the number of requests does not grow with them.
 */

/** A day is first asked about at 00:00 UTC this many days after its own 00:00: a day after it ended. */
export const FIRST_TRY_DAYS = 2;
/** Days still estimated, or not in Cost Explorer yet, are asked about again this long after the last request. */
export const RETRY_MS = 6 * HOUR_MS;
/** A first start (no state yet) reconciles from this many days back. */
export const LOOKBACK_DAYS = 7;
/** A day not final this many days after it is given up (CloudWatch keeps 5-minute data 63 days). */
export const GIVE_UP_DAYS = 45;
/** Waits after failed requests in a row; the last one repeats. */
export const FAILURE_BACKOFF_MS: readonly number[] = [
  15 * MINUTE_MS,
  30 * MINUTE_MS,
  HOUR_MS,
  2 * HOUR_MS,
  4 * HOUR_MS,
  RETRY_MS,
];

/** What the schedule remembers, across restarts too. Dates are UTC days, yyyy-MM-dd. */
export interface ReconcileSchedule {
  /** The first day reconciled. */
  readonly since: string;
  /** Days already final and reconciled (or given up), from `since` on, ascending. */
  readonly settled: readonly string[];
  /** No request before this instant (epoch ms): the retry after a request or a failure. */
  readonly notBefore: number;
}

/** Ask Cost Explorer about [from, to) now, or wait; `reason` says why, for the log and the status page. */
export type ReconcileDecision =
  | {
      readonly kind: "request";
      /** First day of the range. */
      readonly from: string;
      /** The day after the last (exclusive), as Cost Explorer takes `End`. */
      readonly to: string;
      /** The days of the range not reconciled yet. */
      readonly days: readonly string[];
      readonly reason: string;
    }
  | {
      readonly kind: "wait";
      /** When a request may go out next. */
      readonly until: number;
      /** The days waiting to be final, oldest first. */
      readonly days: readonly string[];
      readonly reason: string;
    };

/** The UTC day of `t`, yyyy-MM-dd. */
export function utcDate(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Epoch ms of 00:00 UTC of `date`. */
export function dayStart(date: string): number {
  return Date.parse(`${date}T00:00:00.000Z`);
}

/** `date` moved by `days` (negative: back). */
export function addDays(date: string, days: number): string {
  return utcDate(dayStart(date) + days * DAY_MS);
}

/** When `date` is first asked about: 00:00 UTC two days after it. */
export function firstTryAt(date: string): number {
  return dayStart(date) + FIRST_TRY_DAYS * DAY_MS;
}

/** The schedule of a first start at `now`: the last week's final days, nothing asked yet. */
export function freshSchedule(now: number): ReconcileSchedule {
  return { since: addDays(utcDate(now), -LOOKBACK_DAYS), settled: [], notBefore: 0 };
}

/** The oldest day still asked about at `now`; older ones are given up. */
function oldestKept(now: number): string {
  return addDays(utcDate(now), -GIVE_UP_DAYS);
}

/** The later of two yyyy-MM-dd dates. */
function laterDate(a: string, b: string): string {
  return [a, b].sort()[1] as string;
}

/** Days from `from` to `to`, both included. */
function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

/** The days due at `now` (past their first try) and not reconciled yet, oldest first. */
export function pendingDays(s: ReconcileSchedule, now: number): string[] {
  const newest = addDays(utcDate(now), -FIRST_TRY_DAYS);
  const oldest = laterDate(s.since, oldestKept(now));
  const settled = new Set(s.settled);
  return daysBetween(oldest, newest).filter((d) => !settled.has(d));
}

/**
 * Days that fell out of the window at `now` without being reconciled: still estimated
 * GIVE_UP_DAYS after them, or passed while the daemon was not running. Closing them
 * (`settle`) is up to the caller, who logs them.
 */
export function overdueDays(s: ReconcileSchedule, now: number): string[] {
  const oldest = oldestKept(now);
  if (s.since >= oldest) return [];
  const settled = new Set(s.settled);
  return daysBetween(s.since, addDays(oldest, -1)).filter((d) => !settled.has(d));
}

/**
 * Whether to ask Cost Explorer now, and about which range: the oldest pending day to the
 * newest, in one request, once `notBefore` has passed. With nothing pending, the wait is
 * until the next day comes due.
 */
export function decideReconcile(s: ReconcileSchedule, now: number): ReconcileDecision {
  const days = pendingDays(s, now);
  if (days.length === 0) {
    const next = addDays(utcDate(now), 1 - FIRST_TRY_DAYS);
    const until = Math.max(firstTryAt(next), s.notBefore);
    return {
      kind: "wait",
      until,
      days,
      reason: `nothing pending; ${next} is due at ${new Date(until).toISOString()}`,
    };
  }
  if (now < s.notBefore) {
    return {
      kind: "wait",
      until: s.notBefore,
      days,
      reason: `${describeDays(days)} not final yet; next request at ${new Date(s.notBefore).toISOString()}`,
    };
  }
  const first = days[0] as string;
  const last = days.at(-1) as string;
  return {
    kind: "request",
    from: first,
    to: addDays(last, 1),
    days,
    reason: `${describeDays(days)} due (first asked 2 days after the day, again every ${RETRY_MS / HOUR_MS} h until final)`,
  };
}

function describeDays(days: readonly string[]): string {
  return days.length === 1
    ? (days[0] as string)
    : `${days.length} days (${days[0]} to ${days.at(-1)})`;
}

/**
 * The schedule after a request at `now` answered: `closed` days (final, or given up) are
 * settled; the days left pending are asked about again RETRY_MS later. Days before the
 * window are dropped, so the list stays at most GIVE_UP_DAYS long.
 */
export function afterAnswer(
  s: ReconcileSchedule,
  now: number,
  closed: readonly string[],
): ReconcileSchedule {
  const next = settle(s, now, closed);
  return { ...next, notBefore: pendingDays(next, now).length > 0 ? now + RETRY_MS : now };
}

/** The schedule after a request at `now` failed for the `failures`-th time in a row. */
export function afterFailure(
  s: ReconcileSchedule,
  now: number,
  failures: number,
): ReconcileSchedule {
  const step = Math.min(Math.max(failures, 1), FAILURE_BACKOFF_MS.length) - 1;
  return { ...s, notBefore: now + (FAILURE_BACKOFF_MS[step] as number) };
}

/** `days` marked settled; the window moved up to what is still asked about at `now`. */
export function settle(
  s: ReconcileSchedule,
  now: number,
  days: readonly string[],
): ReconcileSchedule {
  const since = laterDate(s.since, oldestKept(now));
  const settled = [...new Set([...s.settled, ...days])].filter((d) => d >= since).sort();
  return { since, settled, notBefore: s.notBefore };
}

/** Both schedules' settled days, the later `notBefore`: what two replicas know together. */
export function mergeSchedules(a: ReconcileSchedule, b: ReconcileSchedule): ReconcileSchedule {
  return {
    since: [a.since, b.since].sort()[0] as string,
    settled: [...new Set([...a.settled, ...b.settled])].sort(),
    notBefore: Math.max(a.notBefore, b.notBefore),
  };
}
