import type { IsoWeekday } from "../domain/types.js";

/** Users calling at a steady rate inside a daily window of their zone. */
export interface TrafficRate {
  /** Days on which the window starts. */
  readonly days: ReadonlySet<IsoWeekday>;
  /** Minutes after local midnight, 0..1439. */
  readonly fromMinute: number;
  /** Minutes after local midnight, 1..1440; not after `fromMinute`: the window ends the next day. */
  readonly toMinute: number;
  /** Calls per hour on average; arrivals are a Poisson process. */
  readonly perHour: number;
}

/** A model's users: who calls it when, in their own zone. */
export interface TrafficProfile {
  /** IANA zone the rates' days and times are read in. */
  readonly timezone: string;
  readonly rates: readonly TrafficRate[];
  /** Calls at uniformly random instants of the week, outside any pattern. */
  readonly strayPerWeek: number;
  /** Each day's rates are scaled by a factor drawn uniformly from 1 +- this (0..1). */
  readonly dayToDay: number;
  /** Seeds the calls; the simulator's seed when absent. */
  readonly seed?: number;
}
