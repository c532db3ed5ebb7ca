import type { Interval } from "../domain/interval.js";
import type { ResolvedConfig } from "../domain/types.js";
import type { Logger } from "../runtime/infra/logger.js";
import type { FaultSpec, SimModelSpec, SimSettings } from "../sim/index.js";

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
  /** Successful keep-alive pings in the month (users' calls not counted). */
  readonly invocations: number;
  /** Calls of the model's users (the sim config's `traffic`) in the month; 0 without users. */
  readonly userCalls: number;
  /** Of those, the ones answered ModelNotReadyException (or throttled): users who met a cold model. */
  readonly userColdCalls: number;
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
  /** The CMU version the simulator reports, which selects the price. */
  readonly cmuVersion: string;
  /** The price of that version in the model's region, from keepwarm's config. */
  readonly usdPerCmuMinute: number;
  readonly keepwarm: KeepwarmResult;
  readonly cron: ScenarioResult;
  readonly alwaysOn: ScenarioResult;
}

export interface MonthSimulation {
  readonly month: string;
  readonly range: Interval;
  readonly models: readonly ModelSimulation[];
  /** keepwarm's own CloudWatch reads in the keepwarm run, over the range. */
  readonly overhead: SimulatedOverhead;
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

/**
 * The daemon's GetMetricData calls in the keepwarm run: it reads CloudWatch by its own rule
 * (every minute while something can change, every 5 or 15 otherwise), as `keepwarm run` does.
 */
export interface SimulatedOverhead {
  readonly getMetricDataCalls: number;
  readonly metricsRequested: number;
  /** Metrics requested per model per minute of the range. */
  readonly metricsPerModelMinute: number;
  /** What CloudWatch bills for them ($0.01 per 1,000 metrics requested). */
  readonly usd: number;
}

/** One run's figures for a model, with the daemon's projections (none in a baseline). */
export type ScenarioOutcome = ScenarioResult & {
  readonly projectedUsd: number | undefined;
  readonly dailyProjectedUsd: readonly (number | undefined)[];
};

/** Something that keeps models warm on the virtual clock until stopped. */
export interface Driver {
  start(): Promise<void>;
  stop(): Promise<void>;
}
