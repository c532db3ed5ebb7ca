import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegionClientPool } from "../aws/clients.js";
import { type Interval, intersectInterval } from "../domain/interval.js";
import { planModel } from "../domain/plan.js";
import { seededRandom } from "../domain/random.js";
import { monthRange } from "../domain/spend.js";
import { initialTimings, TIMING_RULES } from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../domain/units.js";
import { zoneOffsetMs } from "../domain/zone.js";
import { type RuntimeClock, repeatAt, VirtualClock } from "../runtime/infra/clock.js";
import { createLogger, type Logger } from "../runtime/infra/logger.js";
import { type DaemonObserver, noopObserver } from "../runtime/infra/observer.js";
import { Daemon } from "../runtime/keep/daemon.js";
import {
  type EvictionSettings,
  type FaultSpec,
  InProcessSimHandler,
  type SimModelSpec,
  type SimSettings,
  Simulator,
  shortestIdleMs,
} from "../sim/index.js";

/** Minutes past the hour of the article's cron, `*\/14`. */
const CRON_MINUTES = new Set([0, 14, 28, 42, 56]);
/** Credentials the simulator accepts; it checks that requests are signed, not by whom. */
const SIM_CREDENTIALS = { accessKeyId: "AKIDSIMULATE", secretAccessKey: "simulated" };

const IN_PROCESS_ENDPOINT = "http://127.0.0.1:1";

/** How a model was kept warm in one simulated month. */
export type Scenario = "keepwarm" | "cron" | "alwaysOn";

/** What one way of keeping a model warm gave over the month, from the simulator's view. */
export interface ScenarioResult {
  /** Minutes of the model's policy windows inside the month. */
  readonly windowMinutes: number;
  /** Of those, minutes at whose start a user's call would have been answered (a copy up). */
  readonly coveredMinutes: number;
  readonly coveragePct: number;
  /** Stretches of window minutes in which the model was not warm, each a cold start a user met. */
  readonly coldStartsInWindows: number;
  /** Successful InvokeModel calls in the month (keep-alive pings). */
  readonly invocations: number;
  /** Copy-minutes billed in the month, from the simulator's ledger. */
  readonly billedMinutes: number;
  /** `billedMinutes` x CMU x the model's price per CMU-minute. */
  readonly computeUsd: number;
  /** A month of model storage, the same in every scenario. */
  readonly storageUsd: number;
  readonly totalUsd: number;
}

export interface KeepwarmResult extends ScenarioResult {
  /** The daemon's projection of the month's total at its first minute (month to date 0 + plan + storage). */
  readonly projectedUsd: number | undefined;
  /**
   * The projection at the first minute of each UTC day of the range, in order (undefined for
   * a day the daemon logged none): how it follows the bill as the month goes on.
   */
  readonly dailyProjectedUsd: readonly (number | undefined)[];
  /** (projection - ledger total) / ledger total, in percent; undefined for part of a month. */
  readonly projectionErrorPct: number | undefined;
}

export interface ModelSimulation {
  readonly model: string;
  readonly policy: string;
  readonly region: string;
  readonly cmu: number;
  readonly keepwarm: KeepwarmResult;
  readonly cron: ScenarioResult;
  readonly alwaysOn: ScenarioResult;
}

export interface MonthSimulation {
  readonly month: string;
  readonly range: Interval;
  readonly models: readonly ModelSimulation[];
  /** Virtual minutes between two ModelCopy reads of the daemon. */
  readonly pollMinutes: number;
  /** Real time the three runs took, in total and each. */
  readonly elapsedMs: number;
  readonly scenarioMs: Readonly<Record<Scenario, number>>;
}

