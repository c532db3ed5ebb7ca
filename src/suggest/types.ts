import type { Interval } from "../domain/interval.js";

/**
 * What `keepwarm suggest` works with: users' calls per 5-minute bucket (CloudWatch's
 * `Invocations` and the cold-call metric, less keepwarm's own requests), folded into a
 * week of the policy's zone.
 */

/** A 5-minute bucket, CloudWatch's resolution for 63 days. */
export const BUCKET_MS = 5 * 60_000;
/** Slots of a day in the weekly profile: one per 5-minute bucket. */
export const SLOTS_PER_DAY = 288;
export const DAYS_PER_WEEK = 7;

/** keepwarm's own requests per 5-minute bucket (keys: bucket start, epoch ms), from pings.json. */
export interface OwnPings {
  /** Counting began with this bucket; before it, keepwarm's requests are not known. */
  readonly since: number;
  /** Successful requests: CloudWatch counts them in `Invocations`. */
  readonly ok: ReadonlyMap<number, number>;
  /** ModelNotReadyException answers: counted in the cold-call metric. */
  readonly notReady: ReadonlyMap<number, number>;
}

/** The pings a plan would have sent, for the buckets pings.json does not cover. */
export interface PlannedPings {
  /** Planned ping instants, ascending. */
  readonly pings: readonly number[];
  /** From each warm run's first ping to the end of its restore: its ModelNotReady answers. */
  readonly warmUps: readonly Interval[];
}

/** Users' calls per 5-minute bucket over a range of whole weeks. */
export interface DemandSeries {
  /** Epoch ms, a multiple of BUCKET_MS. */
  readonly start: number;
  /** calls[i]: users' calls in [start + i * BUCKET_MS, + BUCKET_MS). */
  readonly calls: Float64Array;
  /** Of those, the ones that met a restoring model (the cold-call metric's, less keepwarm's). */
  readonly cold: Float64Array;
}

/**
 * Users' calls per week in each 5-minute slot of a local week: index
 * (isoWeekday - 1) * SLOTS_PER_DAY + slot of the day, in the policy's zone.
 */
export type WeeklyProfile = Float64Array;
