import { KeepwarmError } from "./errors.js";
import { type Interval, intersectInterval } from "./interval.js";
import { planModel } from "./plan.js";
import type { PricedUnits } from "./price.js";
import type { ModelTimings } from "./timings.js";
import type { ModelConfig, ResolvedConfig } from "./types.js";
import { MINUTE_MS } from "./units.js";

/** Bedrock bills a model copy in whole 5-minute windows from its first successful call. */
export const BILLING_WINDOW_MS = 300_000;
const WINDOW_MINUTES = BILLING_WINDOW_MS / MINUTE_MS;

/** A month that is not `yyyy-MM`. */
export class SpendError extends KeepwarmError {
  override readonly name = "SpendError";
}

/** Minutes billed for one copy that stays up `runMs`: rounded up to whole billing windows. */
export function billedMinutes(runMs: number): number {
  if (runMs <= 0) return 0;
  return Math.ceil(runMs / BILLING_WINDOW_MS) * WINDOW_MINUTES;
}

/**
 * Billed copy-minutes from one-minute ModelCopy points. For each copy k, a run of
 * consecutive minutes with at least k copies is billed in whole 5-minute windows; a
 * missing minute ends a run.
 */
export function billCopySeries(points: readonly { t: number; copies: number }[]): number {
  let billed = 0;
  forEachCopyRun(points, (_start, minutes) => {
    billed += billedMinutes(minutes * MINUTE_MS);
  });
  return billed;
}

/**
 * Copy-minutes billed in the windows that start in `range`, as `billCopySeries` bills the
 * whole series: a window belongs to the day (or any span) it starts in, so days add up to
 * the whole. Runs that began before the range count only their windows inside it.
 */
export function billCopySeriesIn(
  points: readonly { t: number; copies: number }[],
  range: Interval,
): number {
  let windows = 0;
  forEachCopyRun(points, (start, minutes) => {
    const total = Math.ceil((minutes * MINUTE_MS) / BILLING_WINDOW_MS);
    const first = Math.max(0, Math.ceil((range.start - start) / BILLING_WINDOW_MS));
    const last = Math.min(total, Math.ceil((range.end - start) / BILLING_WINDOW_MS));
    windows += Math.max(0, last - first);
  });
  return windows * WINDOW_MINUTES;
}

/** Calls `visit` with the start and length in minutes of each copy's runs of warm minutes. */
function forEachCopyRun(
  points: readonly { t: number; copies: number }[],
  visit: (start: number, minutes: number) => void,
): void {
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const maxCopies = sorted.reduce((m, p) => Math.max(m, p.copies), 0);
  for (let k = 1; k <= maxCopies; k++) {
    let runMinutes = 0;
    let runStart = 0;
    let previous = Number.NaN;
    for (const p of sorted) {
      const continues = p.t - previous === MINUTE_MS;
      if (p.copies >= k && continues) {
        if (runMinutes === 0) runStart = p.t;
        runMinutes++;
      } else {
        if (runMinutes > 0) visit(runStart, runMinutes);
        runMinutes = p.copies >= k ? 1 : 0;
        runStart = p.t;
      }
      previous = p.t;
    }
    if (runMinutes > 0) visit(runStart, runMinutes);
  }
}

/** The UTC calendar month of `t`, as AWS bills it: "2026-12". */
export function monthOf(t: number): string {
  return new Date(t).toISOString().slice(0, 7);
}

/** The UTC calendar month `yyyy-MM` as [1st 00:00 UTC, next 1st 00:00 UTC). */
export function monthRange(month: string): Interval {
  const m = /^(\d{4})-(\d{2})$/.exec(month);
  const year = Number(m?.[1]);
  const index = Number(m?.[2]) - 1;
  if (m === null || index < 0 || index > 11) {
    throw new SpendError(`month "${month}" is not yyyy-MM (e.g. 2026-12)`);
  }
  return { start: Date.UTC(year, index), end: Date.UTC(year, index + 1) };
}

/** Planned minutes of one month, without prices. */
export interface MonthMinutes {
  readonly month: string;
  /** Minutes the plan keeps the model warm: [first success, last ping + evictionDelay) of each run. */
  readonly warmMinutes: number;
  /** `warmMinutes` rounded up per run to whole 5-minute billing windows. */
  readonly billedMinutes: number;
  /** Minutes in the part of the month that was planned. */
  readonly spanMinutes: number;
}

