import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import {
  type CountQuery,
  type CountReadRange,
  type CountSeries,
  readCallCounts,
} from "../aws/callCounts.js";
import type { MetricsRequested } from "../aws/metrics.js";
import type { Interval } from "../domain/interval.js";
import { planModel } from "../domain/plan.js";
import type { ModelTimings } from "../domain/timings.js";
import type { ColdCallMetricName, ModelConfig, ResolvedConfig } from "../domain/types.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../domain/units.js";
import { type CountPart, userDemand } from "./demand.js";
import { BUCKET_MS, type DemandSeries, type OwnPings, type PlannedPings } from "./types.js";

/** CloudWatch keeps 5-minute data 63 days, hourly data 455 days (an hour's margin each). */
const FIVE_MINUTE_RETENTION_MS = 63 * DAY_MS - HOUR_MS;
export const HOURLY_RETENTION_MS = 455 * DAY_MS - HOUR_MS;
/** A 5-minute datapoint is complete a few minutes after its period ends. */
const SETTLE_MS = 10 * MINUTE_MS;
const WEEK_MS = 7 * DAY_MS;
const INVOCATIONS = "Invocations";

/** What one model brings to the read. */
export interface DemandModel {
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
  /** keepwarm's counted requests (pings.json); undefined when none are kept for it. */
  readonly own: OwnPings | undefined;
}

/** The `weeks` whole weeks before `now`, in whole 5-minute buckets, settled data only. */
export function demandRange(now: number, weeks: number): Interval {
  const end = Math.floor((now - SETTLE_MS) / BUCKET_MS) * BUCKET_MS;
  return { start: end - weeks * WEEK_MS, end };
}

/**
 * The reads a range needs: 5-minute sums for the last 63 days, hourly sums before that
 * (on whole hours), as CloudWatch keeps them.
 */
export function readRanges(range: Interval, now: number): CountReadRange[] {
  const fineFrom = Math.max(
    range.start,
    Math.ceil((now - FIVE_MINUTE_RETENTION_MS) / HOUR_MS) * HOUR_MS,
  );
  const ranges: CountReadRange[] = [];
  if (fineFrom > range.start) {
    ranges.push({ start: range.start, end: fineFrom, periodSeconds: 3600 });
  }
  ranges.push({ start: fineFrom, end: range.end, periodSeconds: 300 });
  return ranges;
}

/** No pings: pings.json counted keepwarm's requests over the whole range. */
const NONE_PLANNED: PlannedPings = { pings: [], warmUps: [] };

/** The pings the plan sends over `range`, and its warm-ups (first ping to first success). */
export function plannedPings(
  config: ResolvedConfig,
  model: ModelConfig,
  range: Interval,
  timings: ModelTimings,
): PlannedPings {
  const plan = planModel(config, model, range, timings);
  return {
    pings: plan.pings,
    warmUps: plan.warm.map((w) => ({ start: w.start, end: w.billedFrom + MINUTE_MS })),
  };
}

/**
 * Users' calls per 5-minute bucket for each model of one region over `range`: its
 * `Invocations` and cold-call metric (`coldMetric`, unless `none`) in as few metrics
 * requested as CloudWatch allows (two per model and read range), less keepwarm's requests.
 */
export async function readRegionDemand(
  cloudwatch: CloudWatchClient,
  config: ResolvedConfig,
  models: readonly DemandModel[],
  range: Interval,
  now: number,
  requested?: MetricsRequested,
): Promise<Map<string, DemandSeries>> {
  const coldMetric: ColdCallMetricName = config.daemon.coldCallMetric ?? "InvocationThrottles";
  const queries: CountQuery[] = models.flatMap(({ model }) => [
    { key: `${model.name}\u0000i`, metric: { ...model.metric, metricName: INVOCATIONS } },
    ...(coldMetric === "none"
      ? []
      : [{ key: `${model.name}\u0000c`, metric: { ...model.metric, metricName: coldMetric } }]),
  ]);
  const parts: Map<string, CountSeries>[] = [];
  for (const r of readRanges(range, now)) {
    parts.push(await readCallCounts(cloudwatch, queries, r, requested));
  }
  const demand = new Map<string, DemandSeries>();
  for (const { model, timings, own } of models) {
    const of = (suffix: string): CountPart[] =>
      parts.flatMap((p) => p.get(`${model.name}\u0000${suffix}`) ?? []);
    demand.set(
      model.name,
      userDemand({
        range,
        invocations: of("i"),
        cold: of("c"),
        own,
        planned:
          own && own.since <= range.start
            ? NONE_PLANNED
            : plannedPings(config, model, range, timings),
      }),
    );
  }
  return demand;
}
