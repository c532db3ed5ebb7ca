import { type Interval, intersectInterval } from "../domain/interval.js";
import { DAY_MS } from "../domain/units.js";
import { expandWindows } from "../domain/windows.js";
import type { Candidate, ModelSuggestion } from "./candidates.js";
import { callsWithin } from "./demand.js";
import { BUCKET_MS } from "./types.js";

/** A model's last week of demand, and what the 99% suggestion would change: the `demand` line. */
export interface WeekOfDemand {
  readonly model: string;
  /** The last 7 days of the weeks read. */
  readonly week: Interval;
  /** Users' calls in the week. */
  readonly calls: number;
  /** Of those, the ones outside the current policy's windows. */
  readonly outsideWindows: number;
  /** Of those, the ones CloudWatch counted as meeting a restoring model; undefined when not read. */
  readonly metCold: number | undefined;
  /** The current policy's coverage and month over all the weeks read. */
  readonly current: Candidate;
  /** The cheapest windows for 99% of the calls of the weeks read. */
  readonly suggestion: Candidate | undefined;
}

/** The `demand` figures of one model's suggestion. */
export function weekOfDemand(s: ModelSuggestion, coldRead: boolean): WeekOfDemand {
  const week = { start: Math.max(s.range.start, s.range.end - 7 * DAY_MS), end: s.range.end };
  const from = Math.round((week.start - s.demand.start) / BUCKET_MS);
  const to = Math.round((week.end - s.demand.start) / BUCKET_MS);
  let calls = 0;
  let metCold = 0;
  for (let i = from; i < to; i++) {
    calls += s.demand.calls[i] as number;
    metCold += s.demand.cold[i] as number;
  }
  const current = s.candidates.find((c) => c.current) as Candidate;
  const windows = expandWindows(current.policy, week).flatMap(
    (w) => intersectInterval(w, week) ?? [],
  );
  const inWindows = callsWithin(s.demand, windows);
  return {
    model: s.model.name,
    week,
    calls,
    outsideWindows: Math.max(0, calls - inWindows),
    metCold: coldRead ? metCold : undefined,
    current,
    suggestion: s.candidates.find((c) => c.label === "99% of calls"),
  };
}
