import { centsOrNull } from "../../domain/format.js";
import { type Interval, intersectInterval, mergeIntervals } from "../../domain/interval.js";
import type { Timing, TimingSource } from "../../domain/timings.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { PingResult, WarmState } from "../infra/observer.js";
import type { DaemonStatus, DayTimeline, ModelStatus } from "../keep/status.js";
import { type OverheadJson, overheadJson } from "./overheadView.js";
import { type ReconciliationJson, reconciliationJson } from "./reconcileView.js";

/** The whole fleet's money and states; sums over the models whose CMU is known. */
export interface FleetTotals {
  readonly models: number;
  readonly warm: number;
  readonly cold: number;
  readonly unknown: number;
  /** Models left out of the money sums because their custom model units are unknown. */
  readonly modelsWithoutCmu: number;
  /** Models left out of the money sums because their month has not been read from CloudWatch yet. */
  readonly modelsNotRead: number;
  /** Sums over the models whose spend is known; undefined while no model's is. */
  readonly monthToDateUsd: number | undefined;
  readonly projectedMonthUsd: number | undefined;
  readonly alwaysOnMonthUsd: number | undefined;
  readonly savingUsd: number | undefined;
}

/** How much of today's window time, up to now, ModelCopy saw warm; whole minutes. */
export interface WindowCoverage {
  /** Window minutes before now. */
  readonly windowMinutes: number;
  /** Of those, the minutes with a ModelCopy datapoint. */
  readonly observedMinutes: number;
  /** Of those, the minutes with at least one copy. */
  readonly warmMinutes: number;
}

export function fleetTotals(status: DaemonStatus): FleetTotals {
  const count = (state: WarmState) => status.models.filter((m) => m.state === state).length;
  const priced = status.models.filter((m) => m.monthToDateUsd !== undefined);
  const withoutCmu = status.models.filter(
    (m) => m.cmu === undefined || m.usdPerCmuMinute === undefined,
  ).length;
  // With no model to sum, the fleet's money is unknown, not $0.00; an empty fleet costs nothing.
  const sum = (pick: (m: ModelStatus) => number | undefined) =>
    priced.length === 0 && status.models.length > 0
      ? undefined
      : priced.reduce((total, m) => total + (pick(m) ?? 0), 0);
  return {
    models: status.models.length,
    warm: count("warm"),
    cold: count("cold"),
    unknown: count("unknown"),
    modelsWithoutCmu: withoutCmu,
    modelsNotRead: status.models.length - priced.length - withoutCmu,
    monthToDateUsd: sum((m) => m.monthToDateUsd),
    projectedMonthUsd: sum((m) => m.projectedMonthUsd),
    alwaysOnMonthUsd: sum((m) => m.alwaysOnMonthUsd),
    savingUsd: sum((m) => m.savingUsd),
  };
}

function totalMinutes(intervals: readonly Interval[]): number {
  return intervals.reduce((total, i) => total + (i.end - i.start), 0) / MINUTE_MS;
}

function intersectAll(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const x of a) {
    for (const y of b) {
      const both = intersectInterval(x, y);
      if (both) out.push(both);
    }
  }
  return mergeIntervals(out);
}

export function windowCoverage(today: DayTimeline, now: number): WindowCoverage {
  const past = intersectAll(today.windows, [{ start: today.range.start, end: now }]);
  // `now` falls anywhere in a minute: the minute under way counts from its half.
  const minutes = (list: readonly Interval[]) => Math.round(totalMinutes(list));
  return {
    windowMinutes: minutes(past),
    observedMinutes: minutes(intersectAll(past, today.observed)),
    warmMinutes: minutes(intersectAll(past, today.observedWarm)),
  };
}

/** Instants as ISO 8601 UTC; absent values as null so every field is always present. */
type Iso = string | null;

export interface IntervalJson {
  readonly start: string;
  readonly end: string;
}

/** A window; `end` is null when it does not end within the days looked ahead (always-on). */
export interface WindowJson {
  readonly start: string;
  readonly end: string | null;
}

export interface TimingJson {
  readonly seconds: number;
  readonly source: TimingSource;
}

export interface ModelStatusJson {
  readonly name: string;
  readonly policy: string;
  readonly activePolicy: string;
  readonly policyTimezone: string;
  readonly activePolicyTimezone: string;
  readonly currentWindow: WindowJson | null;
  readonly nextWindow: WindowJson | null;
  readonly state: WarmState;
  readonly stateSince: Iso;
  readonly copies: number | null;
  readonly lastPing: {
    readonly at: string;
    readonly result: PingResult;
    readonly reason: string;
  } | null;
  readonly lastPingOkAt: Iso;
  readonly nextPingAt: Iso;
  readonly timings: {
    readonly cadence: TimingJson;
    readonly leadTime: TimingJson;
    readonly evictionDelay: TimingJson;
    readonly restore: TimingJson;
  };
  readonly restoreSecondsMedian: number | null;
  readonly evictionMinutesMedian: number | null;
  readonly counters: {
    readonly pingsOk: number;
    readonly pingsFailed: number;
    readonly requests: number;
    readonly coldStarts: number;
    readonly coldStartsInWindow: number;
    readonly windowsOpenedCold: number;
    readonly recoveries: number;
  };
  readonly spend: {
    readonly cmu: number | null;
    readonly usdPerCmuMinute: number | null;
    readonly billedCopyMinutes: number;
    readonly monthToDateUsd: number | null;
    readonly projectedMonthUsd: number | null;
    readonly alwaysOnMonthUsd: number | null;
    readonly savingUsd: number | null;
    readonly budgetUsd: number | null;
  };
  readonly today: {
    readonly start: string;
    readonly end: string;
    readonly windows: readonly IntervalJson[];
    readonly plannedWarm: readonly IntervalJson[];
    readonly observedWarm: readonly IntervalJson[];
    readonly observed: readonly IntervalJson[];
    readonly coldStarts: readonly string[];
    readonly coverage: WindowCoverage;
  };
}