export interface SimulateOptions {
  readonly config: ResolvedConfig;
  /** "2026-12": a UTC calendar month, as AWS bills. */
  readonly month: string;
  /** Only the month's first `days` days (a quick what-if); the whole month when omitted. */
  readonly days?: number;
  /** Simulator settings (restore time, eviction delay...); the reference defaults otherwise. */
  readonly sim?: Partial<SimSettings>;
  /**
   * Simulated models from a sim config (`--sim-config`): one with the ARN of a configured
   * model gives it its CMU and its own restore and eviction. Others are not simulated.
   */
  readonly simModels?: readonly SimModelSpec[];
  /** Scripted faults, the same in each of the three runs. */
  readonly faults?: readonly FaultSpec[];
  /** CMU of a model whose config leaves it out (the simulator must serve some number). */
  readonly defaultCmu?: number;
  /**
   * Virtual time run before the month, so that the month starts in the state a running
   * daemon would have it in (a window open at midnight on the 1st is already warm).
   */
  readonly prerollMs?: number;
  /**
   * How often, in virtual minutes, the daemon reads ModelCopy and projects spend (its
   * minute job). The daemon does it every minute; each read is a GetMetricData over the
   * wire per region, which is most of a month's run time. Without faults the pings, and so
   * every figure, are the same at 5 (checked in docs/operations.md); 1 is the daemon as it runs.
   */
  readonly pollMinutes?: number;
  /**
   * Makes the daemon's log from the virtual clock's `now`, so each line carries the
   * simulated instant it was logged at (`createLogger({ now, ... })`); silent when omitted.
   */
  readonly logger?: (now: () => number) => Logger;
  /**
   * What carries the daemon's SDK requests to the simulator: handed to its dispatch in
   * process (the default), or over a loopback socket (h2c and HTTP/1.1) as `keepwarm sim`
   * serves them. Both run the same SDK clients and give the same figures.
   */
  readonly transport?: SimulateTransport;
  /** Told at the end of each simulated day of each run (preroll included). */
  readonly onProgress?: (progress: SimulateProgress) => void;
}

export interface SimulateProgress {
  readonly scenario: Scenario;
  /** Days simulated so far in this run and in all of it, preroll included. */
  readonly day: number;
  readonly days: number;
}

export type SimulateTransport = "inProcess" | "socket";

export const DEFAULT_SIMULATE_POLL_MINUTES = 5;

/**
 * Runs one month three times on virtual time, each against a simulator of its own:
 * keepwarm's real daemon over the wire, the article's cron (a ping at minutes 0, 14, 28, 42
 * and 56 of every hour inside a window, no retry) and always-on (a ping every 14 minutes around
 * the clock, cold starts ridden out). Coverage is what a user would have met: each minute
 * of each window, is a copy up?
 */
