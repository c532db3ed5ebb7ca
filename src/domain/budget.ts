import { formatUsd } from "./format.js";
import { monthOf, monthRange } from "./spend.js";
import type { Budgets } from "./types.js";

/**
 * Monthly budgets: how a projection stands against one, which crossings are due, and when
 * the budget is reached at the current rate. Months are UTC calendar months, as AWS bills.
 */

/** Percentages of a budget whose crossing is announced. */
export const BUDGET_THRESHOLDS = [80, 100] as const;
export type BudgetThreshold = (typeof BUDGET_THRESHOLDS)[number];

/** `within` below 80%, `near` from 80% to below 100%, `over` at 100% and above. */
export type BudgetLevel = "within" | "near" | "over";

/** The model a budget belongs to; null for the fleet's. */
export type BudgetOwner = string | null;

/** How a month's projection stands against a budget at one instant. */
export interface BudgetStanding {
  readonly model: BudgetOwner;
  readonly budgetUsd: number;
  /** Undefined while no projection is known (custom model units unknown). */
  readonly projectedMonthUsd: number | undefined;
  readonly monthToDateUsd: number | undefined;
  /** Models of the fleet whose spend is unknown and so left out of its figures. */
  readonly modelsWithUnknownCmu: readonly string[];
}

/** A threshold of a budget that the month's projection reached. */
export interface BudgetCrossing {
  readonly model: BudgetOwner;
  /** yyyy-MM, UTC. */
  readonly month: string;
  readonly threshold: BudgetThreshold;
  /** Epoch ms of the minute it was found. */
  readonly at: number;
  readonly budgetUsd: number;
  readonly projectedMonthUsd: number;
  readonly monthToDateUsd: number;
  /** yyyy-MM-dd (UTC) on which month to date reaches the budget at the current rate; null if not this month. */
  readonly reachedOn: string | null;
  readonly modelsWithUnknownCmu: readonly string[];
}

export function budgetLevel(ratio: number): BudgetLevel {
  if (ratio >= 1) return "over";
  return ratio * 100 >= BUDGET_THRESHOLDS[0] ? "near" : "within";
}

/** "86% near", "120% OVER", "24%": the share of a budget as `plan` and `report` print it. */
export function formatBudgetShare(ratio: number): string {
  const mark = { within: "", near: " near", over: " OVER" }[budgetLevel(ratio)];
  return `${percentDown(ratio)}%${mark}`;
}

/**
 * The instant month to date reaches `budgetUsd` if the rest of the projection is spent at an
 * even daily rate from `now` to the month's end; `now` when it already has, undefined when
 * the projection stays below it.
 */
export function budgetReachedAt(
  budgetUsd: number,
  monthToDateUsd: number,
  projectedMonthUsd: number,
  now: number,
): number | undefined {
  if (monthToDateUsd >= budgetUsd) return now;
  if (projectedMonthUsd < budgetUsd) return undefined;
  const end = monthRange(monthOf(now)).end;
  const restUsd = projectedMonthUsd - monthToDateUsd;
  return Math.min(end - 1, now + ((budgetUsd - monthToDateUsd) / restUsd) * (end - now));
}

/** `budgetReachedAt` as a UTC date, the day AWS would bill it on. */
export function budgetReachedOn(
  budgetUsd: number,
  monthToDateUsd: number,
  projectedMonthUsd: number,
  now: number,
): string | null {
  const t = budgetReachedAt(budgetUsd, monthToDateUsd, projectedMonthUsd, now);
  return t === undefined ? null : new Date(t).toISOString().slice(0, 10);
}

/**
 * The crossings to announce at `now`: each threshold the projection is at or above that
 * `announced` does not hold for this budget and month yet. Once per threshold per month:
 * a projection that wavers around a threshold (the rest of the month is re-planned every
 * few minutes) does not announce it again, and neither does a restart. A budget changed to
 * another amount is a new budget: its thresholds are announced afresh.
 */
