import { type Interval, intersectInterval } from "../domain/interval.js";
import { planModel } from "../domain/plan.js";
import { initialTimings } from "../domain/timings.js";
import type { ModelConfig, Price, ResolvedConfig } from "../domain/types.js";
import { MINUTE_MS } from "../domain/units.js";
import type { UserCallCounts } from "../sim/index.js";
import type { ScenarioOutcome, ScenarioResult } from "./types.js";

/** (projection - ledger) / ledger, in percent; undefined without a projection or a bill. */
export function projectionErrorPct(
  projectedUsd: number | undefined,
  ledgerUsd: number,
): number | undefined {
  if (projectedUsd === undefined || ledgerUsd === 0) return undefined;
  return ((projectedUsd - ledgerUsd) / ledgerUsd) * 100;
}

/** The model's desired-warm windows clipped to the month. */
export function windowsInMonth(
  config: ResolvedConfig,
  model: ModelConfig,
  range: Interval,
): Interval[] {
  return planModel(config, model, range, initialTimings(model))
    .windows.map((w) => intersectInterval(w, range))
    .filter((w): w is Interval => w !== undefined);
}

/** A baseline's figures: no daemon ran, so there is no projection to report. */
export function withoutProjection(outcome: ScenarioOutcome): ScenarioResult {
  const { projectedUsd: _, dailyProjectedUsd: __, ...result } = outcome;
  return result;
}

/** What a run leaves for one model to be priced and checked against its windows. */
export interface ModelRun {
  readonly model: ModelConfig;
  readonly cmu: number;
  /** The price of the model's CMU version in its region, as keepwarm's config has it. */
  readonly price: Price;
  /** Copy-minutes the simulator's ledger billed in the range. */
  readonly billedMinutes: number;
  readonly windows: readonly Interval[];
  readonly warm: readonly { readonly start: number; readonly end: number | undefined }[];
  /** Successful InvokeModel calls in the range, users' included. */
  readonly invocations: number;
  /** How the users' calls in the range were answered. */
  readonly users: UserCallCounts;
}

/** The month's figures for one model: coverage of its windows and what the ledger costs. */
export function scenarioResultOf(run: ModelRun): ScenarioResult {
  const { cmu, price, billedMinutes } = run;
  const computeUsd = billedMinutes * cmu * price.usdPerCmuMinute;
  const storageUsd = cmu * price.storageUsdPerCmuMonth;
  const cov = coverageOf(run.windows, run.warm);
  return {
    windowMinutes: cov.windowMinutes,
    coveredMinutes: cov.coveredMinutes,
    coveragePct: cov.windowMinutes === 0 ? 100 : (cov.coveredMinutes / cov.windowMinutes) * 100,
    coldStartsInWindows: cov.coldStretches,
    invocations: run.invocations - run.users.ok,
    userCalls: run.users.calls,
    userColdCalls: run.users.notReady + run.users.throttled,
    billedMinutes,
    computeUsd,
    storageUsd,
    totalUsd: computeUsd + storageUsd,
  };
}

interface Coverage {
  readonly windowMinutes: number;
  readonly coveredMinutes: number;
  readonly coldStretches: number;
}

/**
 * Each minute inside `windows` (sorted, disjoint): was a copy up at its start, so that a
 * user's call would have been answered? Counted after the run from the simulator's warm
 * spans (its state is a function of the calls), rather than sampled by a timer per model
 * per minute; cold stretches are runs of window minutes without a copy up.
 */
export function coverageOf(
  windows: readonly Interval[],
  warm: readonly { readonly start: number; readonly end: number | undefined }[],
): Coverage {
  let windowMinutes = 0;
  let coveredMinutes = 0;
  let coldStretches = 0;
  let lastColdAt: number | undefined;
  let i = 0;
  for (const w of windows) {
    for (let t = Math.ceil(w.start / MINUTE_MS) * MINUTE_MS; t < w.end; t += MINUTE_MS) {
      while (i < warm.length && (warm[i]?.end ?? Number.POSITIVE_INFINITY) <= t) i++;
      const span = warm[i];
      windowMinutes++;
      if (span && span.start <= t) {
        coveredMinutes++;
        continue;
      }
      if (lastColdAt !== t - MINUTE_MS) coldStretches++;
      lastColdAt = t;
    }
  }
  return { windowMinutes, coveredMinutes, coldStretches };
}