export interface StatusJson {
  readonly now: string;
  readonly timezone: string;
  readonly simulated: boolean;
  readonly ready: boolean;
  readonly configLoaded: boolean;
  readonly firstReconcileDone: boolean;
  readonly fleet: Omit<
    FleetTotals,
    "monthToDateUsd" | "projectedMonthUsd" | "alwaysOnMonthUsd" | "savingUsd"
  > & {
    readonly monthToDateUsd: number | null;
    readonly projectedMonthUsd: number | null;
    readonly alwaysOnMonthUsd: number | null;
    readonly savingUsd: number | null;
    readonly budgetUsd: number | null;
  };
  /** keepwarm's own AWS cost this month (docs/costs.md); null where no daemon counts it. */
  readonly overhead: OverheadJson | null;
  /** The daemon's reconciliation with AWS's bill; null where no daemon reconciles. */
  readonly reconciliation: ReconciliationJson | null;
  readonly models: readonly ModelStatusJson[];
}

const iso = (t: number) => new Date(t).toISOString();
const isoOrNull = (t: number | undefined): Iso => (t === undefined ? null : iso(t));
const orNull = <T>(x: T | undefined): T | null => (x === undefined ? null : x);
const interval = (i: Interval): IntervalJson => ({ start: iso(i.start), end: iso(i.end) });
/** A window of `m`, its end left out where it lies beyond the days looked ahead. */
const windowOf = (m: ModelStatus, w: Interval | undefined): WindowJson | null =>
  w === undefined
    ? null
    : { start: iso(w.start), end: w.end >= m.lookAheadEnd ? null : iso(w.end) };
const timing = (t: Timing): TimingJson => ({ seconds: t.ms / 1000, source: t.source });

function modelJson(m: ModelStatus, now: number): ModelStatusJson {
  return {
    name: m.name,
    policy: m.policy,
    activePolicy: m.activePolicy,
    policyTimezone: m.policyTimezone,
    activePolicyTimezone: m.activePolicyTimezone,
    currentWindow: windowOf(m, m.currentWindow),
    nextWindow: windowOf(m, m.nextWindow),
    state: m.state,
    stateSince: isoOrNull(m.stateSince),
    copies: orNull(m.copies),
    lastPing:
      m.lastPing === undefined
        ? null
        : { at: iso(m.lastPing.at), result: m.lastPing.result, reason: m.lastPing.reason },
    lastPingOkAt: isoOrNull(m.lastPingOkAt),
    nextPingAt: isoOrNull(m.nextPingAt),
    timings: {
      cadence: timing(m.timings.cadence),
      leadTime: timing(m.timings.leadTime),
      evictionDelay: timing(m.timings.evictionDelay),
      restore: timing(m.timings.restore),
    },
    restoreSecondsMedian: orNull(m.restoreSecondsMedian),
    evictionMinutesMedian: orNull(m.evictionMinutesMedian),
    counters: {
      pingsOk: m.counters.pingsOk,
      pingsFailed: m.counters.pingsFailed,
      requests: m.counters.requests,
      coldStarts: m.counters.coldStarts,
      coldStartsInWindow: m.counters.coldStartsInWindow,
      windowsOpenedCold: m.counters.windowsOpenedCold,
      recoveries: m.counters.recoveries,
    },
    spend: {
      cmu: orNull(m.cmu),
      usdPerCmuMinute: orNull(m.usdPerCmuMinute),
      billedCopyMinutes: m.billedCopyMinutes,
      monthToDateUsd: centsOrNull(m.monthToDateUsd),
      projectedMonthUsd: centsOrNull(m.projectedMonthUsd),
      alwaysOnMonthUsd: centsOrNull(m.alwaysOnMonthUsd),
      savingUsd: centsOrNull(m.savingUsd),
      budgetUsd: orNull(m.budgetUsd),
    },
    today: {
      start: iso(m.today.range.start),
      end: iso(m.today.range.end),
      windows: m.today.windows.map(interval),
      plannedWarm: m.today.plannedWarm.map(interval),
      observedWarm: m.today.observedWarm.map(interval),
      observed: m.today.observed.map(interval),
      coldStarts: m.today.coldStarts.map(iso),
      coverage: windowCoverage(m.today, now),
    },
  };
}

/** The /api/status document: the status page's figures, instants in ISO 8601 UTC. */
export function statusJson(status: DaemonStatus): StatusJson {
  const fleet = fleetTotals(status);
  return {
    now: iso(status.now),
    timezone: status.timezone,
    simulated: status.simulated,
    ready: status.ready,
    configLoaded: status.configLoaded,
    firstReconcileDone: status.firstReconcileDone,
    fleet: {
      ...fleet,
      monthToDateUsd: centsOrNull(fleet.monthToDateUsd),
      projectedMonthUsd: centsOrNull(fleet.projectedMonthUsd),
      alwaysOnMonthUsd: centsOrNull(fleet.alwaysOnMonthUsd),
      savingUsd: centsOrNull(fleet.savingUsd),
      budgetUsd: orNull(status.fleetBudgetUsd),
    },
    overhead: overheadJson(status.overhead),
    reconciliation: reconciliationJson(status.reconciliation),
    models: status.models.map((m) => modelJson(m, status.now)),
  };
}
