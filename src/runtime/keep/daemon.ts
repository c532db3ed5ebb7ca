import type { RegionClientPool } from "../../aws/clients.js";
import type { CopyPoint } from "../../aws/metrics.js";
import { cents, centsOrNull, formatUsd } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import { planModel } from "../../domain/plan.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import type { Cancel, RuntimeClock } from "../infra/clock.js";
import type { Logger } from "../infra/logger.js";
import { type DaemonObserver, noopObserver } from "../infra/observer.js";
import { ProblemLog } from "../infra/problemLog.js";
import {
  InvokePacer,
  MAX_PINGS_IN_FLIGHT,
  RequestLimiter,
  TokenBucket,
} from "../infra/rateLimiter.js";
import { CmuLookup } from "../observe/cmuLookup.js";
import { CopyPoller } from "../observe/copyPoller.js";
import { Budgets } from "../spend/budgets.js";
import { type CopyReader, SpendBook, type SpendFigures } from "../spend/spendBook.js";
import { SpendLog } from "../spend/spendLog.js";
import { DailySummaries, type ModelDay, plannedWarmMs } from "../state/dailySummary.js";
import { LearnedTimings } from "../state/learnedTimings.js";
import type { StateFileSystem } from "../state/stateFiles.js";
import { StateLease } from "../state/stateLease.js";
import { ClockJumpWatch } from "./clockJump.js";
import { diffFleet } from "./configDiff.js";
import type { ModelCounters } from "./counters.js";
import { type Seen, seenState, spendUnknownReason } from "./freshness.js";
import { type ControllerTiming, DEFAULT_TIMING } from "./loopTiming.js";
import { byUrgency, ModelController } from "./modelController.js";
import type { DaemonStatus } from "./status.js";
import { modelStatus } from "./statusView.js";

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
  /** Who writes summaries and budget crossings among replicas sharing `stateDir`. */
  readonly lease?: StateLease;
}

