import type { RegionClientPool } from "../../aws/clients.js";
import type { MetricsRequested } from "../../aws/metrics.js";
import { cents, formatUsd, round1 } from "../../domain/format.js";
import type { PricedUnits } from "../../domain/price.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, Policy, ResolvedConfig } from "../../domain/types.js";
import { isoInZone, localDayOf, weekdayOfDay } from "../../domain/zone.js";
import type { ModelSuggestion } from "../../suggest/candidates.js";
import { type HourGrid, hourGrid } from "../../suggest/heatmap.js";
import { suggestFleet } from "../../suggest/suggestFleet.js";
import { type WeekOfDemand, weekOfDemand } from "../../suggest/weekly.js";
import { windowTexts } from "../../suggest/windowRules.js";
import { describeError, type Logger } from "../infra/logger.js";
import { appendDemandWeek, type DemandRecord } from "../state/demandLog.js";
import type { PingCounts } from "../state/pingCounts.js";
import { readPingCounts } from "../state/pingCounts.js";
import type { StateFileSystem } from "../state/stateFiles.js";
import type { LeaseHolder } from "../state/stateLease.js";

/** Weeks of Invocations the daemon reads for its weekly line, as `keepwarm suggest` does by default. */
export const DEMAND_WEEKS = 4;

/**
 * Models read together: a read holds their weeks of 5-minute counts (130 KB a model) only
 * until their lines and views are made, so a large fleet is read a part at a time. Two
 * metrics a model, so a part fills one GetMetricData call of 500 metrics per region at most.
 */
export const DEMAND_READ_MODELS = 250;

/** A model's users' demand over the weeks last read, as the status page draws it. */
export interface DemandView {
  readonly model: string;
  /** Zone of the model's policy: the heatmap's days and hours. */
  readonly zone: string;
  readonly weeks: number;
  /** Users' calls in those weeks, keepwarm's own pings taken out. */
  readonly calls: number;
  /** End of the weeks read. */
  readonly until: number;
  /** Users' calls per week in each hour of the local week. */
  readonly hours: HourGrid;
  /** The model's policy, whose windows are drawn under the hours. */
  readonly policy: Policy;
}

/** A model the daemon runs, as the weekly read needs it. */
export interface DemandSubject {
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
  readonly log: Logger;
}

export interface DemandWatchDeps {
  readonly clients: RegionClientPool;
  readonly stateDir: string;
  readonly log: Logger;
  readonly lease: LeaseHolder;
  readonly pingCounts: PingCounts;
  readonly config: () => ResolvedConfig;
  readonly subjects: () => readonly DemandSubject[];
  readonly unitsOf: (model: ModelConfig) => PricedUnits | undefined;
  /** Told of each GetMetricData call's metrics: keepwarm's own CloudWatch cost. */
  readonly requested: MetricsRequested;
  readonly fs?: StateFileSystem | undefined;
  /** Models read together; `DEMAND_READ_MODELS` unless a test sets fewer. */
  readonly readModels?: number | undefined;
}

/**
 * Users' demand, read from CloudWatch once at start and every Monday: the last weeks of
 * each model's calls with keepwarm's own taken out (suggest/), kept for the status page's
 * heatmap. On Monday each model's `demand` line says how its users' last week went and what
 * the windows for 99% of their calls would save or add; the lease holder appends the week
 * to demand.jsonl for `keepwarm report`. The fleet is read `DEMAND_READ_MODELS` at a time;
 * the lines are logged and the views replaced once every part is read.
 */
export class DemandWatch {
  readonly #deps: DemandWatchDeps;
  #views = new Map<string, DemandView>();

  constructor(deps: DemandWatchDeps) {
    this.#deps = deps;
  }

  /** At the daily job in the config's zone: the weekly line on Mondays. */
  async daily(now: number): Promise<void> {
    const zone = this.#deps.config().timezone;
    if (weekdayOfDay(localDayOf(zone, now)) !== 1) return;
    await this.read(now, true);
  }

