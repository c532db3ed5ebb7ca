import { join } from "node:path";
import { DateTime } from "luxon";
import type { RegionClientPool } from "../../aws/clients.js";
import { AwsCallError, errorNameOf } from "../../aws/errors.js";
import { getImportedModel } from "../../aws/importedModel.js";
import { type CopyPoint, type CopyQuery, readModelCopies } from "../../aws/metrics.js";
import {
  type BudgetCrossing,
  budgetStandings,
  describeCrossing,
  dueCrossings,
} from "../../domain/budget.js";
import { formatDuration, formatUsd } from "../../domain/format.js";
import { type Interval, intersectInterval, mergeIntervals } from "../../domain/interval.js";
import { activePolicyAt, planModel } from "../../domain/plan.js";
import {
  billCopySeries,
  monthOf,
  monthRange,
  projectMonth,
  projectRestOfMonth,
} from "../../domain/spend.js";
import { timingFields } from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../domain/units.js";
import type { Cancel, RuntimeClock } from "../infra/clock.js";
import { describeError, type Logger } from "../infra/logger.js";
import { type BudgetScope, type DaemonObserver, noopObserver } from "../infra/observer.js";
import {
  InvokePacer,
  MAX_PINGS_IN_FLIGHT,
  RequestLimiter,
  TokenBucket,
} from "../infra/rateLimiter.js";
import { CopyHistory } from "../spend/copyHistory.js";
import { readBudgetCrossings, writeBudgetCrossings } from "../state/budgetState.js";
import { LearnedTimings } from "../state/learnedTimings.js";
import { StateFileError, type StateFileSystem } from "../state/stateFiles.js";
import {
  appendSummary,
  type BudgetDaySummary,
  type DailySummary,
  type ModelDaySummary,
  SUMMARIES_FILE,
  totalOf,
} from "../state/summaries.js";
import {
  type ModelController as Controller,
  type ControllerTiming,
  DEFAULT_TIMING,
  ModelController,
  type ModelCounters,
  median,
} from "./modelController.js";
import type { DaemonStatus, DayTimeline, ModelStatus, SpendFigures } from "./status.js";

/**
 * Each poll reads from this long before the end of the last successful read, so a late
 * minute is filled in and a failed poll (an outage, a suspend, a clock jump) is caught up.
 */
const LOOKBACK_MS = 10 * MINUTE_MS;
/** A wall clock that moved this much more or less than the monotonic one was stepped. */
const CLOCK_JUMP_MS = 5_000;
/** CloudWatch keeps 1-minute data 15 days; older history is read at 5-minute resolution. */
const ONE_MINUTE_RETENTION_MS = 15 * DAY_MS - HOUR_MS;
/** While a model's CMU is unknown, GetImportedModel is asked again this often. */
const CMU_RETRY_MS = 10 * MINUTE_MS;

export interface DaemonDeps {
  readonly clock: RuntimeClock;
  readonly logger: Logger;
  readonly clients: RegionClientPool;
  readonly stateDir: string;
  readonly observer?: DaemonObserver;
  /** Jitter source in [0, 1); seeded in tests. */
  readonly random?: () => number;
  readonly timing?: Partial<ControllerTiming>;
  /** Marks summaries as made against the simulator. */
  readonly simulated?: boolean;
  /** The file system of the state directory; node's unless a test injects a full disk. */
  readonly fs?: StateFileSystem;
}

/** A daily summary not yet on disk, and how its failures were logged. */
interface UnwrittenSummary {
  readonly summary: DailySummary;
  failures: number;
  loggedAt: number | undefined;
}

export type { DaemonStatus, ModelStatus, SpendFigures } from "./status.js";

interface PendingSummary {
  readonly date: string;
  readonly day: Interval;
  /** Each model's counters of that day, taken at midnight. */
  readonly counters: Map<Controller, ModelCounters>;
}

interface RestCache {
  readonly validUntil: number;
  /** The controller's timings version the figures were planned with. */
  readonly timingsVersion: number;
  readonly restUsd: number;
  readonly alwaysOnUsd: number;
}

/**
 * The long-running part of `keepwarm run`: a controller per model, one ModelCopy poll per
 * region every minute, a spend line per model every minute and a summary every midnight.
 */
export class Daemon {
  #config: ResolvedConfig;
  readonly #deps: DaemonDeps;
  readonly #log: Logger;
  readonly #observer: DaemonObserver;
  readonly #timing: ControllerTiming;
  readonly #random: () => number;
  readonly #limiter = new RequestLimiter(MAX_PINGS_IN_FLIGHT);
  readonly #learned: LearnedTimings;
  readonly #pacer: InvokePacer;
  /** Per model, the instant its last successful ModelCopy read reached. */
  readonly #readThrough = new WeakMap<Controller, number>();
  /** The last minute job, on both clocks: a difference between them is a clock step. */
  #lastTick: { wall: number; monotonic: number } | undefined;
  /** A daily summary waiting for ModelCopy to be read through the end of its day. */
  #summaryPending: PendingSummary | undefined;
  readonly #controllers = new Map<string, Controller>();
  readonly #rest = new Map<string, RestCache>();
  readonly #backfillPending = new Set<string>();
  readonly #regionProblemAt = new Map<string, number>();
  /** The last GetImportedModel call per controller, and when `cmu-unknown` was last logged. */
  readonly #cmuLookups = new WeakMap<
    Controller,
    { triedAt: number; unknownLoggedAt: number | undefined }
  >();
  /** Regions whose ModelCopy poll is still running: when it started, and whether a skip was logged. */
  readonly #polling = new Map<string, { startedAt: number; skipLogged: boolean }>();
  readonly #cancels: Cancel[] = [];
  #started = false;
  #stopped = false;
  #firstReconcileDone = false;
  #summaryWrite: Promise<unknown> = Promise.resolve();
  /** Crossings of this month and the last, as budgets.json holds them; read at the first check. */
  #budgetCrossings: Promise<BudgetCrossing[]> | undefined;
  /** Budgets whose gauges are set, so that one a reload drops is removed. */
  readonly #budgetGauges = new Map<string, BudgetScope>();
  #budgetWrite: Promise<unknown> = Promise.resolve();
  readonly #pendingSummaries: UnwrittenSummary[] = [];
  /** When each model's spend line was last logged, and what it said, for `on-change`. */
  readonly #spendLogged = new WeakMap<Controller, { at: number; key: string }>();

