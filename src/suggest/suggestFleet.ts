import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { MetricsRequested } from "../aws/metrics.js";
import type { PricedUnits } from "../domain/price.js";
import { monthOf, monthRange } from "../domain/spend.js";
import type { ModelTimings } from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { type ModelSuggestion, suggestModel } from "./candidates.js";
import { type DemandModel, demandRange, readRegionDemand } from "./read.js";
import type { DemandSeries, OwnPings } from "./types.js";

export interface SuggestFleetInput {
  readonly config: ResolvedConfig;
  readonly models: readonly ModelConfig[];
  readonly weeks: number;
  readonly now: number;
  readonly cloudwatchOf: (region: string) => CloudWatchClient;
  readonly timingsOf: (model: ModelConfig) => ModelTimings;
  readonly ownOf: (model: ModelConfig) => OwnPings | undefined;
  /** Undefined while a model's CMU count or its price is unknown. */
  readonly unitsOf: (model: ModelConfig) => PricedUnits | undefined;
  /** Told of each GetMetricData call's metrics (the daemon's overhead). */
  readonly requested?: MetricsRequested;
}

/** What reading CloudWatch took: GetMetricData calls and the metrics they requested. */
export interface ReadUsage {
  readonly calls: number;
  readonly metricsRequested: number;
}

export interface FleetSuggestion {
  readonly models: readonly ModelSuggestion[];
  /** What reading CloudWatch took: GetMetricData calls and metrics requested. */
  readonly usage: ReadUsage;
}

/** The month the candidates are costed for: the first whole UTC month after `now`. */
export function costedMonth(now: number): string {
  return monthOf(monthRange(monthOf(now)).end);
}

/**
 * Reads the weeks before `now` for every model (one read per region) and makes each
 * model's candidates, in the config's order.
 */
export async function suggestFleet(input: SuggestFleetInput): Promise<FleetSuggestion> {
  const range = demandRange(input.now, input.weeks);
  const usage = { calls: 0, metricsRequested: 0 };
  const requested = (metrics: number) => {
    usage.calls++;
    usage.metricsRequested += metrics;
    input.requested?.(metrics);
  };
  const byRegion = new Map<string, DemandModel[]>();
  for (const model of input.models) {
    const list = byRegion.get(model.region) ?? [];
    list.push({ model, timings: input.timingsOf(model), own: input.ownOf(model) });
    byRegion.set(model.region, list);
  }
  const read = new Map<string, { timings: ModelTimings; series: DemandSeries | undefined }>();
  for (const [region, models] of byRegion) {
    const series = await readRegionDemand(
      input.cloudwatchOf(region),
      input.config,
      models,
      range,
      input.now,
      requested,
    );
    for (const m of models) {
      read.set(m.model.name, { timings: m.timings, series: series.get(m.model.name) });
    }
  }
  const month = costedMonth(input.now);
  const models: ModelSuggestion[] = [];
  for (const model of input.models) {
    const { timings, series } = read.get(model.name) ?? {};
    if (!timings || !series) throw new RangeError(`no demand read for ${model.name}`);
    models.push(
      suggestModel({
        config: input.config,
        model,
        timings,
        units: input.unitsOf(model),
        demand: series,
        month,
      }),
    );
    // A model's candidates take tens of milliseconds: the daemon's pings and minute job
    // run between two models rather than wait for the whole fleet.
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return { models, usage };
}
