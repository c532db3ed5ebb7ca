import { type ApiCounts, addApiCounts, apiCostUsd, NO_API_CALLS } from "../../domain/apiPrices.js";
import { cents, centsOrNull } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import { monthOf, monthRange } from "../../domain/spend.js";
import { HOUR_MS } from "../../domain/units.js";

/** The projection is extrapolated only once this much has been counted (start-up reads every minute). */
export const OVERHEAD_PROJECTION_AFTER_MS = HOUR_MS;

/** keepwarm's own AWS cost in the current UTC month, as counted by this process. */
export interface OverheadFigures {
  /** Counted from here: the daemon's start, or the 1st 00:00 UTC when it has run since before. */
  readonly since: number;
  readonly counts: ApiCounts;
  readonly monthToDateUsd: number;
  /**
   * Month to date plus the rest of the month at the rate counted since `since`; undefined
   * until an hour has been counted.
   */
  readonly projectedMonthUsd: number | undefined;
}

/**
 * Counts keepwarm's billable AWS calls (GetMetricData metrics requested, Cost Explorer and
 * ListMetrics requests) and prices them at API_PRICES. Counts live in this process: after a
 * restart month to date starts again from the start (`since` says from when), and each daily
 * summary keeps its day's counts.
 */
export class OverheadMeter {
  readonly #now: () => number;
  readonly #told: ((calls: ApiCounts) => void) | undefined;
  #month: Interval;
  #since: number;
  #counts: ApiCounts = NO_API_CALLS;
  #day: ApiCounts = NO_API_CALLS;

  /** `told` hears of each call as it is counted (the /metrics counters). */
  constructor(now: () => number, told?: (calls: ApiCounts) => void) {
    this.#now = now;
    this.#told = told;
    const at = now();
    this.#month = monthRange(monthOf(at));
    this.#since = at;
  }

  /** GetMetricData calls that answered (one unless told), with the metrics (queries) they requested. */
  recordGetMetricData(metrics: number, calls = 1): void {
    this.#add({ ...NO_API_CALLS, getMetricDataCalls: calls, metricsRequested: metrics });
  }

  /** Cost Explorer requests made (GetCostAndUsage, each page a request). */
  recordCostExplorerRequests(n: number): void {
    this.#add({ ...NO_API_CALLS, costExplorerRequests: n });
  }

  /** CloudWatch ListMetrics requests made. */
  recordListMetricsRequests(n: number): void {
    this.#add({ ...NO_API_CALLS, listMetricsRequests: n });
  }

  figures(now: number = this.#now()): OverheadFigures {
    this.#roll(now);
    const monthToDateUsd = apiCostUsd(this.#counts);
    const counted = now - this.#since;
    const projectedMonthUsd =
      counted < OVERHEAD_PROJECTION_AFTER_MS
        ? undefined
        : monthToDateUsd + (monthToDateUsd / counted) * (this.#month.end - now);
    return { since: this.#since, counts: this.#counts, monthToDateUsd, projectedMonthUsd };
  }

  /** The calls counted since the last take (the daily summary's day), which this resets. */
  takeDay(): ApiCounts {
    const day = this.#day;
    this.#day = NO_API_CALLS;
    return day;
  }

  #add(c: ApiCounts): void {
    this.#roll(this.#now());
    this.#counts = addApiCounts(this.#counts, c);
    this.#day = addApiCounts(this.#day, c);
    this.#told?.(c);
  }

  /** A new UTC month counts from its 1st 00:00. */
  #roll(now: number): void {
    if (now < this.#month.end) return;
    this.#month = monthRange(monthOf(now));
    this.#since = this.#month.start;
    this.#counts = NO_API_CALLS;
  }
}

/** A daily summary's `overhead`: the day's calls and what they and the month's cost. */
export interface OverheadDaySummary extends ApiCounts {
  readonly dayUsd: number;
  readonly monthToDateUsd: number;
  readonly projectedMonthUsd: number | null;
  /** Month to date is counted from here (the daemon's start, or the 1st 00:00 UTC). */
  readonly since: string;
}

export function overheadDaySummary(day: ApiCounts, f: OverheadFigures): OverheadDaySummary {
  return {
    ...day,
    dayUsd: cents(apiCostUsd(day)),
    monthToDateUsd: cents(f.monthToDateUsd),
    projectedMonthUsd: centsOrNull(f.projectedMonthUsd),
    since: new Date(f.since).toISOString(),
  };
}