/**
 * The long-running part of `keepwarm run`: the fleet (a controller per model) and the minute
 * job that moves data one way: CloudWatch -> poller -> spend book and controllers -> spend
 * lines, budgets and, after midnight, the daily summary.
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
  readonly #learned: LearnedTimings;
  readonly #lease: StateLease;
  readonly #fleet = new Map<string, ModelController>();
  readonly #book = new SpendBook();
  readonly #cmu: CmuLookup;
  readonly #poller: CopyPoller;
  readonly #spendLog: SpendLog;
  readonly #budgets: Budgets;
  readonly #summaries: DailySummaries;
  readonly #clockJump: ClockJumpWatch;
  readonly #cancels: Cancel[] = [];
  #started = false;
  #stopped = false;
  #firstReconcileDone = false;

  constructor(config: ResolvedConfig, deps: DaemonDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#log = deps.logger;
    this.#observer = deps.observer ?? noopObserver;
    this.#timing = { ...DEFAULT_TIMING, ...(deps.timing ?? {}) };
    this.#random = deps.random ?? Math.random;
    const now = () => deps.clock.now();
    const problems = new ProblemLog(now, this.#timing.problemRepeatMs);
    this.#learned = new LearnedTimings(deps.stateDir, deps.logger);
    this.#lease = deps.lease ?? new StateLease({ stateDir: deps.stateDir, log: deps.logger });
    this.#pacer = new InvokePacer(
      new TokenBucket(config.daemon.invokeRatePerSecond, config.daemon.invokeBurst),
      deps.clock,
    );
    this.#cmu = new CmuLookup({ clients: deps.clients, now, observer: this.#observer, problems });
    this.#poller = new CopyPoller({
      clients: deps.clients,
      now,
      log: this.#log,
      observer: this.#observer,
      problems,
      sink: {
        monthRead: (model, points, month, at) => this.#monthRead(model, points, month, at),
        pointsRead: (model, copies, invocations) => this.#pointsRead(model, copies, invocations),
      },
    });
    this.#spendLog = new SpendLog(this.#log);
    this.#budgets = new Budgets({
      lease: this.#lease,
      stateDir: deps.stateDir,
      log: this.#log,
      observer: this.#observer,
      logOf: (name) => this.#fleet.get(name)?.log,
    });
    this.#summaries = new DailySummaries({
      lease: this.#lease,
      stateDir: deps.stateDir,
      log: this.#log,
      problems,
      publishDelayMs: this.#timing.publishDelayMs,
      simulated: deps.simulated ?? false,
      fs: deps.fs,
      source: {
        now,
        zone: () => this.#config.timezone,
        takeDays: () => new Map([...this.#fleet].map(([name, c]) => [name, c.counters.takeDay()])),
        readThrough: (name) => this.#poller.readThrough(name),
        modelDay: (name, day, range) => this.#modelDay(name, day, range),
        selfHostingUsdPerMonth: () => this.#config.daemon.selfHostingUsdPerMonth,
        fleetBudgetUsd: () => this.#config.budgets?.fleetUsd,
        crossings: () => this.#budgets.announced(),
      },
    });
    this.#clockJump = new ClockJumpWatch(this.#log);
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
      if (!this.#fleet.has(model.name)) this.#add(model);
    }
    await Promise.all([...this.#fleet.values()].map((c) => this.#cmu.discover(c.model, c.log)));
    await this.#poller.backfill(this.#models());
    for (const c of byUrgency([...this.#fleet.values()], clock.now())) c.start();
    await this.#lease.renew();
    this.#cancels.push(
      clock.everyMinute(() => {
        void clock.track(this.#tick());
      }),
      clock.dailyAt("00:00", config.timezone, () => {
        void clock.track(this.#closeDay());
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
    const before = this.#projectionTotal(now, true);
    const running = new Map([...this.#fleet].map(([name, c]) => [name, c.model]));
    const diff = diffFleet(this.#config, running, next);
    this.#config = next;
    this.#learned.retain(new Set(next.models.map((m) => m.name)));
    for (const name of diff.removed) {
      this.#remove(name);
      this.#observer.modelRemoved?.(name);
    }
    for (const model of diff.replaced) this.#remove(model.name);
    const fresh = [...diff.added, ...diff.replaced].map((model) => this.#add(model));
    for (const { model } of diff.kept) {
      this.#fleet.get(model.name)?.reconfigure(next, model);
      this.#book.replan(model.name);
    }
    // GetImportedModel only where the answer can differ: a new model, a CMU setting that
    // changed, a CMU still unknown. A storm of reloads asks nothing of unchanged models.
    const lookups = [
      ...fresh,
      ...diff.kept
        .filter(
          ({ model }) =>
            model.customModelUnits !== running.get(model.name)?.customModelUnits ||
            this.#cmu.cmuOf(model.name) === undefined,
        )
        .flatMap(({ model }) => this.#fleet.get(model.name) ?? []),
    ];
    await Promise.all(lookups.map((c) => this.#cmu.discover(c.model, c.log)));
    await this.#poller.backfill(fresh.map((c) => c.model));
    if (this.#started && !this.#stopped) for (const c of fresh) c.start();
    for (const name of this.#fleet.keys()) this.#book.replan(name);
    const after = this.#projectionTotal(now, false);
    const delta = after - before;
    const added = diff.added.map((m) => m.name);
    const changed = [
      ...diff.replaced.map((m) => m.name),
      ...diff.kept.filter((k) => k.planChanged).map((k) => k.model.name),
    ];
    const change = `${delta >= 0 ? "+" : "-"}${formatUsd(Math.abs(delta))}/month`;
    this.#log.info(
      {
        event: "reload",
        added,
        changed: next.models.map((m) => m.name).filter((n) => changed.includes(n)),
        removed: diff.removed,
        projectedMonthUsdBefore: cents(before),
        projectedMonthUsdAfter: cents(after),
        projectionChange: change,
      },
      `config applied: ${added.length} added, ${changed.length} changed, ${diff.removed.length} removed; projection ${change}`,
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
    this.#poller.stop();
    for (const cancel of this.#cancels.splice(0)) cancel();
    for (const c of this.#fleet.values()) c.stop();
    const inFlight = [...this.#fleet.values()]
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
      for (const c of this.#fleet.values()) c.abort();
    }
    // A day's summary still waiting for its last minutes is written with what is known.
    await this.#summaries.writeReady(true);
    await Promise.all([this.#summaries.flushed(), this.#budgets.flushed(), this.#learned.flush()]);
    if (this.#summaries.awaitingDisk) await this.#summaries.writeAwaiting(true);
    await this.#lease.release();
    this.#log.info(
      { event: "stopped", inFlightPings: inFlight.length, finishedInTime: finished },
      "keepwarm stopped",
    );
  }

  status(): DaemonStatus {
    const now = this.#deps.clock.now();
    const zone = this.#config.timezone;
    return {
      now,
      timezone: zone,
      simulated: this.#deps.simulated ?? false,
      ready: this.#firstReconcileDone && !this.#stopped,
      configLoaded: true,
      firstReconcileDone: this.#firstReconcileDone,
      fleetBudgetUsd: this.#config.budgets?.fleetUsd,
      models: [...this.#fleet].map(([name, controller]) =>
        modelStatus(
          {
            controller,
            seen: this.#seen(controller, now),
            spendUnknown: this.#spendUnknown(controller),
            copies: this.#copiesOf(name),
            billedCopyMinutes: this.#book.billedCopyMinutes(name, now),
            figures: this.spendOf(name, now),
            budgetUsd: this.#config.budgets?.modelUsd.get(name),
            zone,
          },
          now,
        ),
      ),
    };
  }

  /** The spend figures of one model at `now`. */
  spendOf(name: string, now: number = this.#deps.clock.now()): SpendFigures {
    return this.#figures(name, now, false);
  }

  #figures(name: string, now: number, fresh: boolean): SpendFigures {
    const c = this.#fleet.get(name);
    if (!c) throw new RangeError(`no model named "${name}"`);
    return this.#book.figures(name, c, this.#cmu.cmuOf(name), now, {
      fresh,
      gone: c.record.modelMissing,
    });
  }

  #models(): ModelConfig[] {
    return [...this.#fleet.values()].map((c) => c.model);
  }

  #add(model: ModelConfig): ModelController {
    const { clock, logger, clients } = this.#deps;
    this.#book.open(model.name, clock.now());
    const controller = new ModelController(this.#config, model, {
      clock,
      logger,
      clients: clients.get(model.region),
      observer: this.#observer,
      random: this.#random,
      timing: this.#timing,
      limiter: this.#limiter,
      learned: this.#learned,
      pacer: this.#pacer,
      copies: this.#copiesOf(model.name),
    });
    this.#fleet.set(model.name, controller);
    return controller;
  }

  #remove(name: string): void {
    this.#fleet.get(name)?.stop();
    this.#fleet.delete(name);
    this.#book.close(name);
    this.#cmu.forget(name);
    this.#poller.forget(name);
    this.#spendLog.forget(name);
    this.#summaries.forget(name);
  }

  #copiesOf(name: string): CopyReader {
    return {
      latest: () => this.#book.latest(name),
      pointsIn: (range) => this.#book.pointsIn(name, range),
    };
  }

  /** The model `model` names is still the one running (a reload may have replaced it since the read began). */
  #running(model: ModelConfig): ModelController | undefined {
    const c = this.#fleet.get(model.name);
    return c && c.model.modelArn === model.modelArn ? c : undefined;
  }

  #monthRead(model: ModelConfig, points: readonly CopyPoint[], month: Interval, now: number): void {
    const c = this.#running(model);
    if (!c) return;
    this.#book.rebuild(model.name, points, now);
    c.log.info(
      {
        event: "month-to-date",
        since: new Date(month.start).toISOString(),
        datapoints: points.length,
        billedCopyMinutes: this.#book.billedCopyMinutes(model.name, now),
        monthToDateUsd: centsOrNull(this.spendOf(model.name, now).monthToDateUsd),
      },
      "month to date rebuilt from CloudWatch",
    );
  }

  #pointsRead(
    model: ModelConfig,
    copies: readonly CopyPoint[],
    invocations: readonly CopyPoint[],
  ): void {
    const c = this.#running(model);
    if (!c || this.#stopped) return;
    this.#book.record(model.name, copies, this.#deps.clock.now());
    c.observe(copies, invocations);
  }

  /**
   * The minute job, in this order: roll the month; read CloudWatch (and the CMU lookups
   * due), which feeds the book and the controllers; the spend lines from the book; state
   * files; the daily summary once its data is read; a clock step; budgets.
   */
  async #tick(): Promise<void> {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    this.#book.rollMonth(now);
    const models = this.#models();
    const readFrom = this.#poller.readFrom(models, now);
    const cmuRetries = this.#cmu
      .due(models, now)
      .map((m) => this.#cmu.discover(m, this.#fleet.get(m.name)?.log ?? this.#log));
    const [, polledAll] = await Promise.all([
      Promise.all(cmuRetries),
      this.#poller.poll(models, now),
    ]);
    if (this.#stopped) return;
    // Ready once a poll has been made for every region: the one still running sets it.
    if (polledAll) this.#firstReconcileDone = true;
    this.#writeSpendLines(now);
    void this.#deps.clock.track(this.#learned.flush());
    await this.#lease.renew();
    if (this.#summaries.awaitingDisk) await this.#summaries.writeAwaiting(false);
    const summarised = await this.#summaries.writeReady();
    this.#clockJump.notice(now, this.#deps.clock.monotonic(), readFrom, summarised);
    await this.#checkBudgets(now);
  }

  #writeSpendLines(now: number): void {
    const entries = [...this.#fleet].map(([name, c]) => {
      const figures = this.spendOf(name, now);
      this.#observer.projectedMonthUsd(name, figures.projectedMonthUsd);
      this.#observer.spend?.(name, figures);
      const seen = this.#seen(c, now);
      if (seen.stale) this.#observer.warmState(name, seen.state);
      return {
        name,
        log: c.log,
        state: seen.state,
        copies: seen.copies,
        stale: seen.stale,
        figures,
        spendUnknown: this.#spendUnknown(c),
      };
    });
    this.#spendLog.write(entries, this.#config.daemon.spendLog, now);
  }

  #seen(c: ModelController, now: number): Seen {
    return seenState(c.record.observation, {
      readThrough: this.#poller.readThrough(c.model.name),
      failure: this.#poller.failureIn(c.model.region),
      now,
      publishDelayMs: this.#timing.publishDelayMs,
    });
  }

  #spendUnknown(c: ModelController): string | undefined {
    const name = c.model.name;
    return spendUnknownReason(
      this.#cmu.problemOf(name),
      this.#book.monthRead(name),
      this.#poller.failureIn(c.model.region),
    );
  }

  async #checkBudgets(now: number): Promise<void> {
    if (this.#stopped) return;
    const spend = [...this.#fleet.keys()].map((name) => ({ name, ...this.spendOf(name, now) }));
    await this.#budgets.check(this.#config.budgets, spend, now, () => this.#stopped);
  }

  async #closeDay(): Promise<void> {
    if (this.#stopped) return;
    await this.#summaries.closeDay();
  }

  /** One model's day for its summary line, or undefined when it is no longer configured. */
  #modelDay(name: string, day: ModelCounters, range: Interval): ModelDay | undefined {
    const c = this.#fleet.get(name);
    if (!c) return undefined;
    return {
      name,
      policy: c.model.policy,
      points: this.#book.pointsIn(name, range),
      plannedWarmMs: plannedWarmMs(planModel(c.config, c.model, range, c.timings).warm, range),
      figures: this.spendOf(name, this.#deps.clock.now()),
      day,
      total: c.counters.total,
      timings: c.timings,
      budgetUsd: this.#config.budgets?.modelUsd.get(name),
    };
  }

  /** The fleet's projected month; `fresh` plans each model's rest of month again without keeping it. */
  #projectionTotal(now: number, fresh: boolean): number {
    let total = 0;
    for (const name of this.#fleet.keys()) {
      total += this.#figures(name, now, fresh).projectedMonthUsd ?? 0;
    }
    return total;
  }
}
