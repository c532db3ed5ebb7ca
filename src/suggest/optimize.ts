import { type ModelTimings, TIMING_RULES } from "../domain/timings.js";
import { MINUTE_MS } from "../domain/units.js";
import { DAYS_PER_WEEK, SLOTS_PER_DAY, type WeeklyProfile } from "./types.js";

/**
 * The cheapest quarter-hours of a week to keep warm for a share of users' calls. Warm
 * minutes are priced as the plan bills them: each quarter-hour in a window, plus, for each
 * run of windows, the minutes the plan keeps warm around it (the lead before the first
 * success and the closing tail); a gap the plan bridges (no longer than the eviction delay
 * or the lead) is warm throughout.
 */

/** Windows have quarter-hour edges. */
export const QUARTER_MINUTES = 15;
export const QUARTERS_PER_DAY = 96;
export const WEEK_QUARTERS = DAYS_PER_WEEK * QUARTERS_PER_DAY;
const PER_QUARTER = SLOTS_PER_DAY / QUARTERS_PER_DAY;

/** How the plan turns chosen quarter-hours into warm minutes. */
export interface WarmCostModel {
  /** Warm minutes a run costs beyond its windows: the warm-up's and the closing tail's. */
  readonly runOverheadMinutes: number;
  /** Gaps of at most this many quarter-hours between windows are kept warm by the plan. */
  readonly bridgedQuarters: number;
}

/**
 * The cost model of a model's timings: the closing ping leaves the model warm
 * `closingMargin` past the window, the first success comes `lead - restore` before it,
 * and a run's bill is rounded up to a 5-minute window (2.5 minutes on average).
 */
export function warmCostModel(timings: ModelTimings): WarmCostModel {
  const beforeMs = Math.max(0, timings.leadTime.ms - timings.restore.ms);
  const joinGapMs = Math.max(timings.evictionDelay.ms, timings.leadTime.ms);
  return {
    runOverheadMinutes: (TIMING_RULES.closingMarginMs + beforeMs) / MINUTE_MS + 2.5,
    bridgedQuarters: Math.floor(joinGapMs / (QUARTER_MINUTES * MINUTE_MS)),
  };
}

/** Users' calls per week in each quarter-hour of the local week (Monday 00:00 first). */
export function quarterHours(profile: WeeklyProfile): Float64Array {
  const out = new Float64Array(WEEK_QUARTERS);
  for (let i = 0; i < profile.length; i++) {
    const q = Math.floor(i / PER_QUARTER);
    out[q] = (out[q] as number) + (profile[i] as number);
  }
  return out;
}

/**
 * The days whose demand agrees pooled: each day's quarter-hours replaced by the mean of its
 * group, so that agreeing days get the same windows and merge into one rule. Days agree
 * when their totals are within a factor of two and their hourly shapes alike (cosine
 * similarity of 0.8 or more). A quiet day (under half a call a week) agrees with none: a
 * stray call on a Sunday is no reason to keep every quiet day warm at that hour.
 */
export function poolAgreeingDays(quarters: Float64Array): {
  readonly pooled: Float64Array;
  readonly groups: readonly (readonly number[])[];
} {
  const dayOf = (d: number) => quarters.subarray(d * QUARTERS_PER_DAY, (d + 1) * QUARTERS_PER_DAY);
  const groups: number[][] = [];
  const means: Float64Array[] = [];
  for (let d = 0; d < DAYS_PER_WEEK; d++) {
    const day = dayOf(d);
    const g = means.findIndex((mean) => agree(day, mean));
    if (g < 0) {
      groups.push([d]);
      means.push(Float64Array.from(day));
      continue;
    }
    const members = groups[g] as number[];
    members.push(d);
    const mean = means[g] as Float64Array;
    for (let q = 0; q < QUARTERS_PER_DAY; q++) {
      mean[q] = (mean[q] as number) + ((day[q] as number) - (mean[q] as number)) / members.length;
    }
  }
  const pooled = new Float64Array(WEEK_QUARTERS);
  groups.forEach((members, g) => {
    for (const d of members) pooled.set(means[g] as Float64Array, d * QUARTERS_PER_DAY);
  });
  return { pooled, groups };
}

const QUIET_CALLS_PER_DAY = 0.5;

function agree(a: Float64Array, b: Float64Array): boolean {
  const ta = sum(a);
  const tb = sum(b);
  if (ta < QUIET_CALLS_PER_DAY || tb < QUIET_CALLS_PER_DAY) return false;
  if (Math.min(ta, tb) / Math.max(ta, tb) < 0.5) return false;
  const ha = hourly(a);
  const hb = hourly(b);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let h = 0; h < 24; h++) {
    dot += (ha[h] as number) * (hb[h] as number);
    na += (ha[h] as number) ** 2;
    nb += (hb[h] as number) ** 2;
  }
  return dot / Math.sqrt(na * nb) >= 0.8;
}

