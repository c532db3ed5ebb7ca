import { DateTime } from "luxon";
import { type Interval, intersectInterval, mergeIntervals } from "../../domain/interval.js";
import { activePolicyAt, planModel } from "../../domain/plan.js";
import { DAY_MS, MINUTE_MS } from "../../domain/units.js";
import type { CopyReader, SpendFigures } from "../spend/spendBook.js";
import { median } from "./counters.js";
import type { Seen } from "./freshness.js";
import type { ModelController } from "./modelController.js";
import type { DayTimeline, ModelStatus } from "./status.js";

/** What the status of one model is read from: its controller, its copies and its spend. */
export interface ModelStatusSource {
  readonly controller: ModelController;
  /** The state ModelCopy shows, or unknown with the reason when the last read is too old. */
  readonly seen: Seen;
  /** Why spend is unknown, when it is. */
  readonly spendUnknown: string | undefined;
  readonly copies: CopyReader;
  readonly billedCopyMinutes: number;
  readonly figures: SpendFigures;
  readonly budgetUsd: number | undefined;
  readonly zone: string;
}

/** How far ahead the next window is looked for: a weekend and more. */
const LOOK_AHEAD_MS = 8 * DAY_MS;

/** One model as the status page and `/api/status` show it at `now`. */
export function modelStatus(s: ModelStatusSource, now: number): ModelStatus {
  const c = s.controller;
  const lookAheadEnd = now + LOOK_AHEAD_MS;
  const ahead = planModel(c.config, c.model, { start: now, end: lookAheadEnd }, c.timings).windows;
  const { record } = c;
  const total = c.counters.total;
  const activePolicy = activePolicyAt(c.config, c.model, now);
  const zoneOf = (policy: string) => c.config.policies.get(policy)?.timezone ?? c.config.timezone;
  return {
    name: c.model.name,
    policy: c.model.policy,
    activePolicy,
    policyTimezone: zoneOf(c.model.policy),
    activePolicyTimezone: zoneOf(activePolicy),
    currentWindow: ahead.find((w) => w.start <= now && now < w.end),
    nextWindow: ahead.find((w) => w.start > now),
    lookAheadEnd,
    state: s.seen.state,
    stateSince: s.seen.stale ? s.seen.stale.asOf : record.stateSince,
    copies: s.seen.copies,
    stale: s.seen.stale,
    spendUnknown: s.spendUnknown,
    lastPingOkAt: record.lastOkAt,
    lastPing: record.lastPing,
    nextPingAt: c.planAround(now).pings.find((p) => p > now),
    timings: c.timings,
    counters: total,
    restoreSecondsMedian: median(total.restoreSeconds),
    evictionMinutesMedian: median(total.evictionMinutes),
    billedCopyMinutes: s.billedCopyMinutes,
    budgetUsd: s.budgetUsd,
    today: dayTimeline(s, now),
    ...s.figures,
  };
}

/** The model's local day around `now`: planned windows and warm spans against ModelCopy. */
function dayTimeline(s: ModelStatusSource, now: number): DayTimeline {
  const c = s.controller;
  const startOfDay = DateTime.fromMillis(now, { zone: s.zone }).startOf("day");
  const range: Interval = {
    start: startOfDay.toMillis(),
    end: startOfDay.plus({ days: 1 }).startOf("day").toMillis(),
  };
  const plan = planModel(c.config, c.model, range, c.timings);
  const clip = (list: readonly Interval[]) =>
    list.map((w) => intersectInterval(w, range)).filter((w): w is Interval => w !== undefined);
  const points = s.copies.pointsIn(range);
  const minute = (t: number) => ({ start: t, end: t + MINUTE_MS });
  return {
    range,
    windows: clip(plan.windows),
    plannedWarm: clip(plan.warm),
    observedWarm: mergeIntervals(points.filter((p) => p.copies >= 1).map((p) => minute(p.t))),
    observed: mergeIntervals(points.map((p) => minute(p.t))),
    coldStarts: c.counters.coldStartsAt.filter((t) => t >= range.start && t < range.end),
  };
}
