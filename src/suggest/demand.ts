import type { Interval } from "../domain/interval.js";
import { DAY_MS } from "../domain/units.js";
import { weekdayOfDay, zoneOffsetMs } from "../domain/zone.js";
import {
  BUCKET_MS,
  DAYS_PER_WEEK,
  type DemandSeries,
  type OwnPings,
  type PlannedPings,
  SLOTS_PER_DAY,
  type WeeklyProfile,
} from "./types.js";

/** Sums of one count metric over a range: `values[i]` is the period from `start + i * periodMs`. */
export interface CountPart {
  readonly start: number;
  readonly periodMs: number;
  readonly values: ArrayLike<number>;
}

export interface DemandInput {
  /** Whole 5-minute buckets. */
  readonly range: Interval;
  /** `Invocations` (Sum): successful calls, users' and keepwarm's. */
  readonly invocations: readonly CountPart[];
  /** The cold-call metric (Sum): calls that met a restoring model, users' and keepwarm's. */
  readonly cold: readonly CountPart[];
  /** keepwarm's counted requests; undefined when pings.json has none for the model. */
  readonly own: OwnPings | undefined;
  /** The plan's pings, for the buckets before `own.since`. */
  readonly planned: PlannedPings;
}

/**
 * Users' calls per 5-minute bucket: the model's calls less keepwarm's own requests.
 * Where pings.json counts them, those counts are taken out, each from its bucket or, when
 * CloudWatch put it in the next or the one before (a ping answered across a bucket's edge),
 * from there; elsewhere the plan's pings are, and a cold-call count during a planned warm-up
 * is taken for keepwarm's. An hourly datapoint (data older than 63 days) is spread evenly
 * over its twelve buckets once keepwarm's requests of the hour are out of it.
 */
export function userDemand(input: DemandInput): DemandSeries {
  const { range } = input;
  const n = Math.round((range.end - range.start) / BUCKET_MS);
  const since = input.own?.since ?? Number.POSITIVE_INFINITY;
  const ownOk = new Float64Array(n);
  const ownCold = new Float64Array(n);
  const index = (t: number) => Math.floor((t - range.start) / BUCKET_MS);
  if (input.own) {
    for (const [t, count] of input.own.ok) if (inRange(index(t), n)) add(ownOk, index(t), count);
    for (const [t, count] of input.own.notReady) {
      if (inRange(index(t), n)) add(ownCold, index(t), count);
    }
  }
  for (const t of input.planned.pings) {
    if (t < since && inRange(index(t), n)) add(ownOk, index(t), 1);
  }
  const warmUpBuckets = new Uint8Array(n);
  for (const w of input.planned.warmUps) {
    for (let i = Math.max(0, index(w.start)); i <= Math.min(n - 1, index(w.end)); i++) {
      if (range.start + (i + 1) * BUCKET_MS <= since) warmUpBuckets[i] = 1;
    }
  }
  const calls = spread(input.invocations, range.start, n, ownOk);
  const cold = spread(input.cold, range.start, n, ownCold);
  for (let i = 0; i < n; i++) {
    if (warmUpBuckets[i] === 1) cold[i] = 0;
    calls[i] = (calls[i] as number) + (cold[i] as number);
  }
  return { start: range.start, calls, cold };
}

function add(into: Float64Array, i: number, x: number): void {
  into[i] = (into[i] as number) + x;
}

function inRange(i: number, n: number): boolean {
  return i >= 0 && i < n;
}

/**
 * The parts' counts per 5-minute bucket less `own`, never below 0. Within 5-minute data a
 * deficit is first made up from the bucket before, then the one after; in coarser data
 * keepwarm's requests of the period come out of its total, which is spread evenly.
 */
function spread(
  parts: readonly CountPart[],
  start: number,
  n: number,
  own: Float64Array,
): Float64Array {
  const out = new Float64Array(n);
  const fine = new Uint8Array(n);
  for (const part of parts) {
    const per = Math.round(part.periodMs / BUCKET_MS);
    for (let p = 0; p < part.values.length; p++) {
      const first = Math.round((part.start + p * part.periodMs - start) / BUCKET_MS);
      let total = part.values[p] as number;
      for (let k = 0; k < per; k++) {
        if (inRange(first + k, n) && per > 1) total -= own[first + k] as number;
      }
      for (let k = 0; k < per; k++) {
        const i = first + k;
        if (!inRange(i, n)) continue;
        if (per === 1) {
          out[i] = total - (own[i] as number);
          fine[i] = 1;
        } else {
          out[i] = Math.max(0, total) / per;
        }
      }
    }
  }
  for (let i = 0; i < n; i++) {
    if (fine[i] === 0 || (own[i] as number) === 0) continue;
    if ((out[i] as number) < 0) borrow(out, i, i - 1, fine);
    if ((out[i] as number) < 0) borrow(out, i, i + 1, fine);
  }
  for (let i = 0; i < n; i++) if ((out[i] as number) < 0) out[i] = 0;
  return out;
}

/** Moves what bucket `from` holds, up to bucket `i`'s deficit, into `i`. */
function borrow(out: Float64Array, i: number, from: number, fine: Uint8Array): void {
  if (from < 0 || from >= out.length || fine[from] === 0) return;
  const take = Math.min(-(out[i] as number), Math.max(0, out[from] as number));
  out[from] = (out[from] as number) - take;
  out[i] = (out[i] as number) + take;
}

/**
 * The weekly profile of `demand` in `zone`: each bucket in the local weekday and time of
 * day its start has there, averaged over the weeks (DST-correct: the hour a spring-forward
 * skips gets no bucket that week, the hour a fall-back repeats gets two).
 */
export function foldWeekly(demand: DemandSeries, zone: string): WeeklyProfile {
  const profile = new Float64Array(DAYS_PER_WEEK * SLOTS_PER_DAY);
  const weeks = (demand.calls.length * BUCKET_MS) / (DAYS_PER_WEEK * DAY_MS);
  for (let i = 0; i < demand.calls.length; i++) {
    const calls = demand.calls[i] as number;
    if (calls === 0) continue;
    add(profile, slotOf(demand.start + i * BUCKET_MS, zone), calls / weeks);
  }
  return profile;
}

/** The weekly profile's slot of instant `t` in `zone`. */
export function slotOf(t: number, zone: string): number {
  const local = t + zoneOffsetMs(zone, t);
  const day = Math.floor(local / DAY_MS);
  const slot = Math.floor((local - day * DAY_MS) / BUCKET_MS);
  return (weekdayOfDay(day) - 1) * SLOTS_PER_DAY + slot;
}

/** Users' calls in `demand` inside `intervals` (sorted, disjoint), a bucket split pro rata. */
export function callsWithin(demand: DemandSeries, intervals: readonly Interval[]): number {
  let covered = 0;
  const n = demand.calls.length;
  for (const w of intervals) {
    const a = Math.max(w.start, demand.start);
    const b = Math.min(w.end, demand.start + n * BUCKET_MS);
    if (b <= a) continue;
    const first = Math.floor((a - demand.start) / BUCKET_MS);
    const last = Math.ceil((b - demand.start) / BUCKET_MS);
    for (let i = first; i < last; i++) {
      const lo = Math.max(a, demand.start + i * BUCKET_MS);
      const hi = Math.min(b, demand.start + (i + 1) * BUCKET_MS);
      covered += ((demand.calls[i] as number) * (hi - lo)) / BUCKET_MS;
    }
  }
  return covered;
}

/** All users' calls in `demand`. */
export function totalCalls(demand: DemandSeries): number {
  let total = 0;
  for (const c of demand.calls) total += c;
  return total;
}