export async function simulateMonth(options: SimulateOptions): Promise<MonthSimulation> {
  const startedAt = performance.now();
  const month = monthRange(options.month);
  const days = options.days;
  if (days !== undefined && (!Number.isInteger(days) || days < 1)) {
    throw new RangeError(`days must be a whole number of at least 1, got ${days}`);
  }
  const range =
    days === undefined
      ? month
      : { start: month.start, end: Math.min(month.end, month.start + days * DAY_MS) };
  const prerollMs = options.prerollMs ?? DAY_MS;
  const pollMinutes = options.pollMinutes ?? DEFAULT_SIMULATE_POLL_MINUTES;
  if (!Number.isInteger(pollMinutes) || pollMinutes < 1 || pollMinutes > 5) {
    // Each poll reads the last 10 minutes and a datapoint is readable 3 minutes after its
    // minute starts: 5 minutes between polls misses none, with a margin.
    throw new RangeError(`pollMinutes must be an integer from 1 to 5, got ${pollMinutes}`);
  }
  const stateDir = await mkdtemp(join(tmpdir(), "keepwarm-simulate-"));
  try {
    const models = options.config.models;
    const simSpecs = new Map((options.simModels ?? []).map((m) => [m.modelArn, m]));
    const cmuOf = (m: ModelConfig) =>
      simSpecs.get(m.modelArn)?.customModelUnits ?? m.customModelUnits ?? options.defaultCmu ?? 4;
    const windows = new Map(models.map((m) => [m.name, windowsInMonth(options.config, m, range)]));
    const run = (scenario: Scenario) =>
      runScenario({
        ...options,
        scenario,
        range,
        prerollMs,
        pollMinutes,
        stateDir,
        cmuOf,
        simSpecs,
        windows,
      });
    const keepwarm = await run("keepwarm");
    const cron = await run("cron");
    const alwaysOn = await run("alwaysOn");
    return {
      month: options.month,
      range,
      pollMinutes,
      elapsedMs: Math.round(performance.now() - startedAt),
      scenarioMs: { keepwarm: keepwarm.ms, cron: cron.ms, alwaysOn: alwaysOn.ms },
      models: models.map((m) => {
        const kw = keepwarm.results.get(m.name) as ScenarioOutcome;
        return {
          model: m.name,
          policy: m.policy,
          region: m.region,
          cmu: cmuOf(m),
          keepwarm: {
            ...kw,
            // The projection is of the whole month: a ledger of its first days is no check of it.
            projectionErrorPct:
              range.end < month.end ? undefined : projectionErrorPct(kw.projectedUsd, kw.totalUsd),
          },
          cron: withoutProjection(cron.results.get(m.name) as ScenarioOutcome),
          alwaysOn: withoutProjection(alwaysOn.results.get(m.name) as ScenarioOutcome),
        };
      }),
    };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** (projection - ledger) / ledger, in percent; undefined without a projection or a bill. */
export function projectionErrorPct(
  projectedUsd: number | undefined,
  ledgerUsd: number,
): number | undefined {
  if (projectedUsd === undefined || ledgerUsd === 0) return undefined;
  return ((projectedUsd - ledgerUsd) / ledgerUsd) * 100;
}

/** The model's desired-warm windows clipped to the month. */
function windowsInMonth(config: ResolvedConfig, model: ModelConfig, range: Interval): Interval[] {
  return planModel(config, model, range, initialTimings(model))
    .windows.map((w) => intersectInterval(w, range))
    .filter((w): w is Interval => w !== undefined);
}

function withoutProjection(outcome: ScenarioOutcome): ScenarioResult {
  const { projectedUsd: _, dailyProjectedUsd: __, ...result } = outcome;
  return result;
}

type ScenarioOutcome = ScenarioResult & {
  readonly projectedUsd: number | undefined;
  readonly dailyProjectedUsd: readonly (number | undefined)[];
};

interface ScenarioInput extends SimulateOptions {
  readonly scenario: Scenario;
  readonly range: Interval;
  readonly prerollMs: number;
  readonly pollMinutes: number;
  readonly stateDir: string;
  readonly cmuOf: (m: ModelConfig) => number;
  readonly simSpecs: ReadonlyMap<string, SimModelSpec>;
  readonly windows: ReadonlyMap<string, readonly Interval[]>;
}

/** Something that keeps models warm on the virtual clock until stopped. */
interface Driver {
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function runScenario(
  input: ScenarioInput,
): Promise<{ results: Map<string, ScenarioOutcome>; ms: number }> {
  const { config, range, scenario } = input;
  const startedAt = performance.now();
  const clock = new VirtualClock(range.start - input.prerollMs);
  const sim = new Simulator({
    clock,
    settings: input.sim ?? {},
    models: config.models.map((m) => ({
      ...input.simSpecs.get(m.modelArn),
      modelArn: m.modelArn,
      customModelUnits: input.cmuOf(m),
    })),
  });
  for (const fault of input.faults ?? []) sim.faults.add(fault);
  const projections = new Map<string, number | undefined>();
  const rangeDays = Math.ceil((range.end - range.start) / DAY_MS);
  const daily = new Map<string, (number | undefined)[]>();
  const observer: DaemonObserver = {
    ...noopObserver,
    projectedMonthUsd(model, usd) {
      const now = clock.now();
      if (now < range.start || now >= range.end) return;
      if (!projections.has(model)) projections.set(model, usd);
      let byDay = daily.get(model);
      if (!byDay) {
        byDay = Array.from({ length: rangeDays }, () => undefined);
        daily.set(model, byDay);
      }
      const day = Math.floor((now - range.start) / DAY_MS);
      if (byDay[day] === undefined) byDay[day] = usd;
    },
  };
  let driver: Driver;
  if (scenario === "keepwarm") {
    const server = input.transport === "socket" ? await sim.listen() : undefined;
    const clients = new RegionClientPool({
      // The in-process handler never connects; the endpoint only names the host to sign for.
      endpoint: server?.url ?? IN_PROCESS_ENDPOINT,
      credentials: SIM_CREDENTIALS,
      // A month is ~90,000 calls of the same few commands: the stacks are resolved once.
      cacheMiddleware: true,
      // A retried call still answers at the virtual instant it was made: no real backoff.
      retryBackoffMs: 0,
      ...(server ? {} : { requestHandler: new InProcessSimHandler(sim) }),
    });
    const logger = input.logger?.(() => clock.now()) ?? createLogger({ level: "silent" });
    const daemon = new Daemon(config, {
      clock: input.pollMinutes === 1 ? clock : sparseMinuteClock(clock, input.pollMinutes),
      logger,
      clients,
      stateDir: input.stateDir,
      observer,
      simulated: true,
      // Retry jitter from the simulator's seed: the same run gives the same figures.
      random: seededRandom(sim.settings.seed),
    });
    driver = {
      start: () => daemon.start(),
      async stop() {
        await daemon.stop({ graceMs: 1_000 });
        clients.destroy();
        await server?.close();
      },
    };
  } else {
    driver = new Pinger(clock, sim, config.models, (m) =>
      scenario === "cron" ? cronInstants(config, m, clock.now(), range.end) : undefined,
    );
  }
  const firstDay = clock.now();
  const days = Math.ceil((range.end - firstDay) / DAY_MS);
  try {
    await driver.start();
    for (let day = 1; day <= days; day++) {
      await clock.runUntil(Math.min(firstDay + day * DAY_MS, range.end));
      input.onProgress?.({ scenario, day, days });
    }
    const ledger = sim.ledger(range);
    const results = new Map<string, ScenarioOutcome>();
    for (const m of config.models) {
      const billed = ledger.models.find((l) => l.modelArn === m.modelArn);
      const cmu = input.cmuOf(m);
      const billedMinutes = billed?.billedMinutes ?? 0;
      const computeUsd = billedMinutes * cmu * m.price.usdPerCmuMinute;
      const storageUsd = cmu * m.price.storageUsdPerCmuMonth;
      const cov = coverageOf(input.windows.get(m.name) ?? [], sim.warmSpans(m.modelArn));
      results.set(m.name, {
        windowMinutes: cov.windowMinutes,
        coveredMinutes: cov.coveredMinutes,
        coveragePct: cov.windowMinutes === 0 ? 100 : (cov.coveredMinutes / cov.windowMinutes) * 100,
        coldStartsInWindows: cov.coldStretches,
        invocations: sim.invokeCount(m.modelArn, range),
        billedMinutes,
        computeUsd,
        storageUsd,
        totalUsd: computeUsd + storageUsd,
        projectedUsd: projections.get(m.name),
        dailyProjectedUsd: daily.get(m.name) ?? Array.from({ length: rangeDays }, () => undefined),
      });
    }
    return { results, ms: Math.round(performance.now() - startedAt) };
  } finally {
    await driver.stop();
  }
}

interface Coverage {
  readonly windowMinutes: number;
  readonly coveredMinutes: number;
  readonly coldStretches: number;
}

/**
 * Each minute inside `windows` (sorted, disjoint): was a copy up at its start, so that a
 * user's call would have been answered? Counted after the run from the simulator's warm
 * spans (its state is a function of the calls), rather than sampled by a timer per model
 * per minute; cold stretches are runs of window minutes without a copy up.
 */
export function coverageOf(
  windows: readonly Interval[],
  warm: readonly { readonly start: number; readonly end: number | undefined }[],
): Coverage {
  let windowMinutes = 0;
  let coveredMinutes = 0;
  let coldStretches = 0;
  let lastColdAt: number | undefined;
  let i = 0;
  for (const w of windows) {
    for (let t = Math.ceil(w.start / MINUTE_MS) * MINUTE_MS; t < w.end; t += MINUTE_MS) {
      while (i < warm.length && (warm[i]?.end ?? Number.POSITIVE_INFINITY) <= t) i++;
      const span = warm[i];
      windowMinutes++;
      if (span && span.start <= t) {
        coveredMinutes++;
        continue;
      }
      if (lastColdAt !== t - MINUTE_MS) coldStretches++;
      lastColdAt = t;
    }
  }
  return { windowMinutes, coveredMinutes, coldStretches };
}

/**
 * The virtual clock with the minute job run every `n` minutes (at multiples of n since
 * the epoch, so month boundaries are among them).
 */
function sparseMinuteClock(clock: VirtualClock, n: number): RuntimeClock {
  const step = n * MINUTE_MS;
  return {
    now: () => clock.now(),
    setTimer: (at, fn) => clock.setTimer(at, fn),
    monotonic: () => clock.monotonic(),
    after: (ms, fn) => clock.after(ms, fn),
    dailyAt: (hhmm, zone, fn) => clock.dailyAt(hhmm, zone, fn),
    track: (work) => clock.track(work),
    everyMinute: (fn) =>
      repeatAt(
        (at, f) => clock.setTimer(at, f),
        () => Math.floor(clock.now() / step) * step + step,
        fn,
      ),
  };
}

/**
 * The article's cron over [from, to): a ping at minutes 0, 14, 28, 42 and 56 of every
 * hour inside a window, in the zone of the model's policy.
 */
export function cronInstants(
  config: ResolvedConfig,
  model: ModelConfig,
  from: number,
  to: number,
): number[] {
  const plan = planModel(config, model, { start: from, end: to }, initialTimings(model));
  const instants: number[] = [];
  for (const w of plan.windows) {
    const first = Math.ceil(Math.max(w.start, from) / MINUTE_MS) * MINUTE_MS;
    const last = Math.min(w.end, to);
    if (first >= last) continue;
    // One offset for the whole window unless it spans a DST change: 100 models' month is
    // over a million minutes, too many to build a zoned date for each.
    const offset = zoneOffsetMs(plan.timezone, first);
    const fixed = offset === zoneOffsetMs(plan.timezone, last - 1);
    for (let t = first; t < last; t += MINUTE_MS) {
      const local = t + (fixed ? offset : zoneOffsetMs(plan.timezone, t));
      const minute = Math.floor((((local % HOUR_MS) + HOUR_MS) % HOUR_MS) / MINUTE_MS);
      if (CRON_MINUTES.has(minute)) instants.push(t);
    }
  }
  return instants;
}

/**
 * A baseline keep-alive outside keepwarm. With a list of instants it is the article's
 * cron: one request each, whatever the answer. Without, it is always-on: a request a minute
 * before the simulated idle rule could unload the copy (`alwaysOnCadence`) around the clock,
 * and every 5 s while the model is restoring, so the copy stays up and the month is billed
 * whole. Baselines call
 * the simulator in process: they are references, not the code under test, and the SDK
 * would open a connection per request for them.
 */
class Pinger implements Driver {
  readonly #clock: VirtualClock;
  readonly #sim: Simulator;
  readonly #models: readonly ModelConfig[];
  readonly #instantsOf: (m: ModelConfig) => number[] | undefined;
  /** The pending timer of each model. */
  readonly #cancels = new Map<string, () => void>();
  #stopped = false;

  constructor(
    clock: VirtualClock,
    sim: Simulator,
    models: readonly ModelConfig[],
    instantsOf: (m: ModelConfig) => number[] | undefined,
  ) {
    this.#clock = clock;
    this.#sim = sim;
    this.#models = models;
    this.#instantsOf = instantsOf;
  }

  async start(): Promise<void> {
    for (const m of this.#models) {
      const instants = this.#instantsOf(m);
      if (instants) this.#scheduleList(m, instants, 0);
      else this.#scheduleAt(m, this.#clock.now());
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const cancel of this.#cancels.values()) cancel();
    this.#cancels.clear();
  }

  #scheduleList(m: ModelConfig, instants: readonly number[], i: number): void {
    const at = instants[i];
    if (at === undefined || this.#stopped) return;
    this.#cancels.set(
      m.name,
      this.#clock.setTimer(at, () => {
        this.#sim.invokeModel(m.modelArn, JSON.stringify(m.request));
        this.#scheduleList(m, instants, i + 1);
      }),
    );
  }

  #scheduleAt(m: ModelConfig, at: number): void {
    if (this.#stopped) return;
    this.#cancels.set(
      m.name,
      this.#clock.setTimer(at, () => {
        const now = this.#clock.now();
        const answer = this.#sim.invokeModel(m.modelArn, JSON.stringify(m.request));
        const restoring = answer.kind === "error" && answer.error.type === "ModelNotReadyException";
        const cadence = alwaysOnCadence(
          this.#sim.settingsOf(m.modelArn),
          this.#sim.faults.evictionOverride(m.modelArn, now),
        );
        this.#scheduleAt(m, restoring ? now + 5_000 : now + cadence);
      }),
    );
  }
}

/**
 * The always-on baseline's keep-alive under the simulated rule: a minute less than the
 * shortest idle time it allows (after a call at the end of its billing window under the
 * window rule, or `scriptedIdleMs` when an `evictAfter` fault sets it for a call now), within
 * the bounds of an auto cadence (1 to 14 minutes). It is a reference that knows the rule;
 * keepwarm has to measure it.
 */
export function alwaysOnCadence(s: EvictionSettings, scriptedIdleMs?: number): number {
  const { cadenceCeilingMs, cadenceFloorMs } = TIMING_RULES;
  const idleMs = scriptedIdleMs ?? shortestIdleMs(s);
  return Math.min(cadenceCeilingMs, Math.max(cadenceFloorMs, idleMs - MINUTE_MS));
}
