import { DateTime } from "luxon";
import type { RegionClientPool } from "../aws/clients.js";
import { AwsCallError } from "../aws/errors.js";
import { getImportedModel } from "../aws/importedModel.js";
import { type CopyPoint, type CopyQuery, readModelCopies } from "../aws/metrics.js";
import { formatDuration } from "../config/formats.js";
import { type Interval, intersectInterval } from "../domain/interval.js";
import { planModel } from "../domain/plan.js";
import {
  billCopySeries,
  formatUsd,
  monthOf,
  monthRange,
  projectMonth,
  projectRestOfMonth,
} from "../domain/spend.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import type { Cancel, RuntimeClock } from "./clock.js";
import {
  type ModelController as Controller,
  type ControllerTiming,
  DEFAULT_TIMING,
  ModelController,
  type ModelCounters,
  median,
} from "./controller.js";
import { CopyHistory } from "./copyHistory.js";
import { describeError, type Logger } from "./logger.js";
import { type DaemonObserver, noopObserver, type WarmState } from "./observer.js";
import { InvokePacer, MAX_PINGS_IN_FLIGHT, RequestLimiter, TokenBucket } from "./rateLimiter.js";
import { appendSummary, type DailySummary, type ModelDaySummary, totalOf } from "./summary.js";

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
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
}

/** The spend figures of one model at one instant; money undefined while CMU is unknown. */
export interface SpendFigures {
  readonly cmu: number | undefined;
  readonly usdPerCmuMinute: number;
  readonly monthToDateUsd: number | undefined;
  readonly projectedMonthUsd: number | undefined;
  readonly alwaysOnMonthUsd: number | undefined;
  readonly savingUsd: number | undefined;
}

/** What `status()` tells about one model, for /readyz, `simulate` and tests. */
export interface ModelStatus extends SpendFigures {
  readonly name: string;
  readonly policy: string;
  readonly state: WarmState;
  readonly copies: number | undefined;
  readonly lastPingOkAt: number | undefined;
  readonly counters: Readonly<ModelCounters>;
  readonly restoreSecondsMedian: number | undefined;
  readonly evictionMinutesMedian: number | undefined;
  /** Copy-minutes billed this month, from ModelCopy. */
  readonly billedCopyMinutes: number;
}

export interface DaemonStatus {
  /** Start-up is done and every model has been reconciled with ModelCopy once. */
  readonly ready: boolean;
  readonly configLoaded: boolean;
  readonly firstReconcileDone: boolean;
  readonly models: readonly ModelStatus[];
}

interface PendingSummary {
  readonly date: string;
  readonly day: Interval;
  /** Each model's counters of that day, taken at midnight. */
  readonly counters: Map<Controller, ModelCounters>;
}

interface RestCache {
  readonly validUntil: number;
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

  constructor(config: ResolvedConfig, deps: DaemonDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#observer = deps.observer ?? noopObserver;
    this.#timing = { ...DEFAULT_TIMING, ...(deps.timing ?? {}) };
    this.#random = deps.random ?? Math.random;
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
    if (!finished) for (const c of this.#controllers.values()) c.abort();
    // A day's summary still waiting for its last minutes is written with what is known.
    await this.#writePendingSummary(true);
    await this.#summaryWrite;
    this.#log.info(
      { event: "stopped", inFlightPings: inFlight.length, finishedInTime: finished },
      "keepwarm stopped",
    );
  }

  status(): DaemonStatus {
    const now = this.#deps.clock.now();
    return {
      ready: this.#firstReconcileDone && !this.#stopped,
      configLoaded: true,
      firstReconcileDone: this.#firstReconcileDone,
      models: [...this.#controllers.values()].map((c) => ({
        name: c.model.name,
        policy: c.model.policy,
        state: c.observation.state,
        copies: c.observation.copies,
        lastPingOkAt: c.lastOkAt,
        counters: c.total,
        restoreSecondsMedian: median(c.total.restoreSeconds),
        evictionMinutesMedian: median(c.total.evictionMinutes),
        billedCopyMinutes: c.history.billedCopyMinutes(),
        ...this.spendOf(c.model.name, now),
      })),
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
    for (const c of this.#controllers.values()) this.#logSpend(c, now);
    const summarised = await this.#writePendingSummary();
    this.#noticeClockJump(now, readFrom, summarised);
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
        group.map(queryOf),
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
      c.observe(points.get(c.model.name) ?? []);
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

  #logSpend(c: Controller, now: number): void {
    const f = this.spendOf(c.model.name, now);
    this.#observer.projectedMonthUsd(c.model.name, f.projectedMonthUsd);
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
    if (cached && now < cached.validUntil) return cached;
    const config = c.config;
    const month = monthOf(now);
    const restUsd = projectRestOfMonth(config, c.model, cmu, now, 0);
    const alwaysOnUsd =
      cached?.alwaysOnUsd !== undefined && monthOf(cached.validUntil - 1) === month
        ? cached.alwaysOnUsd
        : projectMonth(config, c.model, cmu, month).alwaysOnUsd;
    const plan = c.planAround(now);
    const warmNow = plan.warm.some((w) => w.start <= now && now < w.end);
    const nextRun = plan.warm.find((w) => w.start > now)?.start;
    const validUntil = warmNow
      ? floorTo(now, 5 * MINUTE_MS) + 5 * MINUTE_MS
      : Math.min(nextRun ?? now + HOUR_MS, now + HOUR_MS, monthRange(month).end);
    const entry = { validUntil, restUsd, alwaysOnUsd };
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
    const summary: DailySummary = {
      date: pending.date,
      timezone: zone,
      at: new Date(now).toISOString(),
      simulated: this.#deps.simulated ?? false,
      models,
      total,
      hint,
    };
    this.#log.info({ event: "daily-summary", ...summary }, `daily summary for ${summary.date}`);
    const write = appendSummary(this.#deps.stateDir, summary).catch((error: unknown) => {
      this.#log.error(
        {
          event: "summary-write-failed",
          stateDir: this.#deps.stateDir,
          error: describeError(error),
        },
        "daily summary not written",
      );
    });
    this.#summaryWrite = write;
    await write;
    return summary.date;
  }

  #summarise(c: Controller, day: ModelCounters, range: Interval, now: number): ModelDaySummary {
    const points = c.history.pointsIn(range);
    const planned = planModel(c.config, c.model, range).warm.reduce((sum, w) => {
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
    };
  }
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