export function dueCrossings(
  standing: BudgetStanding,
  announced: readonly BudgetCrossing[],
  now: number,
): BudgetCrossing[] {
  const { projectedMonthUsd, budgetUsd } = standing;
  if (projectedMonthUsd === undefined) return [];
  const month = monthOf(now);
  const monthToDateUsd = standing.monthToDateUsd ?? 0;
  return BUDGET_THRESHOLDS.filter(
    (threshold) =>
      projectedMonthUsd * 100 >= threshold * budgetUsd &&
      !announced.some(
        (c) =>
          c.model === standing.model &&
          c.budgetUsd === budgetUsd &&
          c.month === month &&
          c.threshold === threshold,
      ),
  ).map((threshold) => ({
    model: standing.model,
    month,
    threshold,
    at: now,
    budgetUsd,
    projectedMonthUsd,
    monthToDateUsd,
    reachedOn: budgetReachedOn(budgetUsd, monthToDateUsd, projectedMonthUsd, now),
    modelsWithUnknownCmu: standing.modelsWithUnknownCmu,
  }));
}

/** The fleet's month: the sum over models whose spend is known, and the names of the others. */
export function fleetSpend(
  models: readonly {
    readonly name: string;
    readonly monthToDateUsd: number | undefined;
    readonly projectedMonthUsd: number | undefined;
  }[],
): { monthToDateUsd: number; projectedMonthUsd: number; modelsWithUnknownCmu: string[] } {
  let monthToDateUsd = 0;
  let projectedMonthUsd = 0;
  const modelsWithUnknownCmu: string[] = [];
  for (const m of models) {
    if (m.projectedMonthUsd === undefined) modelsWithUnknownCmu.push(m.name);
    else {
      projectedMonthUsd += m.projectedMonthUsd;
      monthToDateUsd += m.monthToDateUsd ?? 0;
    }
  }
  return { monthToDateUsd, projectedMonthUsd, modelsWithUnknownCmu };
}

/** A model's spend as the daemon knows it at one instant; `cmu` undefined while unknown. */
export interface ModelSpend {
  readonly name: string;
  readonly cmu: number | undefined;
  readonly monthToDateUsd: number | undefined;
  readonly projectedMonthUsd: number | undefined;
}

/** Every budget of the config against the models' spend: the models' first, then the fleet's. */
export function budgetStandings(
  budgets: Budgets | undefined,
  models: readonly ModelSpend[],
): BudgetStanding[] {
  if (!budgets) return [];
  const standings: BudgetStanding[] = models.flatMap((m) => {
    const budgetUsd = budgets.modelUsd.get(m.name);
    if (budgetUsd === undefined) return [];
    const { projectedMonthUsd, monthToDateUsd } = m;
    const modelsWithUnknownCmu = m.cmu === undefined ? [m.name] : [];
    return [{ model: m.name, budgetUsd, projectedMonthUsd, monthToDateUsd, modelsWithUnknownCmu }];
  });
  if (budgets.fleetUsd !== undefined) {
    standings.push({ model: null, budgetUsd: budgets.fleetUsd, ...fleetSpend(models) });
  }
  return standings;
}

/** One line for people: the `budget` event's message and the note under `keepwarm report`'s day. */
export function describeCrossing(c: Omit<BudgetCrossing, "at">): string {
  const whose = c.model ?? "the fleet";
  const share = percentDown(c.projectedMonthUsd / c.budgetUsd);
  const reach = c.reachedOn === null ? "not reached this month" : `reached on ${c.reachedOn}`;
  const unknown =
    c.modelsWithUnknownCmu.length > 0
      ? ` (left out with CMU unknown: ${c.modelsWithUnknownCmu.join(", ")})`
      : "";
  return `${whose} crossed ${c.threshold}% of its ${formatUsd(c.budgetUsd)} ${c.month} budget: projected ${formatUsd(c.projectedMonthUsd)} (${share}%), month to date ${formatUsd(c.monthToDateUsd)}, ${reach} at the current rate${unknown}`;
}

/**
 * Whole percent rounded down, so that 99.6% never reads "100% near"; the epsilon keeps a
 * ratio such as 0.58 (0.58 x 100 = 57.99999999999999) at 58.
 */
function percentDown(ratio: number): number {
  return Math.floor(ratio * 100 + 1e-9);
}
