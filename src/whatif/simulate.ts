import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeMissingPrice } from "../config/pricing.js";
import { API_PRICES } from "../domain/apiPrices.js";
import { KeepwarmError } from "../domain/errors.js";
import { DEFAULT_CMU_VERSION, versionPrice } from "../domain/price.js";
import { monthRange } from "../domain/spend.js";
import type { ModelConfig, Price } from "../domain/types.js";
import { DAY_MS, MINUTE_MS } from "../domain/units.js";
import { projectionErrorPct, windowsInMonth, withoutProjection } from "./figures.js";
import { runScenario } from "./run.js";
import type { MonthSimulation, Scenario, ScenarioOutcome, SimulateOptions } from "./types.js";

export { alwaysOnCadence, cronInstants } from "./baselines.js";
export { coverageOf, projectionErrorPct } from "./figures.js";
export type {
  KeepwarmResult,
  ModelSimulation,
  MonthSimulation,
  Scenario,
  ScenarioResult,
  SimulatedOverhead,
  SimulateOptions,
  SimulateProgress,
  SimulateTransport,
} from "./types.js";

/**
 * Runs one month three times on virtual time, each against a simulator of its own:
 * keepwarm's real daemon over the wire, the seed article's cron (a ping at minutes 0, 14, 28, 42
 * and 56 of every hour inside a window, no retry) and always-on (a ping every 14 minutes around
 * the clock, cold starts ridden out). Coverage is what a user would have met: each minute
 * of each window, is a copy up?
 */
export async function simulateMonth(options: SimulateOptions): Promise<MonthSimulation> {
  const startedAt = performance.now();
  const month = monthRange(options.month);
  const days = options.days;
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) {
    throw new RangeError(`days must be a whole number of at least 1, got ${days}`);
  }
  const range =
    days === undefined
      ? month
      : { start: month.start, end: Math.min(month.end, month.start + days * DAY_MS) };
  const prerollMs = options.prerollMs ?? DAY_MS;
  const stateDir = await mkdtemp(join(tmpdir(), "keepwarm-simulate-"));
  try {
    const models = options.config.models;
    const simSpecs = new Map((options.simModels ?? []).map((m) => [m.modelArn, m]));
    const cmuOf = (m: ModelConfig) =>
      simSpecs.get(m.modelArn)?.customModelUnits ?? m.customModelUnits ?? options.defaultCmu ?? 4;
    const cmuVersionOf = (m: ModelConfig) =>
      simSpecs.get(m.modelArn)?.cmuVersion ?? m.cmuVersion ?? DEFAULT_CMU_VERSION;
    const prices = new Map(models.map((m) => [m.name, priceOrThrow(m, cmuVersionOf(m))]));
    const priceOf = (m: ModelConfig) => prices.get(m.name) as Price;
    const windows = new Map(models.map((m) => [m.name, windowsInMonth(options.config, m, range)]));
    const run = (scenario: Scenario) =>
      runScenario({
        ...options,
        scenario,
        range,
        prerollMs,
        stateDir,
        cmuOf,
        cmuVersionOf,
        priceOf,
        simSpecs,
        windows,
      });
    const keepwarm = await run("keepwarm");
    const cron = await run("cron");
    const alwaysOn = await run("alwaysOn");
    return {
      month: options.month,
      range,
      overhead: {
        getMetricDataCalls: keepwarm.getMetricData.calls,
        metricsRequested: keepwarm.getMetricData.metricsRequested,
        metricsPerModelMinute:
          models.length === 0
            ? 0
            : keepwarm.getMetricData.metricsRequested /
              (models.length * ((range.end - range.start) / MINUTE_MS)),
        usd: keepwarm.getMetricData.metricsRequested * API_PRICES.getMetricDataUsdPerMetric,
      },
      elapsedMs: Math.round(performance.now() - startedAt),
      scenarioMs: { keepwarm: keepwarm.ms, cron: cron.ms, alwaysOn: alwaysOn.ms },
      models: models.map((m) => {
        const kw = keepwarm.results.get(m.name) as ScenarioOutcome;
        return {
          model: m.name,
          policy: m.policy,
          region: m.region,
          cmu: cmuOf(m),
          cmuVersion: cmuVersionOf(m),
          usdPerCmuMinute: priceOf(m).usdPerCmuMinute,
          keepwarm: {
            ...kw,
            // The projection is of the whole month: a ledger of its first days is no check of it.
            projectionErrorPct:
              range.end < month.end ? undefined : projectionErrorPct(kw.projectedUsd, kw.totalUsd),
          },
          cron: withoutProjection(cron.results.get(m.name) as ScenarioOutcome),
          alwaysOn: withoutProjection(alwaysOn.results.get(m.name) as ScenarioOutcome),
        };
      }),
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** A month that cannot be simulated as asked: the message names what to set. */
export class SimulateError extends KeepwarmError {
  override readonly name = "SimulateError";
}

/** A simulated month is priced whole: a model whose CMU version has no price is refused up front. */
function priceOrThrow(model: ModelConfig, cmuVersion: string): Price {
  const price = versionPrice(model, cmuVersion);
  if (price) return price;
  throw new SimulateError(
    `${model.name}: ${describeMissingPrice(model.region, ["usdPerCmuMinute", "storageUsdPerCmuMonth"], cmuVersion)}`,
  );
}