function hourly(day: Float64Array): Float64Array {
  const out = new Float64Array(24);
  for (let q = 0; q < QUARTERS_PER_DAY; q++)
    out[q >> 2] = (out[q >> 2] as number) + (day[q] as number);
  return out;
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s;
}

/** Warm minutes a week of chosen quarter-hours costs under `cost` (the week is a cycle). */
export function warmMinutesOf(chosen: Uint8Array, cost: WarmCostModel): number {
  const first = chosen.indexOf(1);
  if (first < 0) return 0;
  let minutes = 0;
  let gap = 0;
  for (let k = 1; k <= WEEK_QUARTERS; k++) {
    const q = (first + k) % WEEK_QUARTERS;
    if (chosen[q] === 1) {
      minutes += QUARTER_MINUTES;
      if (gap > 0) {
        minutes += gap <= cost.bridgedQuarters ? gap * QUARTER_MINUTES : cost.runOverheadMinutes;
      }
      gap = 0;
    } else {
      gap++;
    }
  }
  return minutes;
}

/**
 * The quarter-hours that maximise `lambda` x calls covered - warm minutes, over the week as
 * a cycle: a dynamic programme over the gap since the last chosen quarter (0 = in a run,
 * 1..bridged = a gap the plan would bridge, bridged + 1 = apart). Each state carried over
 * Sunday midnight into Monday is tried, the week ending in the state it began with.
 */
export function bestQuarters(calls: Float64Array, cost: WarmCostModel, lambda: number): Uint8Array {
  const apart = cost.bridgedQuarters + 1;
  const states = apart + 1;
  let best: { value: number; chosen: Uint8Array } | undefined;
  for (let start = 0; start < states; start++) {
    const value = new Float64Array(states).fill(Number.NEGATIVE_INFINITY);
    value[start] = 0;
    // from[q * states + s]: the state before quarter q on the best path into state s after it.
    const from = new Int8Array(WEEK_QUARTERS * states);
    const next = new Float64Array(states);
    for (let q = 0; q < WEEK_QUARTERS; q++) {
      next.fill(Number.NEGATIVE_INFINITY);
      const gain = lambda * (calls[q] as number) - QUARTER_MINUTES;
      for (let s = 0; s < states; s++) {
        const v = value[s] as number;
        if (v === Number.NEGATIVE_INFINITY) continue;
        const join =
          s === 0 ? 0 : s <= cost.bridgedQuarters ? s * QUARTER_MINUTES : cost.runOverheadMinutes;
        const chose = v + gain - join;
        if (chose > (next[0] as number)) {
          next[0] = chose;
          from[q * states] = s;
        }
        const skip = Math.min(s + 1, apart);
        if (v > (next[skip] as number)) {
          next[skip] = v;
          from[q * states + skip] = s;
        }
      }
      value.set(next);
    }
    const total = value[start] as number;
    if (total === Number.NEGATIVE_INFINITY || (best && total <= best.value)) continue;
    const chosen = new Uint8Array(WEEK_QUARTERS);
    let s = start;
    for (let q = WEEK_QUARTERS - 1; q >= 0; q--) {
      if (s === 0) chosen[q] = 1;
      s = from[q * states + s] as number;
    }
    best = { value: total, chosen };
  }
  return best?.chosen ?? new Uint8Array(WEEK_QUARTERS);
}

/** The share of `calls` in chosen quarter-hours, 0..1 (1 when there are none). */
export function shareCovered(calls: Float64Array, chosen: Uint8Array): number {
  const total = sum(calls);
  if (total === 0) return 1;
  let covered = 0;
  for (let q = 0; q < calls.length; q++) if (chosen[q] === 1) covered += calls[q] as number;
  return covered / total;
}

/**
 * The cheapest quarter-hours covering at least `share` of `calls`, found by the smallest
 * price per call covered (`bestQuarters`' lambda) whose choice reaches the share. All
 * quarter-hours with calls for a share of 1.
 */
export function cheapestCovering(
  calls: Float64Array,
  cost: WarmCostModel,
  share: number,
): Uint8Array {
  if (sum(calls) === 0) return new Uint8Array(WEEK_QUARTERS);
  if (share >= 1) return bestQuarters(calls, cost, EVERY_CALL);
  let lo = 1e-6;
  let hi = EVERY_CALL;
  let chosen = bestQuarters(calls, cost, hi);
  for (let i = 0; i < 48 && hi / lo > 1.0001; i++) {
    const mid = Math.sqrt(lo * hi);
    const trial = bestQuarters(calls, cost, mid);
    if (shareCovered(calls, trial) >= share) {
      hi = mid;
      chosen = trial;
    } else {
      lo = mid;
    }
  }
  return chosen;
}

/** A price per call covered above any week's warm minutes: every call is worth covering. */
const EVERY_CALL = 1e9;
