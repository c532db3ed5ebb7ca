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