  constructor(config: ResolvedConfig, deps: DaemonDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#observer = deps.observer ?? noopObserver;
    this.#timing = { ...DEFAULT_TIMING, ...(deps.timing ?? {}) };
    this.#random = deps.random ?? Math.random;
    this.#learned = new LearnedTimings(deps.stateDir, deps.logger);
    this.#pacer = new InvokePacer(
      new TokenBucket(config.daemon.invokeRatePerSecond, config.daemon.invokeBurst),
      deps.clock,
    );
  }

  get config(): ResolvedConfig {
    return this.#config;
  }

  /**
   * Reads CMU where the config leaves it out, rebuilds month-to-date from CloudWatch, then
   * starts pinging and the minute and midnight jobs.
   */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    const { clock } = this.#deps;
    const config = this.#config;
    this.#log.info(
      {
        event: "start",
        models: config.models.map((m) => m.name),
        regions: [...new Set(config.models.map((m) => m.region))],
        timezone: config.timezone,
        at: new Date(clock.now()).toISOString(),
      },
      `keepwarm starting with ${config.models.length} model(s)`,
    );
    await this.#learned.load();
    for (const model of config.models) {
      if (!this.#controllers.has(model.name)) {
        this.#controllers.set(model.name, this.#newController(model));
      }
    }
    await Promise.all([...this.#controllers.values()].map((c) => this.#discoverCmu(c)));
    await this.#backfill([...this.#controllers.values()]);
    for (const c of this.#byUrgency(clock.now())) c.start();
    this.#cancels.push(
      clock.everyMinute(() => {
        void clock.track(this.#tick());
      }),
      clock.dailyAt("00:00", config.timezone, () => {
        void clock.track(this.#dailySummary());
      }),
    );
  }

  /**
   * Puts a new config into effect from this instant: unchanged models keep their state,
   * changed ones keep their counters and ModelCopy history but follow the new plan, new
   * ones start, removed ones stop. Logs what changed and how the projection moved.
   */
  async applyConfig(next: ResolvedConfig): Promise<void> {
    const now = this.#deps.clock.now();
    const before = this.#projectionTotal(now);
    const previous = this.#config;
    this.#config = next;
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    const fresh: Controller[] = [];
    const nextNames = new Set(next.models.map((m) => m.name));
    this.#learned.retain(nextNames);
    for (const [name, c] of this.#controllers) {
      if (nextNames.has(name)) continue;
      c.stop();
      this.#controllers.delete(name);
      this.#rest.delete(name);
      this.#observer.modelRemoved?.(name);
      removed.push(name);
    }
    for (const model of next.models) {
      const c = this.#controllers.get(model.name);
      if (!c || c.model.modelArn !== model.modelArn) {
        c?.stop();
        const replacement = this.#newController(model);
        this.#controllers.set(model.name, replacement);
        fresh.push(replacement);
        (c ? changed : added).push(model.name);
        continue;
      }
      if (modelPlanChanged(previous, next, c.model, model)) changed.push(model.name);
      c.reconfigure(next, model);
      this.#rest.delete(model.name);
    }
    await Promise.all(
      [...this.#controllers.values()]
        .filter((c) => fresh.includes(c) || c.model.customModelUnits === undefined)
        .map((c) => this.#discoverCmu(c)),
    );
    await this.#backfill(fresh);
    if (this.#started && !this.#stopped) for (const c of fresh) c.start();
    const after = this.#projectionTotal(now);
    const delta = after - before;
    this.#log.info(
      {
        event: "reload",
        added,
        changed,
        removed,
        projectedMonthUsdBefore: cents(before),
        projectedMonthUsdAfter: cents(after),
        projectionChange: `${delta >= 0 ? "+" : "-"}${formatUsd(Math.abs(delta))}/month`,
      },
      `config applied: ${added.length} added, ${changed.length} changed, ${removed.length} removed; projection ${delta >= 0 ? "+" : "-"}${formatUsd(Math.abs(delta))}/month`,
    );
    if (this.#started) await this.#checkBudgets(now);
  }

  /**
   * Stops scheduling and waits for a ping in flight, at most `graceMs` (10 s), then aborts
   * what is left. Resolves once the last summary write has reached the disk.
   */
  async stop(opts: { graceMs?: number } = {}): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const cancel of this.#cancels.splice(0)) cancel();
    for (const c of this.#controllers.values()) c.stop();
    const inFlight = [...this.#controllers.values()]
      .map((c) => c.inFlight)
      .filter((p): p is Promise<void> => p !== undefined);
    const graceMs = opts.graceMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      Promise.allSettled(inFlight).then(() => true),
      new Promise<false>((resolve) => {
        // A wall-clock budget: shutdown must end whatever the daemon's clock does.
        timer = setTimeout(() => resolve(false), graceMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.#log.warn(
        { event: "shutdown-grace-expired", graceMs, inFlightPings: inFlight.length },
        `in-flight pings outlived the ${graceMs} ms grace period; aborted`,
      );
      for (const c of this.#controllers.values()) c.abort();
    }
    // A day's summary still waiting for its last minutes is written with what is known.
    await this.#writePendingSummary(true);
    await Promise.all([this.#summaryWrite, this.#budgetWrite, this.#learned.flush()]);
    if (this.#pendingSummaries.length > 0) await this.#writeSummaries(true);
    this.#log.info(
      { event: "stopped", inFlightPings: inFlight.length, finishedInTime: finished },
      "keepwarm stopped",
    );
  }

  status(): DaemonStatus {
    const now = this.#deps.clock.now();
    return {
      now,
      timezone: this.#config.timezone,
      simulated: this.#deps.simulated ?? false,
      ready: this.#firstReconcileDone && !this.#stopped,
      configLoaded: true,
      firstReconcileDone: this.#firstReconcileDone,
      fleetBudgetUsd: this.#config.budgets?.fleetUsd,
      models: [...this.#controllers.values()].map((c) => this.#modelStatus(c, now)),
    };
  }

  #modelStatus(c: Controller, now: number): ModelStatus {
    const plan = c.planAround(now);
    // The next window may be days away (a weekend): look a week and a day ahead for it.
    const ahead = planModel(
      c.config,
      c.model,
      { start: now, end: now + 8 * DAY_MS },
      c.timings,
    ).windows;
    return {
      name: c.model.name,
      policy: c.model.policy,
      activePolicy: activePolicyAt(c.config, c.model, now),
      currentWindow: ahead.find((w) => w.start <= now && now < w.end),
      nextWindow: ahead.find((w) => w.start > now),
      state: c.observation.state,
      stateSince: c.stateSince,
      copies: c.observation.copies,
      lastPingOkAt: c.lastOkAt,
      lastPing: c.lastPing,
      nextPingAt: plan.pings.find((p) => p > now),
      timings: c.timings,
      counters: c.total,
      restoreSecondsMedian: median(c.total.restoreSeconds),
      evictionMinutesMedian: median(c.total.evictionMinutes),
      billedCopyMinutes: c.history.billedCopyMinutes(),
      budgetUsd: this.#config.budgets?.modelUsd.get(c.model.name),
      today: this.#today(c, now),
      ...this.spendOf(c.model.name, now),
    };
  }

  /** The model's local day around `now`: planned windows and warm spans against ModelCopy. */
  #today(c: Controller, now: number): DayTimeline {
    const zone = this.#config.timezone;
    const startOfDay = DateTime.fromMillis(now, { zone }).startOf("day");
    const range: Interval = {
      start: startOfDay.toMillis(),
      end: startOfDay.plus({ days: 1 }).startOf("day").toMillis(),
    };
    const plan = planModel(c.config, c.model, range, c.timings);
    const clip = (list: readonly Interval[]) =>
      list.map((w) => intersectInterval(w, range)).filter((w): w is Interval => w !== undefined);
    const points = c.history.pointsIn(range);
    const minute = (t: number) => ({ start: t, end: t + MINUTE_MS });
    return {
      range,
      windows: clip(plan.windows),
      plannedWarm: clip(plan.warm),
      observedWarm: mergeIntervals(points.filter((p) => p.copies >= 1).map((p) => minute(p.t))),
      observed: mergeIntervals(points.map((p) => minute(p.t))),
      coldStarts: c.coldStartsAt.filter((t) => t >= range.start && t < range.end),
    };
  }

  /** The spend figures of one model at `now`. */
  spendOf(name: string, now: number = this.#deps.clock.now()): SpendFigures {
    const c = this.#controllers.get(name);
    if (!c) throw new RangeError(`no model named "${name}"`);
    const usdPerCmuMinute = c.model.price.usdPerCmuMinute;
    const cmu = c.cmu;
    if (cmu === undefined) {
      return {
        cmu,
        usdPerCmuMinute,
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        alwaysOnMonthUsd: undefined,
        savingUsd: undefined,
      };
    }
    this.#rollMonth(c, now);
    const monthToDateUsd = c.history.billedCopyMinutes() * cmu * usdPerCmuMinute;
    const rest = this.#restOfMonth(c, cmu, now);
    const projectedMonthUsd = monthToDateUsd + rest.restUsd;
    return {
      cmu,
      usdPerCmuMinute,
      monthToDateUsd,
      projectedMonthUsd,
      alwaysOnMonthUsd: rest.alwaysOnUsd,
      savingUsd: rest.alwaysOnUsd - projectedMonthUsd,
    };
  }

  #newController(model: ModelConfig): Controller {
    const { clock, logger, clients } = this.#deps;
    const month = monthRange(monthOf(clock.now()));
    return new ModelController(this.#config, model, new CopyHistory(month), {
      clock,
      logger,
      clients: clients.get(model.region),
      observer: this.#observer,
      random: this.#random,
      timing: this.#timing,
      limiter: this.#limiter,
      learned: this.#learned,
      pacer: this.#pacer,
    });
  }

  /**
   * Without customModelUnits in the config, asks GetImportedModel; spend stays unknown if that
   * fails, and the minute job asks again every 10 minutes.
   */
  async #discoverCmu(c: Controller): Promise<void> {
    if (c.model.customModelUnits !== undefined) {
      c.cmu = c.model.customModelUnits;
      return;
    }
    const now = this.#deps.clock.now();
    const lookup = this.#cmuLookups.get(c) ?? { triedAt: now, unknownLoggedAt: undefined };
    lookup.triedAt = now;
    this.#cmuLookups.set(c, lookup);
    try {
      const info = await getImportedModel(this.#deps.clients.get(c.model.region), c.model.modelArn);
      c.cmu = info.customModelUnits;
      c.cmuProblem = undefined;
      lookup.unknownLoggedAt = undefined;
      c.log.info(
        {
          event: "cmu",
          cmu: info.customModelUnits,
          unitsVersion: info.unitsVersion ?? null,
          source: "bedrock:GetImportedModel",
        },
        `${info.customModelUnits} custom model units per copy`,
      );
    } catch (error) {
      if (error instanceof AwsCallError)
        this.#observer.awsError?.(error.action, error.awsName, error.kind);
      // A reload's failed lookup keeps what an earlier one found: the controller, and so
      // the CMU, is only kept while the model ARN stays the same.
      if (c.cmu !== undefined) return;
      c.cmuProblem = describeError(error).message;
      const last = lookup.unknownLoggedAt;
      if (last !== undefined && now - last < this.#timing.problemRepeatMs) return;
      lookup.unknownLoggedAt = now;
      c.log.error(
        {
          event: "cmu-unknown",
          action: "bedrock:GetImportedModel",
          modelArn: c.model.modelArn,
          errorName: errorNameOf((error as { cause?: unknown }).cause ?? error),
          error: describeError(error),
          remedy: `grant bedrock:GetImportedModel on ${c.model.modelArn}, or set models[].customModelUnits for ${c.model.name}`,
          retry: "every 10 minutes; logged at most hourly",
        },
        "custom model units unknown: the model is kept warm, its spend is shown as unknown",
      );
    }
  }

  /**
   * Rebuilds month-to-date from CloudWatch since the 1st 00:00 UTC, so a restart loses
   * nothing and counts nothing twice: the history is CloudWatch's, not keepwarm's.
   */
  async #backfill(controllers: readonly Controller[]): Promise<void> {
    const now = this.#deps.clock.now();
    const month = monthRange(monthOf(now));
    const byRegion = groupByRegion(controllers);
    await Promise.all(
      [...byRegion].map(async ([region, group]) => {
        const queries = group.map(queryOf);
        try {
          const points = new Map<string, CopyPoint[]>();
          const fineFrom = Math.max(
            month.start,
            floorTo(now - ONE_MINUTE_RETENTION_MS, 5 * MINUTE_MS),
          );
          if (fineFrom > month.start) {
            const coarse = await readModelCopies(
              this.#deps.clients.get(region).cloudwatch,
              queries,
              {
                start: month.start,
                end: fineFrom,
                periodSeconds: 300,
              },
            );
            for (const [key, list] of coarse) points.set(key, expandToMinutes(list, 5));
          }
          const fine = await readModelCopies(this.#deps.clients.get(region).cloudwatch, queries, {
            start: fineFrom,
            end: now,
            periodSeconds: 60,
          });
          for (const [key, list] of fine) points.set(key, [...(points.get(key) ?? []), ...list]);
          for (const c of group) {
            // The read covers the whole month: start over, as polls made while an earlier
            // backfill failed have settled points that older ones could no longer join.
            c.history = c.history.rollTo(month);
            c.history.merge(points.get(c.model.name) ?? [], now);
            const figures = this.spendOf(c.model.name, now);
            c.log.info(
              {
                event: "month-to-date",
                since: new Date(month.start).toISOString(),
                datapoints: points.get(c.model.name)?.length ?? 0,
                billedCopyMinutes: c.history.billedCopyMinutes(),
                monthToDateUsd: centsOrNull(figures.monthToDateUsd),
              },
              "month to date rebuilt from CloudWatch",
            );
          }
          for (const c of group) this.#readThrough.set(c, now);
          this.#backfillPending.delete(region);
        } catch (error) {
          this.#backfillPending.add(region);
          this.#regionProblem(region, error, "month-to-date history");
        }
      }),
    );
  }

  /**
   * The minute job: one ModelCopy poll per region and the CMU lookups due, then a spend line
   * per model.
   */
  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    for (const c of this.#controllers.values()) this.#rollMonth(c, now);
    const readFrom = this.#readFrom([...this.#controllers.values()], now);
    const byRegion = groupByRegion([...this.#controllers.values()]);
    const cmuRetries = [...this.#controllers.values()]
      .filter(
        (c) =>
          c.cmu === undefined &&
          now - (this.#cmuLookups.get(c)?.triedAt ?? Number.NEGATIVE_INFINITY) >= CMU_RETRY_MS,
      )
      .map((c) => this.#discoverCmu(c));
    let skipped = false;
    await Promise.all([
      ...cmuRetries,
      ...[...byRegion].map(async ([region, group]) => {
        // A poll can outlast its minute (CloudWatch retries, 20 s each): a second one would
        // apply its older or newer observations in whatever order the two answer.
        const running = this.#polling.get(region);
        if (running) {
          skipped = true;
          this.#pollSkipped(region, running);
          return;
        }
        this.#polling.set(region, { startedAt: now, skipLogged: false });
        try {
          await this.#poll(region, group, now);
        } finally {
          this.#polling.delete(region);
        }
      }),
    ]);
    if (this.#stopped) return;
    // Ready once a poll has been made for every region: the one still running sets it.
    if (!skipped) this.#firstReconcileDone = true;
    this.#logSpendAll(now);
    void this.#deps.clock.track(this.#learned.flush());
    if (this.#pendingSummaries.length > 0) await this.#writeSummaries(false);
    const summarised = await this.#writePendingSummary();
    this.#noticeClockJump(now, readFrom, summarised);
    await this.#checkBudgets(now);
  }

  /**
   * After the minute's spend lines: a gauge per budget, and an `event: budget` line for each
   * threshold the projection is at or above that was not announced yet this month.
   */
  async #checkBudgets(now: number): Promise<void> {
    if (this.#stopped) return;
    const spend = [...this.#controllers.values()].map((c) => ({
      name: c.model.name,
      ...this.spendOf(c.model.name, now),
    }));
    const standings = budgetStandings(this.#config.budgets, spend);
    const shown = new Set<string>();
    for (const s of standings) {
      const scope: BudgetScope =
        s.model === null ? { scope: "fleet" } : { scope: "model", model: s.model };
      const key = JSON.stringify(scope);
      shown.add(key);
      this.#budgetGauges.set(key, scope);
      this.#observer.budget?.(scope, s.budgetUsd, s.projectedMonthUsd);
    }
    for (const [key, scope] of this.#budgetGauges) {
      if (shown.has(key)) continue;
      this.#budgetGauges.delete(key);
      this.#observer.budgetRemoved?.(scope);
    }
    if (standings.length === 0) return;
    this.#budgetCrossings ??= readBudgetCrossings(this.#deps.stateDir).catch((error: unknown) => {
      this.#log.warn(
        {
          event: "budget-state-unreadable",
          stateDir: this.#deps.stateDir,
          error: describeError(error),
        },
        "budget crossings announced earlier are not known: ignored, and replaced at the next crossing",
      );
      return [];
    });
    const announced = await this.#budgetCrossings;
    const due = standings.flatMap((s) => dueCrossings(s, announced, now));
    if (due.length === 0 || this.#stopped) return;
    // Last month's stay for the midnight summary that follows the month's end.
    const lastMonth = monthOf(monthRange(monthOf(now)).start - 1);
    announced.splice(0, announced.length, ...announced.filter((c) => c.month >= lastMonth), ...due);
    for (const c of due) this.#logCrossing(c);
    const crossings = [...announced];
    const write = this.#budgetWrite.then(() =>
      writeBudgetCrossings(this.#deps.stateDir, crossings).catch((error: unknown) => {
        this.#log.error(
          {
            event: "budget-state-write-failed",
            stateDir: this.#deps.stateDir,
            error: describeError(error),
          },
          "budget crossings not saved: a restart may announce them again",
        );
      }),
    );
    this.#budgetWrite = write;
    await write;
  }

  #logCrossing(c: BudgetCrossing): void {
    const fleet = c.model === null;
    const log = (c.model !== null && this.#controllers.get(c.model)?.log) || this.#log;
    log.warn(
      {
        event: "budget",
        scope: fleet ? "fleet" : "model",
        threshold: c.threshold,
        month: c.month,
        budgetUsd: c.budgetUsd,
        projectedMonthUsd: cents(c.projectedMonthUsd),
        monthToDateUsd: cents(c.monthToDateUsd),
        ratio: Math.round((c.projectedMonthUsd / c.budgetUsd) * 1000) / 1000,
        reachedOn: c.reachedOn,
        ...(fleet ? { modelsWithUnknownCmu: c.modelsWithUnknownCmu } : {}),
      },
      describeCrossing(c),
    );
  }

  /**
   * One `clock-jump` line when the wall clock moved unlike the monotonic one since the last
   * minute job (a suspend, NTP, an operator): how far, and what the daemon does about it.
   */
  #noticeClockJump(now: number, readFrom: number, summarised: string | undefined): void {
    const monotonic = this.#deps.clock.monotonic();
    const last = this.#lastTick;
    this.#lastTick = { wall: now, monotonic };
    if (!last) return;
    const jumpMs = now - last.wall - (monotonic - last.monotonic);
    if (Math.abs(jumpMs) < CLOCK_JUMP_MS) return;
    const forward = jumpMs > 0;
    const actions = forward
      ? [
          "one catch-up ping per model whose window is open; none for the missed pings of closed windows",
          "ModelCopy read back over the gap, so month to date and the daily summary lose no minute",
        ]
      : [
          "keep-alive pings follow the monotonic clock: none waits longer than the cadence",
          "planned pings already sent are not repeated",
        ];
    if (summarised) actions.push(`daily summary for ${summarised} written after the catch-up read`);
    this.#log.warn(
      {
        event: "clock-jump",
        direction: forward ? "forward" : "back",
        jumpSeconds: Math.round(Math.abs(jumpMs) / 1_000),
        from: new Date(last.wall + (monotonic - last.monotonic)).toISOString(),
        to: new Date(now).toISOString(),
        modelCopyReadFrom: new Date(readFrom).toISOString(),
        actions,
      },
      `wall clock jumped ${forward ? "forward" : "back"} ${formatDuration(Math.abs(jumpMs))}`,
    );
  }

  /** Controllers in the order their models need to be warm: open windows first, then the next lead. */
  #byUrgency(now: number): Controller[] {
    const needAt = (c: Controller) =>
      c.planWarm(now) ? now : (c.planAround(now).pings.find((p) => p > now) ?? Infinity);
    return [...this.#controllers.values()]
      .map((c) => ({ c, at: needAt(c) }))
      .sort((a, b) => a.at - b.at)
      .map((e) => e.c);
  }

  /**
   * Fills in month-to-date if it is still missing, then reads ModelCopy from where the last
   * successful read of the group ended and observes it. A gap older than CloudWatch keeps
   * 1-minute data for is rebuilt as the month's history is at start-up.
   */
  async #poll(region: string, group: readonly Controller[], now: number): Promise<void> {
    const from = this.#readFrom(group, now);
    if (from < now - ONE_MINUTE_RETENTION_MS) this.#backfillPending.add(region);
    if (this.#backfillPending.has(region)) await this.#backfill(group);
    let points: Map<string, CopyPoint[]>;
    try {
      // GetMetricData pages a long gap itself (100,800 datapoints a page); readModelCopies
      // follows the pages.
      points = await readModelCopies(
        this.#deps.clients.get(region).cloudwatch,
        group.flatMap((c) => [queryOf(c), invocationsQueryOf(c)]),
        {
          start: Math.max(this.#readFrom(group, now), now - ONE_MINUTE_RETENTION_MS),
          end: now,
          periodSeconds: 60,
        },
      );
    } catch (error) {
      this.#regionProblem(region, error, "ModelCopy");
      return;
    }
    for (const c of group) {
      if (this.#stopped) return;
      this.#readThrough.set(c, now);
      c.observe(points.get(c.model.name) ?? [], points.get(invocationsKey(c)) ?? []);
    }
  }

  /**
   * Start of the next ModelCopy read of `group`: the lookback before the oldest of their
   * last reads, or before `now` when that is earlier (a wall clock stepped back).
   */
  #readFrom(group: readonly Controller[], now: number): number {
    let through = now;
    for (const c of group) through = Math.min(through, this.#readThrough.get(c) ?? now);
    return floorTo(through, MINUTE_MS) - LOOKBACK_MS;
  }

  /** Logged once per overrunning poll: the state it reports is as old as that poll. */
  #pollSkipped(region: string, running: { startedAt: number; skipLogged: boolean }): void {
    if (running.skipLogged) return;
    running.skipLogged = true;
    const since = new Date(running.startedAt).toISOString();
    this.#log.warn(
      {
        event: "poll-skipped",
        region,
        pollStartedAt: since,
        reason: "the previous ModelCopy poll is still running (slow or retried GetMetricData)",
        retry: "at the first minute after it ends",
      },
      `ModelCopy poll in ${region} skipped: the one started at ${since} is still running`,
    );
  }

  /**
   * The minute's spend lines: one per model by default; with `daemon.spendLog.perModel:
   * on-change` (large fleets) one total, plus a model's line when its state, copies or CMU
   * changed and at least every `refresh`.
   */
  #logSpendAll(now: number): void {
    const setting = this.#config.daemon.spendLog;
    const onChange = setting?.perModel === "on-change";
    const total = { warm: 0, cold: 0, unknown: 0, copies: 0, spendUnknown: 0, perModelLines: 0 };
    const usd = { monthToDate: 0, projectedMonth: 0, alwaysOnMonth: 0, saving: 0 };
    for (const c of this.#controllers.values()) {
      const f = this.spendOf(c.model.name, now);
      this.#observer.projectedMonthUsd(c.model.name, f.projectedMonthUsd);
      this.#observer.spend?.(c.model.name, f);
      const key = `${c.observation.state}|${c.observation.copies}|${f.cmu}`;
      const last = this.#spendLogged.get(c);
      if (!onChange || !last || last.key !== key || now - last.at >= (setting?.refreshMs ?? 0)) {
        this.#logSpend(c, f);
        this.#spendLogged.set(c, { at: now, key });
        total.perModelLines++;
      }
      total[c.observation.state]++;
      total.copies += c.observation.copies ?? 0;
      if (f.cmu === undefined) total.spendUnknown++;
      usd.monthToDate += f.monthToDateUsd ?? 0;
      usd.projectedMonth += f.projectedMonthUsd ?? 0;
      usd.alwaysOnMonth += f.alwaysOnMonthUsd ?? 0;
      usd.saving += f.savingUsd ?? 0;
    }
    if (!onChange) return;
    this.#log.info(
      {
        event: "spend-total",
        models: this.#controllers.size,
        ...total,
        monthToDateUsd: cents(usd.monthToDate),
        projectedMonthUsd: cents(usd.projectedMonth),
        alwaysOnMonthUsd: cents(usd.alwaysOnMonth),
        savingUsd: cents(usd.saving),
      },
      `${this.#controllers.size} models, ${total.warm} warm; month to date ${formatUsd(usd.monthToDate)}, projected ${formatUsd(usd.projectedMonth)}`,
    );
  }

  #logSpend(c: Controller, f: SpendFigures): void {
    if (!c.log.isLevelEnabled("info")) return;
    const fields = {
      event: "spend",
      state: c.observation.state,
      copies: c.observation.copies ?? null,
      cmu: f.cmu ?? null,
      usdPerCmuMinute: f.usdPerCmuMinute,
      monthToDateUsd: centsOrNull(f.monthToDateUsd),
      projectedMonthUsd: centsOrNull(f.projectedMonthUsd),
      alwaysOnMonthUsd: centsOrNull(f.alwaysOnMonthUsd),
      savingUsd: centsOrNull(f.savingUsd),
      ...(f.cmu === undefined
        ? { spendUnknown: c.cmuProblem ?? "custom model units unknown" }
        : {}),
    };
    c.log.info(
      fields,
      f.projectedMonthUsd === undefined
        ? `${c.observation.state}; spend unknown`
        : `${c.observation.state}; month to date ${formatUsd(f.monthToDateUsd ?? 0)}, projected ${formatUsd(f.projectedMonthUsd)}`,
    );
  }

  /** A new UTC month starts a new bill. */
  #rollMonth(c: Controller, now: number): void {
    if (now < c.history.month.end) return;
    const month = monthRange(monthOf(now));
    // Every point of the new month read so far: after an outage over the month's end these
    // are more than the last poll's.
    const recent = c.history.pointsIn({ start: month.start, end: now });
    c.history = c.history.rollTo(month);
    c.history.merge(recent, now);
    this.#rest.delete(c.model.name);
  }

  /**
   * The plan's compute for the rest of the month plus storage, and the always-on price.
   * Planning a month is too dear to do every minute for every model, but the rest of the
   * month only changes while the plan keeps the model warm: it is recomputed every 5
   * minutes then, and otherwise when the next planned warm run begins.
   */
  #restOfMonth(c: Controller, cmu: number, now: number): RestCache {
    const cached = this.#rest.get(c.model.name);
    if (cached && now < cached.validUntil && cached.timingsVersion === c.timingsVersion)
      return cached;
    const config = c.config;
    const month = monthOf(now);
    const restUsd = projectRestOfMonth(config, c.model, cmu, now, 0, c.timings);
    const alwaysOnUsd =
      cached?.alwaysOnUsd !== undefined && monthOf(cached.validUntil - 1) === month
        ? cached.alwaysOnUsd
        : projectMonth(config, c.model, cmu, month, c.timings).alwaysOnUsd;
    const plan = c.planAround(now);
    const warmNow = plan.warm.some((w) => w.start <= now && now < w.end);
    const nextRun = plan.warm.find((w) => w.start > now)?.start;
    const validUntil = warmNow
      ? floorTo(now, 5 * MINUTE_MS) + 5 * MINUTE_MS
      : Math.min(nextRun ?? now + HOUR_MS, now + HOUR_MS, monthRange(month).end);
    const entry = { validUntil, timingsVersion: c.timingsVersion, restUsd, alwaysOnUsd };
    this.#rest.set(c.model.name, entry);
    return entry;
  }

  #projectionTotal(now: number): number {
    let total = 0;
    for (const c of this.#controllers.values()) {
      this.#rest.delete(c.model.name);
      total += this.spendOf(c.model.name, now).projectedMonthUsd ?? 0;
    }
    return total;
  }

  #regionProblem(region: string, error: unknown, what: string): void {
    const failure =
      error instanceof AwsCallError
        ? error
        : new AwsCallError("cloudwatch:GetMetricData", "*", error);
    const now = this.#deps.clock.now();
    this.#observer.awsError?.(failure.action, failure.awsName, failure.kind);
    const transient = failure.kind === "throttled" || failure.kind === "unavailable";
    const key = `${region}:${failure.awsName}`;
    const last = this.#regionProblemAt.get(key);
    if (!transient && last !== undefined && now - last < this.#timing.problemRepeatMs) return;
    this.#regionProblemAt.set(key, now);
    const fields = {
      event: "metrics-failed",
      region,
      reading: what,
      action: failure.action,
      errorName: failure.awsName,
      error: describeError(failure.cause),
      remedy: failure.remedy,
      retry: "at the next minute",
    };
    if (transient) this.#log.warn(fields, `${what} not read in ${region}: ${failure.awsName}`);
    else
      this.#log.error(
        fields,
        `${what} not read in ${region}: ${failure.awsName}: ${failure.remedy}`,
      );
  }

  /**
   * The midnight job: yesterday's figures per model and in total, logged and appended to
   * disk. While ModelCopy has not been read up to the day's end (CloudWatch out, a suspend
   * over midnight), the summary waits for the minute job that catches up.
   */
  async #dailySummary(): Promise<void> {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    const zone = this.#config.timezone;
    const today = DateTime.fromMillis(now, { zone }).startOf("day");
    // startOf again: a day that follows a midnight DST skipped starts at 01:00, not yesterday's.
    const yesterday = today.minus({ days: 1 }).startOf("day");
    const day: Interval = { start: yesterday.toMillis(), end: today.toMillis() };
    // A summary still waiting is written as it stands: its day is over.
    await this.#writePendingSummary(true);
    this.#summaryPending = {
      date: yesterday.toISODate() as string,
      day,
      counters: new Map([...this.#controllers.values()].map((c) => [c, c.takeDay()])),
    };
    await this.#writePendingSummary();
  }

  /**
   * Writes the summary waiting once every model's ModelCopy has been read past the day's
   * last minute and its publishing delay (or at once when `force`); returns its date if
   * written. In a quiet night that is the third minute job after midnight.
   */
  async #writePendingSummary(force = false): Promise<string | undefined> {
    const pending = this.#summaryPending;
    if (!pending) return undefined;
    const readTo = pending.day.end + this.#timing.publishDelayMs + MINUTE_MS;
    const behind = [...pending.counters.keys()].some(
      (c) => this.#controllers.get(c.model.name) === c && (this.#readThrough.get(c) ?? 0) < readTo,
    );
    if (behind && !force) return undefined;
    this.#summaryPending = undefined;
    const now = this.#deps.clock.now();
    const zone = this.#config.timezone;
    const day = pending.day;
    const models = [...pending.counters]
      .filter(([c]) => this.#controllers.get(c.model.name) === c)
      .map(([c, counters]) => this.#summarise(c, counters, day, now));
    const total = totalOf(models);
    const limit = this.#config.daemon.selfHostingUsdPerMonth;
    const hint =
      total.projectedMonthUsd > limit
        ? `projected ${formatUsd(total.projectedMonthUsd)} this month passes the self-hosting price of ${formatUsd(limit)} a month (two g6e.2xlarge reserved instances): self-hosting may be cheaper`
        : null;
    const fleetUsd = this.#config.budgets?.fleetUsd;
    const crossings = (await this.#budgetCrossings) ?? [];
    const summary: DailySummary = {
      date: pending.date,
      timezone: zone,
      at: new Date(now).toISOString(),
      simulated: this.#deps.simulated ?? false,
      models,
      total,
      hint,
      fleetBudget: budgetDay(
        fleetUsd,
        fleetUsd === undefined ? undefined : total.projectedMonthUsd,
      ),
      budgetCrossings: crossings
        .filter((c) => c.at >= day.start && c.at < day.end)
        .map((c) => ({ ...c, at: new Date(c.at).toISOString() })),
    };
    this.#log.info({ event: "daily-summary", ...summary }, `daily summary for ${summary.date}`);
    this.#pendingSummaries.push({ summary, failures: 0, loggedAt: undefined });
    await this.#writeSummaries(false);
    return summary.date;
  }

  /**
   * Appends the summaries not yet on disk, oldest first. One that fails (a full disk) stays
   * in memory and is tried again at every minute and once more at stop: the day is lost only
   * if the daemon stops before the disk has room, and is then still in its `daily-summary` line.
   */
  #writeSummaries(stopping: boolean): Promise<void> {
    const write = this.#summaryWrite
      .catch(() => undefined)
      .then(async () => {
        while (this.#pendingSummaries.length > 0) {
          const pending = this.#pendingSummaries[0] as UnwrittenSummary;
          const now = this.#deps.clock.now();
          try {
            const path = await appendSummary(this.#deps.stateDir, pending.summary, this.#deps.fs);
            this.#pendingSummaries.shift();
            if (pending.failures > 0) {
              this.#log.info(
                {
                  event: "summary-written",
                  date: pending.summary.date,
                  path,
                  attempts: pending.failures + 1,
                },
                `daily summary for ${pending.summary.date} written after ${pending.failures} failed attempt(s)`,
              );
            }
          } catch (error) {
            pending.failures++;
            const repeat =
              pending.loggedAt !== undefined &&
              now - pending.loggedAt < this.#timing.problemRepeatMs;
            if (!repeat || stopping) {
              pending.loggedAt = now;
              this.#log.error(
                {
                  event: "summary-write-failed",
                  stateDir: this.#deps.stateDir,
                  path:
                    error instanceof StateFileError
                      ? error.path
                      : join(this.#deps.stateDir, SUMMARIES_FILE),
                  errno: error instanceof StateFileError ? error.code : "EIO",
                  date: pending.summary.date,
                  attempts: pending.failures,
                  error: describeError(error),
                  retry: stopping
                    ? "none: the daemon is stopping; the day is in its daily-summary log line"
                    : "every minute; logged at most hourly",
                },
                `daily summary for ${pending.summary.date} not written`,
              );
            }
            return;
          }
        }
      });
    this.#summaryWrite = write;
    return write;
  }

  #summarise(c: Controller, day: ModelCounters, range: Interval, now: number): ModelDaySummary {
    const points = c.history.pointsIn(range);
    const planned = planModel(c.config, c.model, range, c.timings).warm.reduce((sum, w) => {
      const inside = intersectInterval(w, range);
      return sum + (inside ? inside.end - inside.start : 0);
    }, 0);
    const f = this.spendOf(c.model.name, now);
    const dayUsd = f.cmu === undefined ? null : billCopySeries(points) * f.cmu * f.usdPerCmuMinute;
    return {
      model: c.model.name,
      policy: c.model.policy,
      cmu: f.cmu ?? null,
      plannedWarmMinutes: Math.round(planned / MINUTE_MS),
      observedWarmMinutes: points.filter((p) => p.copies >= 1).length,
      coldStarts: day.coldStarts,
      coldStartsInWindow: day.coldStartsInWindow,
      windowsOpenedCold: day.windowsOpenedCold,
      restoreSecondsMedian: median(day.restoreSeconds) ?? null,
      restoreSecondsMax: day.restoreSeconds.length > 0 ? Math.max(...day.restoreSeconds) : null,
      evictionMinutesMedian: median(c.total.evictionMinutes) ?? null,
      restoreSecondsMedianAllTime: median(c.total.restoreSeconds) ?? null,
      pingsOk: day.pingsOk,
      pingsFailed: day.pingsFailed,
      recoveries: day.recoveries,
      dayUsd: centsOrNull(dayUsd ?? undefined),
      monthToDateUsd: centsOrNull(f.monthToDateUsd),
      projectedMonthUsd: centsOrNull(f.projectedMonthUsd),
      alwaysOnMonthUsd: centsOrNull(f.alwaysOnMonthUsd),
      savingUsd: centsOrNull(f.savingUsd),
      timings: timingFields(c.timings),
      budget: budgetDay(this.#config.budgets?.modelUsd.get(c.model.name), f.projectedMonthUsd),
    };
  }
}

