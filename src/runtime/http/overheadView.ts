import { centsOrNull, formatUsd } from "../../domain/format.js";
import type { OverheadFigures } from "../spend/overhead.js";

/** keepwarm's own AWS cost as /api/status gives it; null where no daemon counts it. */
export interface OverheadJson {
  readonly monthToDateUsd: number | null;
  /** Null in the first hour counted. */
  readonly projectedMonthUsd: number | null;
  /** Month to date is counted from here: the daemon's start, or the 1st 00:00 UTC. */
  readonly since: string;
  readonly getMetricDataCalls: number;
  readonly metricsRequested: number;
  readonly costExplorerRequests: number;
  readonly listMetricsRequests: number;
}

export function overheadJson(o: OverheadFigures | undefined): OverheadJson | null {
  if (!o) return null;
  return {
    monthToDateUsd: centsOrNull(o.monthToDateUsd),
    projectedMonthUsd: centsOrNull(o.projectedMonthUsd),
    since: new Date(o.since).toISOString(),
    ...o.counts,
  };
}

/**
 * The status page's line, plain text: "$0.12 since Tue 8 Dec 00:00 (12,345 GetMetricData
 * metrics, 3 Cost Explorer requests); projected $0.53 this month".
 */
export function overheadText(
  o: OverheadFigures | undefined,
  localTime: (t: number) => string,
): string {
  if (!o) return "not counted";
  const c = o.counts;
  const calls = [
    `${c.metricsRequested.toLocaleString("en-US")} GetMetricData metrics`,
    ...(c.costExplorerRequests > 0
      ? [`${c.costExplorerRequests.toLocaleString("en-US")} Cost Explorer requests`]
      : []),
    ...(c.listMetricsRequests > 0
      ? [`${c.listMetricsRequests.toLocaleString("en-US")} ListMetrics requests`]
      : []),
  ];
  const projected =
    o.projectedMonthUsd === undefined
      ? "projected after an hour"
      : `projected ${formatUsd(o.projectedMonthUsd)} this month`;
  return `${formatUsd(o.monthToDateUsd)} since ${localTime(o.since)} (${calls.join(", ")}); ${projected}`;
}
