import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { DaemonObserver, PingResult, WarmState } from "./observer.js";

/** Every value of the unions, checked by the compiler, to zero and remove whole label sets. */
const PING_RESULTS = Object.keys({
  ok: true,
  "not-ready": true,
  throttled: true,
  unavailable: true,
  rejected: true,
} satisfies Record<PingResult, true>) as PingResult[];
const WARM_STATES = Object.keys({
  warm: true,
  cold: true,
  unknown: true,
} satisfies Record<WarmState, true>) as WarmState[];

/** Restores take tens of seconds to a few minutes (AWS: "within 5 minutes"); 10 min is the give-up. */
const RESTORE_BUCKETS_S = [15, 30, 45, 60, 75, 90, 120, 150, 180, 240, 300, 450, 600];

export interface PromMetricsOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC); on unless turned off. */
  readonly processMetrics?: boolean;
}

/**
 * The daemon's observations as Prometheus metrics, in a registry of its own so that two
 * daemons (or tests) in one process never share counters.
 */
export class PromMetrics implements DaemonObserver {
  readonly registry = new Registry();

  readonly #pings = new Counter({
    name: "keepwarm_pings_total",
    help: "InvokeModel requests sent for keep-alive pings, by model and result (ok, not-ready, throttled, unavailable, rejected).",
    labelNames: ["model", "result"] as const,
    registers: [this.registry],
  });
  readonly #coldStarts = new Counter({
    name: "keepwarm_cold_starts_total",
    help: "Cold starts met: a ping answered ModelNotReadyException and the model had to be restored.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly #restore = new Histogram({
    name: "keepwarm_restore_seconds",
    help: "Measured restore time of a cold start, from the first ModelNotReadyException to the first successful ping.",
    labelNames: ["model"] as const,
    buckets: RESTORE_BUCKETS_S,
    registers: [this.registry],
  });
  readonly #copies = new Gauge({
    name: "keepwarm_model_copies",
    help: "Running copies of the model as last read from CloudWatch ModelCopy.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly #warmState = new Gauge({
    name: "keepwarm_warm_state",
    help: "Observed state of the model: 1 on the series of the current state (warm, cold, unknown), 0 on the others.",
    labelNames: ["model", "state"] as const,
    registers: [this.registry],
  });
  readonly #projected = new Gauge({
    name: "keepwarm_projected_month_usd",
    help: "Projected bill of the current UTC month in USD: month to date plus the plan for the rest plus storage. Absent while the model's CMU count is unknown.",
    labelNames: ["model"] as const,
    registers: [this.registry],
  });
  readonly #reloadSuccess = new Gauge({
    name: "keepwarm_config_reload_success",
    help: "1 if the last configuration (re)load was applied, 0 if it was rejected and the previous configuration kept.",
    registers: [this.registry],
  });
  readonly #reloadTime = new Gauge({
    name: "keepwarm_config_last_reload_timestamp_seconds",
    help: "Unix time of the last configuration (re)load attempt, applied or rejected.",
    registers: [this.registry],
  });
  readonly #reloadSuccessTime = new Gauge({
    name: "keepwarm_config_last_reload_success_timestamp_seconds",
    help: "Unix time of the last configuration (re)load that was applied.",
    registers: [this.registry],
  });
  readonly #reloads = new Counter({
    name: "keepwarm_config_reloads_total",
    help: "Configuration (re)load attempts, by result (applied, rejected).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor(options: PromMetricsOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  pingResult(model: string, result: PingResult): void {
    this.#pings.inc({ model, result });
  }

  coldStart(model: string): void {
    this.#coldStarts.inc({ model });
  }

  restoreSeconds(model: string, seconds: number): void {
    this.#restore.observe({ model }, seconds);
  }

  modelCopies(model: string, copies: number): void {
    this.#copies.set({ model }, copies);
  }

  warmState(model: string, state: WarmState): void {
    for (const s of WARM_STATES) this.#warmState.set({ model, state: s }, s === state ? 1 : 0);
  }

  projectedMonthUsd(model: string, usd: number | undefined): void {
    // An unknown projection is no series at all, not a misleading 0.
    if (usd === undefined) this.#projected.remove({ model });
    else this.#projected.set({ model }, usd);
  }

  configReload(ok: boolean, at: number): void {
    const seconds = at / 1000;
    this.#reloadSuccess.set(ok ? 1 : 0);
    this.#reloadTime.set(seconds);
    if (ok) this.#reloadSuccessTime.set(seconds);
    this.#reloads.inc({ result: ok ? "applied" : "rejected" });
  }

  modelRemoved(model: string): void {
    for (const result of PING_RESULTS) this.#pings.remove({ model, result });
    for (const state of WARM_STATES) this.#warmState.remove({ model, state });
    this.#coldStarts.remove({ model });
    this.#restore.remove({ model });
    this.#copies.remove({ model });
    this.#projected.remove({ model });
  }
}