/** A budget and how much of it the projection takes; null without a budget. */
function budgetDay(
  budgetUsd: number | undefined,
  projectedMonthUsd: number | undefined,
): BudgetDaySummary | null {
  if (budgetUsd === undefined) return null;
  return {
    budgetUsd,
    projectedMonthUsd: centsOrNull(projectedMonthUsd),
    ratio:
      projectedMonthUsd === undefined
        ? null
        : Math.round((projectedMonthUsd / budgetUsd) * 1000) / 1000,
  };
}

/** True when anything the plan of `model` depends on differs between two configs. */
function modelPlanChanged(
  before: ResolvedConfig,
  after: ResolvedConfig,
  a: ModelConfig,
  b: ModelConfig,
): boolean {
  const policyOf = (config: ResolvedConfig, m: ModelConfig) => {
    const names = new Set([
      m.policy,
      ...config.overrides.filter((o) => o.models.includes(m.name)).map((o) => o.policy),
    ]);
    return [...names].map((n) => config.policies.get(n));
  };
  const overridesOf = (config: ResolvedConfig, m: ModelConfig) =>
    config.overrides.filter((o) => o.models.includes(m.name));
  return (
    stableJson(a) !== stableJson(b) ||
    stableJson(policyOf(before, a)) !== stableJson(policyOf(after, b)) ||
    stableJson(overridesOf(before, a)) !== stableJson(overridesOf(after, b))
  );
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (v instanceof Set ? [...v].sort() : v));
}

