import type { RegionClientPool } from "../../aws/clients.js";
import type { CopyPoint } from "../../aws/metrics.js";
import { cents, formatUsd } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
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
import { settledWithin } from "../infra/shutdown.js";
import { CmuLookup } from "../observe/cmuLookup.js";
import { CopyPoller } from "../observe/copyPoller.js";
import { DemandWatch } from "../observe/demandWatch.js";
import { RestoreChecks } from "../observe/restoreChecks.js";
import { Budgets } from "../spend/budgets.js";
import { OverheadMeter, overheadDaySummary } from "../spend/overhead.js";
import type { Reconciler } from "../spend/reconciler.js";
import { daemonReconciler, reconcileEnabled } from "../spend/reconcileWiring.js";
import { SpendBook, type SpendFigures } from "../spend/spendBook.js";
import { SpendLog } from "../spend/spendLog.js";
import { DailySummaries } from "../state/dailySummary.js";
import { LearnedTimings } from "../state/learnedTimings.js";
import { countingPings, PingCounts } from "../state/pingCounts.js";
import type { StateFileSystem } from "../state/stateFiles.js";
import { StateLease } from "../state/stateLease.js";
import { ClockJumpWatch } from "./clockJump.js";
import { diffFleet } from "./configDiff.js";
import { FleetSpend } from "./fleetSpend.js";
import { type ControllerTiming, DEFAULT_TIMING } from "./loopTiming.js";
import { byUrgency, ModelController } from "./modelController.js";
import { PollPlanner } from "./pollPlanner.js";
import type { PollTiming } from "./pollRule.js";
import { logRateNeed } from "./rateReport.js";
import type { DaemonStatus } from "./status.js";

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
  /** How often ModelCopy is read when nothing can change (keep/pollRule.ts); tests set a minute. */
  readonly poll?: Partial<PollTiming>;
  /** Models the demand read takes at a time (observe/demandWatch.ts); tests set a few. */
  readonly demandReadModels?: number;
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
  /** keepwarm's own requests per 5-minute bucket (pings.json), which are not users' demand. */
  readonly #pingCounts: PingCounts;
  /** Users' demand from CloudWatch: the status page's heatmap, Monday's `demand` lines. */
  readonly #demand: DemandWatch;
  readonly #lease: StateLease;
  readonly #fleet = new Map<string, ModelController>();
  readonly #book = new SpendBook();
  readonly #spendLog: SpendLog;
  readonly #cmu: CmuLookup;
  readonly #poller: CopyPoller;
  readonly #polls: PollPlanner;
  readonly #restoreChecks: RestoreChecks;
  /** keepwarm's own AWS calls, counted and priced. */
  readonly #overhead: OverheadMeter;
  /** Each final UTC day against AWS's bill (Cost Explorer). */
  readonly #reconciler: Reconciler;
  /** Figures, spend lines, freshness and budgets, read from the book, CMUs and poller. */
  readonly #spend: FleetSpend;
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
    this.#pingCounts = new PingCounts({
      stateDir: deps.stateDir,
      owner: () => this.#lease.owner,
      log: deps.logger,
      fs: deps.fs,
    });
    this.#observer = countingPings(
      deps.observer ?? noopObserver,
      this.#pingCounts,
      () => deps.clock.now(),
      (name) => this.#fleet.get(name)?.model.modelArn,
    );
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
    this.#spendLog = new SpendLog(this.#log);
    this.#cmu = new CmuLookup({ clients: deps.clients, now, observer: this.#observer, problems });
    this.#overhead = new OverheadMeter(now, (calls) => this.#observer.billedCalls?.(calls));
    this.#restoreChecks = new RestoreChecks({
      clients: deps.clients,
      publishDelayMs: this.#timing.publishDelayMs,
      metricsRequested: (metrics) => this.#overhead.recordGetMetricData(metrics),
    });
    this.#polls = new PollPlanner(this.#timing.publishDelayMs, deps.poll);
    this.#poller = new CopyPoller({
      clients: deps.clients,
      now,
      log: this.#log,
      observer: this.#observer,
      problems,
      metricsRequested: (metrics) => this.#overhead.recordGetMetricData(metrics),
      sink: {
        monthRead: (model, points, month, at) => this.#monthRead(model, points, month, at),
        pointsRead: (model, copies, invocations, readFrom) =>
          this.#pointsRead(model, copies, invocations, readFrom),
      },
    });
    this.#reconciler = daemonReconciler({
      config: () => this.#config,
      clients: deps.clients,
      now,
      log: this.#log,
      observer: this.#observer,
      stateDir: deps.stateDir,
      fs: deps.fs,
      lease: this.#lease,
      overhead: this.#overhead,
      priceOf: (model) => this.#cmu.unitsOf(model).priced?.price,
    });
    this.#budgets = new Budgets({
      lease: this.#lease,
      stateDir: deps.stateDir,
      log: this.#log,
      observer: this.#observer,
      logOf: (name) => this.#fleet.get(name)?.log,
    });
    this.#spend = new FleetSpend({
      fleet: this.#fleet,
      config: () => this.#config,
      now,
      book: this.#book,
      cmu: this.#cmu,
      poller: this.#poller,
      overhead: this.#overhead,
      spendLog: this.#spendLog,
      budgets: this.#budgets,
      observer: this.#observer,
      publishDelayMs: this.#timing.publishDelayMs,
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
        modelDay: (name, day, range) => this.#spend.modelDay(name, day, range),
        selfHostingUsdPerMonth: () => this.#config.daemon.selfHostingUsdPerMonth,
        fleetBudgetUsd: () => this.#config.budgets?.fleetUsd,
        crossings: () => this.#budgets.announced(),
        takeOverhead: () => overheadDaySummary(this.#overhead.takeDay(), this.#overhead.figures()),
        takeReconciled: () => this.#reconciler.takeDays(),
      },
    });
    this.#clockJump = new ClockJumpWatch(this.#log);
    this.#demand = new DemandWatch({
      clients: deps.clients,
      stateDir: deps.stateDir,
      log: this.#log,
      lease: this.#lease,
      pingCounts: this.#pingCounts,
      config: () => this.#config,
      subjects: () => [...this.#fleet.values()],
      unitsOf: (m) => this.#cmu.unitsOf(m).priced,
      requested: (metrics) => this.#overhead.recordGetMetricData(metrics),
      fs: deps.fs,
      readModels: deps.demandReadModels,
    });
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
    await this.#reconciler.load();
    // A stop during start-up's reads ends it: nothing is added, pinged or scheduled after it.
    if (this.#stopped) return;
    for (const model of config.models) {
      if (!this.#fleet.has(model.name)) this.#add(model);
    }
    logRateNeed(this.#log, config, this.#fleet.values(), clock.now(), "start");
    await Promise.all([...this.#fleet.values()].map((c) => this.#cmu.discover(c.model, c.log)));
    await this.#poller.backfill(this.#models());
    if (this.#stopped) return;
    for (const c of byUrgency([...this.#fleet.values()], clock.now())) c.start();
    await this.#lease.renew();
    if (this.#stopped) return;
    this.#cancels.push(
      clock.everyMinute(() => {
        void clock.track(this.#tick());
      }),
      clock.dailyAt("00:00", config.timezone, () => {
        void clock.track(this.#closeDay());
      }),
      clock.dailyAt("00:30", config.timezone, () => {
        void clock.track(this.#demand.daily(clock.now()));
      }),
    );
    void clock.track(this.#demand.read(clock.now(), false));
  }

  /**
   * Puts a new config into effect from this instant: unchanged models keep their state,
   * changed ones keep their counters and ModelCopy history but follow the new plan, new
   * ones start, removed ones stop. Logs what changed and how the projection moved.
   */
  async applyConfig(next: ResolvedConfig): Promise<void> {
    const now = this.#deps.clock.now();
    const before = this.#spend.projectionTotal(now, true);
    const running = new Map([...this.#fleet].map(([name, c]) => [name, c.model]));
    const diff = diffFleet(this.#config, running, next);
    this.#config = next;
    this.#reconciler.configure(reconcileEnabled(next));
    this.#pacer.retune(next.daemon.invokeRatePerSecond, next.daemon.invokeBurst);
    this.#learned.retain(new Set(next.models.map((m) => m.name)));
    for (const name of diff.removed) {
      this.#remove(name);
      this.#observer.modelRemoved?.(name);
    }
    for (const model of diff.replaced) this.#remove(model.name);
    const fresh = [...diff.added, ...diff.replaced].map((model) => this.#add(model));
    this.#polls.reloaded(now);
    for (const { model } of diff.kept) {
      this.#fleet.get(model.name)?.reconfigure(next, model);
      this.#book.replan(model.name);
    }
    // GetImportedModel only where the answer can differ: a storm of reloads asks nothing of unchanged models.
    const lookups = [
      ...fresh,
      ...diff.kept.flatMap(({ model }) =>
        this.#cmu.askAgain(model, running.get(model.name))
          ? (this.#fleet.get(model.name) ?? [])
          : [],
      ),
    ];
    await Promise.all(lookups.map((c) => this.#cmu.discover(c.model, c.log)));
    await this.#poller.backfill(fresh.map((c) => c.model));
    if (this.#started && !this.#stopped) for (const c of fresh) c.start();
    for (const name of this.#fleet.keys()) this.#book.replan(name);
    const after = this.#spend.projectionTotal(now, false);
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
    logRateNeed(this.#log, next, this.#fleet.values(), now, "reload");
    if (this.#started && !this.#stopped) {
      await this.#spend.checkBudgets(now, () => this.#stopped);
    }
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
    const finished = await settledWithin(inFlight, graceMs);
    if (!finished) {
      this.#log.warn(
        { event: "shutdown-grace-expired", graceMs, inFlightPings: inFlight.length },
        `in-flight pings outlived the ${graceMs} ms grace period; aborted`,
      );
      for (const c of this.#fleet.values()) c.abort();
    }
    // A day's summary still waiting for its last minutes is written with what is known.
    await this.#summaries.writeReady(true);
    await Promise.all([
      this.#summaries.flushed(),
      this.#budgets.flushed(),
      this.#reconciler.stop(),
      this.#learned.flush(),
      this.#pingCounts.flush(this.#deps.clock.now(), true),
    ]);
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
      demand: this.#demand.views(this.#fleet.keys()),
      overhead: this.#overhead.figures(now),
      reconciliation: this.#reconciler.status(),
      models: this.#spend.modelStatuses(now),
    };
  }

  /** The spend figures of one model at `now`. */
  spendOf(name: string, now: number = this.#deps.clock.now()): SpendFigures {
    return this.#spend.figures(name, now);
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
      copies: this.#spend.copiesOf(model.name),
    });
    this.#fleet.set(model.name, controller);
    this.#polls.added(model.name, clock.now());
    return controller;
  }

  #remove(name: string): void {
    this.#fleet.get(name)?.stop();
    this.#fleet.delete(name);
    this.#book.close(name);
    this.#cmu.forget(name);
    this.#poller.forget(name);
    this.#polls.forget(name);
    this.#spendLog.forget(name);
    this.#summaries.forget(name);
    this.#demand.forget(name);
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
    this.#spend.logMonthToDate(c, month, points.length, now);
  }

  #pointsRead(
    model: ModelConfig,
    copies: readonly CopyPoint[],
    invocations: readonly CopyPoint[],
    readFrom: number,
  ): void {
    const c = this.#running(model);
    if (!c || this.#stopped) return;
    this.#book.record(model.name, copies, this.#deps.clock.now());
    c.observe(copies, invocations, readFrom);
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
    const due = this.#polls.due(this.#fleet.values(), now, this.#poller, this.#summaries.readTo);
    const [, polledAll] = await Promise.all([
      Promise.all(cmuRetries),
      this.#poller.poll(due.models, now, due.intervalOf),
      this.#restoreChecks.run(
        this.#fleet.values(),
        this.#config.daemon.coldCallMetric ?? "InvocationThrottles",
        now,
      ),
    ]);
    if (this.#stopped) return;
    // Ready once a poll has been made for every region: the one still running sets it.
    if (polledAll) this.#firstReconcileDone = true;
    this.#spend.writeLines(now);
    void this.#deps.clock.track(this.#learned.flush());
    void this.#deps.clock.track(this.#pingCounts.flush(now));
    await this.#lease.renew();
    const asking = this.#reconciler.tick();
    if (asking) void this.#deps.clock.track(asking);
    if (this.#summaries.awaitingDisk) await this.#summaries.writeAwaiting(false);
    const summarised = await this.#summaries.writeReady();
    this.#clockJump.notice(now, this.#deps.clock.monotonic(), readFrom, summarised);
    if (!this.#stopped) await this.#spend.checkBudgets(now, () => this.#stopped);
  }

  async #closeDay(): Promise<void> {
    if (this.#stopped) return;
    await this.#summaries.closeDay();
  }
}
