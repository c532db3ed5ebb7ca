import type { Interval } from "../domain/interval.js";
import type { PricedUnits } from "../domain/price.js";
import { projectMonth } from "../domain/spend.js";
import type { ModelTimings } from "../domain/timings.js";
import type { ModelConfig, Policy, ResolvedConfig } from "../domain/types.js";
import { DAY_MS } from "../domain/units.js";
import { expandWindows } from "../domain/windows.js";
import { callsWithin, foldWeekly, totalCalls } from "./demand.js";
import { cheapestCovering, poolAgreeingDays, quarterHours, warmCostModel } from "./optimize.js";
import type { DemandSeries, WeeklyProfile } from "./types.js";
import { policyOf, windowRulesOf } from "./windowRules.js";

/** One schedule the operator could choose, with what it gives and costs. */
export interface Candidate {
  readonly label: string;
  /** The model's policy now (overrides left out). */
  readonly current: boolean;
  readonly policy: Policy;
  /** Share of the users' calls of the weeks read that fell in the policy's windows. */
  readonly coveragePct: number;
  /** Users' calls per week that fell outside them: each could have met a cold model. */
  readonly coldCallsPerWeek: number;
  /** The month's cost as `keepwarm plan` projects it; undefined while the CMU is unknown. */
  readonly monthlyUsd: number | undefined;
}

export interface ModelSuggestion {
  readonly model: ModelConfig;
  /** Zone of the model's policy: the profile's and the windows'. */
  readonly zone: string;
  readonly weeks: number;
  /** The range read, whole 5-minute buckets. */
  readonly range: Interval;
  /** Users' calls in it. */
  readonly calls: number;
  readonly profile: WeeklyProfile;
  /** Users' calls per 5-minute bucket of the range. */
  readonly demand: DemandSeries;
  /** The UTC month costed. */
  readonly month: string;
  readonly candidates: readonly Candidate[];
}

export interface SuggestInput {
  readonly config: ResolvedConfig;
  readonly model: ModelConfig;
  /** The timings `plan` would use for the model (learned, configured or assumed). */
  readonly timings: ModelTimings;
  /** Undefined while the CMU count or its price is unknown: no costs then. */
  readonly units: PricedUnits | undefined;
  readonly demand: DemandSeries;
  /** The UTC month the candidates are costed for (yyyy-MM). */
  readonly month: string;
}

/** The shares of calls the suggested windows are chosen for. */
export const COVERAGE_TARGETS = [0.9, 0.99, 1] as const;

/**
 * The candidates for one model: its current policy, the cheapest windows for 90%, 99% and
 * 100% of its users' calls (the current policy's zone and holidays kept), always-on and off,
 * each with the coverage it would have given over the weeks read, the calls it would have
 * left cold, and its month's cost by the plan's own projection.
 */
export function suggestModel(input: SuggestInput): ModelSuggestion {
  const { config, model, demand } = input;
  const current = config.policies.get(model.policy);
  if (!current) throw new RangeError(`policy "${model.policy}" of ${model.name} is not defined`);
  const zone = current.timezone;
  const range = { start: demand.start, end: demand.start + demand.calls.length * 300_000 };
  const weeks = (range.end - range.start) / (7 * DAY_MS);
  const calls = totalCalls(demand);
  const profile = foldWeekly(demand, zone);
  const quarters = poolAgreeingDays(quarterHours(profile)).pooled;
  const cost = warmCostModel(input.timings);

  const candidate = (label: string, policy: Policy, isCurrent = false): Candidate => {
    const covered = calls === 0 ? 0 : callsWithin(demand, expandWindows(policy, range));
    return {
      label,
      current: isCurrent,
      policy,
      coveragePct: calls === 0 ? 100 : (covered / calls) * 100,
      coldCallsPerWeek: (calls - covered) / weeks,
      monthlyUsd: monthlyUsd(input, policy),
    };
  };

  const list: Candidate[] = [candidate(`current (${current.name})`, current, true)];
  for (const target of COVERAGE_TARGETS) {
    const name = `${model.name}-${Math.round(target * 100)}pct`;
    // The weeks read, not their average week, decide the coverage: a DST week or a holiday
    // can leave the windows short of the target, which is then raised by the shortfall.
    let aim: number = target;
    let best: Candidate | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const rules = windowRulesOf(cheapestCovering(quarters, cost, aim));
      best = candidate(`${Math.round(target * 100)}% of calls`, policyOf(name, rules, current));
      const shortfall = target - best.coveragePct / 100;
      if (shortfall <= 1e-9 || aim >= 1) break;
      aim = Math.min(1, aim + shortfall);
    }
    if (best) list.push(best);
  }
  for (const kind of ["always-on", "off"] as const) {
    if (current.kind === kind) continue;
    list.push(candidate(kind, { name: kind, kind, timezone: zone, windows: [], holidays: [] }));
  }
  return {
    model,
    zone,
    weeks,
    range,
    calls,
    profile,
    demand,
    month: input.month,
    candidates: list,
  };
}

/**
 * The month's cost with `policy` as the model's own: the config's projection (`plan`'s),
 * with the model's overrides left out so that every candidate is costed alike.
 */
function monthlyUsd(input: SuggestInput, policy: Policy): number | undefined {
  if (!input.units) return undefined;
  const { config, model } = input;
  const policies = new Map(config.policies);
  policies.set(policy.name, policy);
  const alone: ResolvedConfig = {
    ...config,
    policies,
    overrides: config.overrides.filter((o) => !o.models.includes(model.name)),
  };
  const own: ModelConfig = { ...model, policy: policy.name };
  return projectMonth(alone, own, input.units, input.month, input.timings).totalUsd;
}
