import { DateTime } from "luxon";
import { type Interval, intersectInterval, mergeIntervals } from "../../domain/interval.js";
import { activePolicyAt, planModel } from "../../domain/plan.js";
import { DAY_MS, MINUTE_MS } from "../../domain/units.js";
import type { CopyReader, SpendFigures } from "../spend/spendBook.js";
import { median } from "./counters.js";
import type { ModelController } from "./modelController.js";
import type { DayTimeline, ModelStatus } from "./status.js";

/** What the status of one model is read from: its controller, its copies and its spend. */
export interface ModelStatusSource {
  readonly controller: ModelController;
  readonly copies: CopyReader;
  readonly billedCopyMinutes: number;
  readonly figures: SpendFigures;
  readonly budgetUsd: number | undefined;
  readonly zone: string;
}

/** One model as the status page and `/api/status` show it at `now`. */
export function modelStatus(s: ModelStatusSource, now: number): ModelStatus {
  const c = s.controller;
  // The next window may be days away (a weekend): look a week and a day ahead for it.
  const ahead = planModel(
    c.config,
    c.model,
    { start: now, end: now + 8 * DAY_MS },
    c.timings,
  ).windows;
  const { record } = c;
  const total = c.counters.total;
  return {
    name: c.model.name,
    policy: c.model.policy,
    activePolicy: activePolicyAt(c.config, c.model, now),
    currentWindow: ahead.find((w) => w.start <= now && now < w.end),
    nextWindow: ahead.find((w) => w.start > now),
    state: record.observation.state,
    stateSince: record.stateSince,
    copies: record.observation.copies,
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