export interface MonthCost {
  readonly month: string;
  readonly warmMinutes: number;
  readonly billedMinutes: number;
  readonly computeUsd: number;
  /** A full month of model storage, whatever part of the month was planned. */
  readonly storageUsd: number;
  readonly totalUsd: number;
  /** The same span kept warm around the clock, plus storage: the cost keepwarm saves against. */
  readonly alwaysOnUsd: number;
}

/** Limits a projection to part of the month, e.g. from "now" on. */
export interface ProjectOptions {
  readonly from?: number;
  readonly to?: number;
}

/**
 * Warm and billed minutes the plan gives `model` in `month` (UTC), or in the part of it
 * within `opts`. A run is billed from its first successful call, which comes a restore
 * after its first ping (the model is cold when a run begins); each 5-minute window counts
 * in the span it starts in, so a run crossing the span's edge is billed once.
 */
export function planMonthMinutes(
  config: ResolvedConfig,
  model: ModelConfig,
  month: string,
  timings: ModelTimings,
  opts: ProjectOptions = {},
): MonthMinutes {
  const whole = monthRange(month);
  const span = intersectInterval(whole, {
    start: opts.from ?? whole.start,
    end: opts.to ?? whole.end,
  });
  if (span === undefined) return { month, warmMinutes: 0, billedMinutes: 0, spanMinutes: 0 };
  let warmMs = 0;
  let windows = 0;
  const warm = planModel(config, model, span, timings).warm;
  for (const [i, planned] of warm.entries()) {
    // A run billed from each recently measured restore to each recently measured eviction
    // counts as the average of those bills. A tail that would reach the next run's first
    // ping ends there: the copy stayed up, and the next run bills on from it.
    const next = warm[i + 1]?.start ?? Number.POSITIVE_INFINITY;
    const starts = planned.billedFromSamples ?? [planned.billedFrom];
    const ends = (planned.endSamples ?? [planned.end]).map((e) =>
      Math.min(e, Math.max(next, planned.end)),
    );
    const weight = 1 / (starts.length * ends.length);
    for (const billedFrom of starts) {
      for (const end of ends) {
        const run = { start: billedFrom, end: Math.max(billedFrom, end) };
        const inside = intersectInterval(run, span);
        if (inside !== undefined) warmMs += (inside.end - inside.start) * weight;
        const firstWindow = Math.max(0, Math.ceil((span.start - run.start) / BILLING_WINDOW_MS));
        const windowsInRun = Math.ceil((run.end - run.start) / BILLING_WINDOW_MS);
        const windowsBeforeSpanEnd = Math.ceil((span.end - run.start) / BILLING_WINDOW_MS);
        windows += Math.max(0, Math.min(windowsInRun, windowsBeforeSpanEnd) - firstWindow) * weight;
      }
    }
  }
  return {
    month,
    warmMinutes: warmMs / MINUTE_MS,
    billedMinutes: windows * WINDOW_MINUTES,
    spanMinutes: (span.end - span.start) / MINUTE_MS,
  };
}

/** Prices planned minutes for a copy of `units` (its CMUs at their version's price). */
export function priceMonth(units: PricedUnits, minutes: MonthMinutes): MonthCost {
  const { cmu, price } = units;
  const perMinute = cmu * price.usdPerCmuMinute;
  const computeUsd = minutes.billedMinutes * perMinute;
  const storageUsd = cmu * price.storageUsdPerCmuMonth;
  return {
    month: minutes.month,
    warmMinutes: minutes.warmMinutes,
    billedMinutes: minutes.billedMinutes,
    computeUsd,
    storageUsd,
    totalUsd: computeUsd + storageUsd,
    alwaysOnUsd: minutes.spanMinutes * perMinute + storageUsd,
  };
}

/** What the plan costs `model` (a copy of `units`) in `month`, or in the part within `opts`. */
export function projectMonth(
  config: ResolvedConfig,
  model: ModelConfig,
  units: PricedUnits,
  month: string,
  timings: ModelTimings,
  opts: ProjectOptions = {},
): MonthCost {
  return priceMonth(units, planMonthMinutes(config, model, month, timings, opts));
}

/**
 * The month's projected total at `now`: compute spent so far (`monthToDateUsd`, measured)
 * + the plan's compute from `now` to the end of the UTC month + a full month of storage.
 */
export function projectRestOfMonth(
  config: ResolvedConfig,
  model: ModelConfig,
  units: PricedUnits,
  now: number,
  monthToDateUsd: number,
  timings: ModelTimings,
): number {
  const rest = projectMonth(config, model, units, monthOf(now), timings, { from: now });
  return monthToDateUsd + rest.computeUsd + rest.storageUsd;
}
