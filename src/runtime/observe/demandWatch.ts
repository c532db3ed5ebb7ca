import type { RegionClientPool } from "../../aws/clients.js";
import type { MetricsRequested } from "../../aws/metrics.js";
import { cents, formatUsd, round1 } from "../../domain/format.js";
import type { PricedUnits } from "../../domain/price.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, Policy, ResolvedConfig } from "../../domain/types.js";
import { isoInZone, localDayOf, weekdayOfDay } from "../../domain/zone.js";
import type { ModelSuggestion } from "../../suggest/candidates.js";
import { suggestFleet } from "../../suggest/suggestFleet.js";
import type { WeeklyProfile } from "../../suggest/types.js";
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
  readonly profile: WeeklyProfile;
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
}

/**
 * Users' demand, read from CloudWatch once at start and every Monday: the last weeks of
 * each model's calls with keepwarm's own taken out (suggest/), kept for the status page's
 * heatmap. On Monday each model's `demand` line says how its users' last week went and what
 * the windows for 99% of their calls would save or add; the lease holder appends the week
 * to demand.jsonl for `keepwarm report`.
 */
export class DemandWatch {
  readonly #deps: DemandWatchDeps;
  #latest = new Map<string, ModelSuggestion>();

  constructor(deps: DemandWatchDeps) {
    this.#deps = deps;
  }

  /** The last weeks read for `name`, until the model leaves the config. */
  latest(name: string): ModelSuggestion | undefined {
    return this.#latest.get(name);
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
    let suggestions: readonly ModelSuggestion[];
    try {
      await this.#deps.pingCounts.flush(now, true);
      const pings = await readPingCounts(this.#deps.stateDir, this.#deps.fs);
      ({ models: suggestions } = await suggestFleet({
        config: config(),
        models: running.map((s) => s.model),
        weeks: DEMAND_WEEKS,
        now,
        cloudwatchOf: (region) => this.#deps.clients.get(region).cloudwatch,
        timingsOf: (m) => byName.get(m.name)?.timings as ModelTimings,
        ownOf: (m) => pings.countsOf(m.name, m.modelArn),
        unitsOf: this.#deps.unitsOf,
        requested: this.#deps.requested,
      }));
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
    this.#latest = new Map(suggestions.map((s) => [s.model.name, s]));
    if (!report) return;
    const coldRead = (config().daemon.coldCallMetric ?? "InvocationThrottles") !== "none";
    const records = suggestions.map((s) => {
      const record = demandRecord(weekOfDemand(s, coldRead), s.zone);
      (byName.get(s.model.name)?.log ?? log).info(
        { event: "demand", ...record },
        demandMessage(record),
      );
      return record;
    });
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
    return [...names].flatMap((name) => {
      const s = this.#latest.get(name);
      const current = s?.candidates.find((c) => c.current);
      if (!s || !current) return [];
      return [
        {
          model: name,
          zone: s.zone,
          weeks: s.weeks,
          calls: s.calls,
          until: s.range.end,
          profile: s.profile,
          policy: current.policy,
        },
      ];
    });
  }

  /** Forgets a model that left the config. */
  forget(name: string): void {
    this.#latest.delete(name);
  }
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