  /** Reads the weeks before `now`; with `report`, logs and keeps the week. Failures are logged. */
  async read(now: number, report: boolean): Promise<void> {
    const { log, config, subjects } = this.#deps;
    const running = subjects();
    if (running.length === 0) return;
    const byName = new Map(running.map((s) => [s.model.name, s]));
    const coldRead = (config().daemon.coldCallMetric ?? "InvocationThrottles") !== "none";
    const views = new Map<string, DemandView>();
    const records: DemandRecord[] = [];
    try {
      await this.#deps.pingCounts.flush(now, true);
      const pings = await readPingCounts(this.#deps.stateDir, this.#deps.fs);
      const size = this.#deps.readModels ?? DEMAND_READ_MODELS;
      for (let i = 0; i < running.length; i += size) {
        const part = running.slice(i, i + size);
        const { models } = await suggestFleet({
          config: config(),
          models: part.map((s) => s.model),
          weeks: DEMAND_WEEKS,
          now,
          cloudwatchOf: (region) => this.#deps.clients.get(region).cloudwatch,
          timingsOf: (m) => byName.get(m.name)?.timings as ModelTimings,
          ownOf: (m) => pings.countsOf(m.name, m.modelArn),
          unitsOf: this.#deps.unitsOf,
          requested: this.#deps.requested,
        });
        for (const s of models) {
          const view = viewOf(s);
          if (view) views.set(s.model.name, view);
          if (report) records.push(demandRecord(weekOfDemand(s, coldRead), s.zone));
        }
      }
    } catch (error) {
      log.warn(
        {
          event: "demand-read-failed",
          error: describeError(error),
          retry: report ? "next Monday" : "on Monday",
        },
        "users' demand not read",
      );
      return;
    }
    this.#views = views;
    if (!report) return;
    for (const record of records) {
      (byName.get(record.model)?.log ?? log).info(
        { event: "demand", ...record },
        demandMessage(record),
      );
    }
    if (!this.#deps.lease.holds()) return;
    try {
      await appendDemandWeek(
        this.#deps.stateDir,
        { at: new Date(now).toISOString(), weeks: DEMAND_WEEKS, models: records },
        this.#deps.fs,
      );
    } catch (error) {
      log.error(
        {
          event: "state-write-failed",
          path: `${this.#deps.stateDir}/demand.jsonl`,
          error: describeError(error),
          retry: "next Monday",
        },
        "the week's demand not written",
      );
    }
  }

  /** The demand of the models named, in that order, for those read. */
  views(names: Iterable<string>): DemandView[] {
    return [...names].flatMap((name) => this.#views.get(name) ?? []);
  }

  /** Forgets a model that left the config. */
  forget(name: string): void {
    this.#views.delete(name);
  }
}

/** What the status page keeps of a model's weeks read: its hours and current policy. */
function viewOf(s: ModelSuggestion): DemandView | undefined {
  const current = s.candidates.find((c) => c.current);
  if (!current) return undefined;
  return {
    model: s.model.name,
    zone: s.zone,
    weeks: s.weeks,
    calls: s.calls,
    until: s.range.end,
    hours: hourGrid(s.profile),
    policy: current.policy,
  };
}

/** The fields of a `demand` line and of its record in demand.jsonl. */
export function demandRecord(w: WeekOfDemand, zone: string): DemandRecord {
  const usd = (x: number | undefined) => (x === undefined ? null : cents(x));
  const s = w.suggestion;
  const change =
    s?.monthlyUsd !== undefined && w.current.monthlyUsd !== undefined
      ? s.monthlyUsd - w.current.monthlyUsd
      : undefined;
  return {
    model: w.model,
    weekFrom: isoInZone(w.week.start, zone),
    weekTo: isoInZone(w.week.end, zone),
    calls: Math.round(w.calls),
    outsideWindows: Math.round(w.outsideWindows),
    metCold: w.metCold === undefined ? null : Math.round(w.metCold),
    coveragePct: round1(w.current.coveragePct),
    monthlyUsd: usd(w.current.monthlyUsd),
    suggestion: s
      ? {
          label: s.label,
          coveragePct: round1(s.coveragePct),
          monthlyUsd: usd(s.monthlyUsd),
          windows: windowTexts(s.policy.windows),
        }
      : null,
    changeUsd: usd(change),
  };
}

/** "57 of 702 users' calls outside the windows, 12 met a cold model; ... would save $340.80 a month". */
export function demandMessage(r: DemandRecord): string {
  const cold = r.metCold === null ? "" : `, ${r.metCold} met a cold model`;
  const change =
    r.changeUsd === null
      ? ""
      : `; windows for 99% of calls would ${r.changeUsd <= 0 ? "save" : "add"} ${formatUsd(Math.abs(r.changeUsd))} a month`;
  return `last week ${r.outsideWindows} of ${r.calls} users' calls fell outside the windows${cold}${change}`;
}
