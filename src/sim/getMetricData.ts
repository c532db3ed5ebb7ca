import {
  decodeToken,
  encodeToken,
  missing,
  parseInstant,
  requireNumber,
} from "./cloudwatchParams.js";
import { awsErrors, SimServiceError } from "./errors.js";
import { expandLabel } from "./metricLabels.js";
import { type ParsedQuery, parseLabelTimezone, parseQueries } from "./metricQueries.js";
import { type MetricKey, type MetricScope, type SeriesReader, statisticOf } from "./metrics.js";

/**
 * GetMetricData's evaluation: each query's datapoints binned by period, as old as retention
 * allows, paged over all queries by MaxDatapoints.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const DEFAULT_MAX_DATAPOINTS = 100_800;

/** How long CloudWatch keeps data at a period's resolution (facts §6). */
function retentionMs(periodSec: number): number {
  if (periodSec < 60) return 3 * 3_600_000;
  if (periodSec < 300) return 15 * DAY;
  if (periodSec < 3600) return 63 * DAY;
  return 455 * DAY;
}

/** CloudWatch rounds a start time down, more coarsely the older it is. */
function roundStart(start: number, now: number): number {
  const age = now - start;
  const step = age < 15 * DAY ? MINUTE : age < 63 * DAY ? 5 * MINUTE : 60 * MINUTE;
  return Math.floor(start / step) * step;
}

/** Wire-shaped (AWS JSON 1.0) output of GetMetricData. */
export interface GetMetricDataOutput {
  MetricDataResults: {
    Id: string;
    Label: string;
    Timestamps: number[];
    Values: number[];
    StatusCode: "Complete" | "PartialData";
  }[];
  NextToken?: string;
  Messages: never[];
}

/** Where a query's datapoints come from, and which accounts it may name. */
export interface MetricSource {
  reader(key: MetricKey, scope: MetricScope): SeriesReader | undefined;
  accounts(): readonly string[];
}

export function getMetricData(
  input: Record<string, unknown>,
  now: number,
  scope: MetricScope,
  source: MetricSource,
): GetMetricDataOutput {
  const start = parseInstant(input.StartTime ?? missing("StartTime"), "StartTime");
  const end = parseInstant(input.EndTime ?? missing("EndTime"), "EndTime");
  if (end <= start) {
    throw new SimServiceError(
      awsErrors.invalidParameterValue("The parameter EndTime must be greater than StartTime."),
    );
  }
  const queries = parseQueries(input.MetricDataQueries, source.accounts());
  const offsetMs = parseLabelTimezone(input.LabelOptions);
  const descending = (input.ScanBy ?? "TimestampDescending") !== "TimestampAscending";
  const maxDatapoints =
    input.MaxDatapoints === undefined
      ? DEFAULT_MAX_DATAPOINTS
      : requireNumber(input.MaxDatapoints, "MaxDatapoints");
  const offset = decodeToken(input.NextToken);

  const series = queries
    .filter((q) => q.returnData)
    .map((q) => ({
      q,
      points: aggregate(source, q, start, end, now, descending, {
        region: scope.region,
        accountId: q.accountId,
      }),
    }));
  const total = series.reduce((n, s) => n + s.points.length, 0);
  const pageEnd = Math.min(total, offset + maxDatapoints);
  let before = 0;
  const results = series.map(({ q, points }) => {
    const from = Math.min(points.length, Math.max(0, offset - before));
    const to = Math.min(points.length, Math.max(0, pageEnd - before));
    before += points.length;
    const page = points.slice(from, to);
    return {
      Id: q.id,
      Label: expandLabel(q, points, descending, offsetMs),
      Timestamps: page.map((p) => p.t / 1000),
      Values: page.map((p) => p.value),
      StatusCode: to < points.length ? ("PartialData" as const) : ("Complete" as const),
    };
  });
  return {
    MetricDataResults: results,
    ...(pageEnd < total ? { NextToken: encodeToken(pageEnd) } : {}),
    Messages: [],
  };
}

function aggregate(
  source: MetricSource,
  q: ParsedQuery,
  start: number,
  end: number,
  now: number,
  descending: boolean,
  scope: MetricScope,
): { t: number; value: number }[] {
  const read = source.reader(q.key, scope);
  if (!read) return [];
  const periodMs = q.periodSec * 1000;
  const from = Math.max(roundStart(start, now), now - retentionMs(q.periodSec));
  const binStart = roundStart(start, now);
  const nBins = Math.max(0, Math.ceil((end - binStart) / periodMs));
  // Plain arrays: a query asks for a few bins, and typed arrays cost more to allocate.
  const count: number[] = new Array(nBins).fill(0);
  const sum: number[] = new Array(nBins).fill(0);
  const min: number[] = new Array(nBins).fill(Number.POSITIVE_INFINITY);
  const max: number[] = new Array(nBins).fill(Number.NEGATIVE_INFINITY);
  read(from, end, now, (t, stats, unit) => {
    if (t < from || t >= end) return;
    if (q.unit !== undefined && unit !== q.unit) return;
    const i = Math.floor((t - binStart) / periodMs);
    count[i] = (count[i] as number) + stats.count;
    sum[i] = (sum[i] as number) + stats.sum;
    if (stats.min < (min[i] as number)) min[i] = stats.min;
    if (stats.max > (max[i] as number)) max[i] = stats.max;
  });
  const out: { t: number; value: number }[] = [];
  for (let i = 0; i < nBins; i++) {
    const n = count[i] as number;
    if (n === 0) continue;
    const stats = {
      count: n,
      sum: sum[i] as number,
      min: min[i] as number,
      max: max[i] as number,
    };
    out.push({ t: binStart + i * periodMs, value: statisticOf(stats, q.stat) });
  }
  return descending ? out.reverse() : out;
}