function groupByRegion(controllers: readonly Controller[]): Map<string, Controller[]> {
  const byRegion = new Map<string, Controller[]>();
  for (const c of controllers) {
    const list = byRegion.get(c.model.region) ?? [];
    list.push(c);
    byRegion.set(c.model.region, list);
  }
  return byRegion;
}

function queryOf(c: Controller): CopyQuery {
  return { key: c.model.name, metric: c.model.metric };
}

/**
 * Successful calls per minute on the model, read with its ModelCopy in the same call: the
 * last call before an eviction may be a user's or another replica's, not keepwarm's.
 */
function invocationsQueryOf(c: Controller): CopyQuery {
  return {
    key: invocationsKey(c),
    metric: { ...c.model.metric, metricName: INVOCATIONS_METRIC_NAME },
  };
}

function invocationsKey(c: Controller): string {
  return `${c.model.name}\u0000Invocations`;
}

/** CloudWatch's count of successful calls, next to ModelCopy in the AWS/Bedrock namespace. */
const INVOCATIONS_METRIC_NAME = "Invocations";

/** A coarse datapoint stands for each minute of its period, as billing needs minutes. */
function expandToMinutes(points: readonly CopyPoint[], minutes: number): CopyPoint[] {
  return points.flatMap((p) =>
    Array.from({ length: minutes }, (_, i) => ({ t: p.t + i * MINUTE_MS, copies: p.copies })),
  );
}

function floorTo(t: number, step: number): number {
  return Math.floor(t / step) * step;
}

function cents(x: number): number {
  return Math.round(x * 100) / 100;
}

function centsOrNull(x: number | undefined): number | null {
  return x === undefined ? null : cents(x);
}
