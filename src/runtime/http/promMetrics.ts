import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { ApiCounts } from "../../domain/apiPrices.js";
import type {
  BudgetScope,
  DaemonObserver,
  OverheadGauges,
  PingResult,
  SpendGauges,
  TimingSeconds,
  UsageReconciled,
  WarmState,
} from "../infra/observer.js";

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
  /** The gauges labelled by model alone, removed together when a model leaves. */
  readonly #perModel: Gauge<"model">[] = [];

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
  readonly #monthToDate = this.#modelGauge(
    "keepwarm_month_to_date_usd",
    "Bill of the current UTC month so far in USD, from ModelCopy (compute only). Absent while the model's CMU count is unknown.",
  );
  readonly #alwaysOn = this.#modelGauge(
    "keepwarm_always_on_month_usd",
    "What the current UTC month would cost with the model warm around the clock, in USD (compute and storage).",
  );
  readonly #saving = this.#modelGauge(
    "keepwarm_saving_month_usd",
    "Always-on cost of the current UTC month minus its projection, in USD.",
  );
  readonly #inWindow = this.#modelGauge(
    "keepwarm_in_window",
    "1 while the model is inside one of its desired-warm windows (policy, overrides, holidays applied), else 0.",
  );
  readonly #planWarm = this.#modelGauge(
    "keepwarm_planned_warm",
    "1 while the plan keeps the model warm: a window, its lead time before, or the tail after its last ping; else 0.",
  );
  readonly #cadence = this.#modelGauge(
    "keepwarm_cadence_seconds",
    "Interval between keep-alive pings inside a window that the plan uses now (learned, configured or assumed).",
  );
  readonly #leadTime = this.#modelGauge(
    "keepwarm_lead_time_seconds",
    "How long before a window opens the first ping goes out, as the plan uses it now.",
  );
  readonly #eviction = this.#modelGauge(
    "keepwarm_eviction_delay_seconds",
    "Idle time after the last call before Bedrock unloads the model, as the plan uses it now (the shortest measured, once measured).",
  );
  readonly #restoreTime = this.#modelGauge(
    "keepwarm_restore_time_seconds",
    "Restore time the plan allows for before a window opens (the longest measured, once measured).",
  );
  readonly #lastPingOk = this.#modelGauge(
    "keepwarm_last_ping_success_timestamp_seconds",
    "Unix time of the model's last successful keep-alive ping.",
  );
  readonly #copyDatapoint = this.#modelGauge(
    "keepwarm_model_copy_datapoint_timestamp_seconds",
    "Unix time of the start of the newest ModelCopy datapoint read for the model; stale when CloudWatch stops publishing or cannot be read.",
  );
  readonly #windowsOpened = new Counter({
    name: "keepwarm_windows_opened_total",
    help: "Desired-warm windows that opened, by whether a copy was up at their first minute (warm=true) or users met a cold model (warm=false).",
    labelNames: ["model", "warm"] as const,
    registers: [this.registry],
  });
  readonly #awsErrors = new Counter({
    name: "keepwarm_aws_errors_total",
    help: "Failed AWS calls by operation (bedrock:InvokeModel, cloudwatch:GetMetricData, bedrock:GetImportedModel), AWS error name and kind as keepwarm classifies it (not-ready, throttled, unavailable, denied, invalid, model-error).",
    labelNames: ["operation", "error", "kind"] as const,
    registers: [this.registry],
  });
  readonly #budget = new Gauge({
    name: "keepwarm_budget_usd",
    help: "Monthly budget in USD from the configuration, per model (scope=model) or for the whole fleet (scope=fleet).",
    labelNames: ["scope", "model"] as const,
    registers: [this.registry],
  });
  readonly #budgetProjected = new Gauge({
    name: "keepwarm_budget_projected_usd",
    help: "The projected month the budget of the same labels is held against, in USD.",
    labelNames: ["scope", "model"] as const,
    registers: [this.registry],
  });

  readonly #reconcileAws = this.#usageGauge(
    "keepwarm_reconcile_aws_usd",
    "AWS's bill (Cost Explorer UnblendedCost) for the usage type on its newest final UTC day, in USD.",
  );
  readonly #reconcileKeepwarm = this.#usageGauge(
    "keepwarm_reconcile_keepwarm_usd",
    "keepwarm's figure for the usage type on the same day, in USD. Absent where it is unknown (a CMU count, or imports the config does not name).",
  );
  readonly #reconcileMismatchDays = this.#usageGauge(
    "keepwarm_reconcile_mismatch_days",
    "Final UTC days in a row, up to the newest, on which AWS's bill and keepwarm's figure for the usage type differ by more than 2% and $0.50; 0 after a match.",
  );
  readonly #reconcileDay = this.#usageGauge(
    "keepwarm_reconcile_day_timestamp_seconds",
    "Unix time of 00:00 UTC of the day the usage type's reconcile figures are for.",
  );

  readonly #metricsRequested = new Counter({
    name: "keepwarm_cloudwatch_metrics_requested_total",
    help: "CloudWatch GetMetricData metrics requested by keepwarm (one per query of each call): what CloudWatch bills, $0.01 per 1,000.",
    registers: [this.registry],
  });
  readonly #costExplorerRequests = new Counter({
    name: "keepwarm_cost_explorer_requests_total",
    help: "Cost Explorer requests made by keepwarm ($0.01 each).",
    registers: [this.registry],
  });
  readonly #overheadMonthToDate = new Gauge({
    name: "keepwarm_overhead_month_to_date_usd",
    help: "keepwarm's own AWS cost this UTC month in USD (GetMetricData metrics, Cost Explorer and ListMetrics requests), counted since the daemon started or the month began.",
    registers: [this.registry],
  });
  readonly #overheadProjected = new Gauge({
    name: "keepwarm_overhead_projected_month_usd",
    help: "keepwarm's own AWS cost projected for the UTC month in USD, at the rate counted so far. Absent in the first hour.",
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

  spend(model: string, f: SpendGauges): void {
    setOrRemove(this.#monthToDate, model, f.monthToDateUsd);
    setOrRemove(this.#alwaysOn, model, f.alwaysOnMonthUsd);
    setOrRemove(this.#saving, model, f.savingUsd);
  }

  planState(
    model: string,
    state: { readonly inWindow: boolean; readonly planWarm: boolean },
  ): void {
    this.#inWindow.set({ model }, state.inWindow ? 1 : 0);
    this.#planWarm.set({ model }, state.planWarm ? 1 : 0);
  }

  timings(model: string, t: TimingSeconds): void {
    // Set when a model starts: both opening series exist at 0 before its first window, so
    // increase() counts a first opening that was cold.
    for (const warm of ["true", "false"]) this.#windowsOpened.inc({ model, warm }, 0);
    this.#cadence.set({ model }, t.cadenceSeconds);
    this.#leadTime.set({ model }, t.leadTimeSeconds);
    this.#eviction.set({ model }, t.evictionDelaySeconds);
    this.#restoreTime.set({ model }, t.restoreSeconds);
  }

  pingOkAt(model: string, at: number): void {
    this.#lastPingOk.set({ model }, at / 1000);
  }

  copyDatapointAt(model: string, at: number): void {
    this.#copyDatapoint.set({ model }, at / 1000);
  }

  windowOpened(model: string, warm: boolean): void {
    this.#windowsOpened.inc({ model, warm: String(warm) });
  }

  awsError(operation: string, errorName: string, kind: string): void {
    this.#awsErrors.inc({ operation, error: errorName, kind });
  }

  budget(scope: BudgetScope, budgetUsd: number, projectedMonthUsd: number | undefined): void {
    const labels = budgetLabels(scope);
    this.#budget.set(labels, budgetUsd);
    if (projectedMonthUsd === undefined) this.#budgetProjected.remove(labels);
    else this.#budgetProjected.set(labels, projectedMonthUsd);
  }

  budgetRemoved(scope: BudgetScope): void {
    const labels = budgetLabels(scope);
    this.#budget.remove(labels);
    this.#budgetProjected.remove(labels);
  }

  usageReconciled(u: UsageReconciled): void {
    const labels = { usage_type: u.usageType };
    this.#reconcileDay.set(labels, u.dayStart / 1000);
    this.#reconcileMismatchDays.set(labels, u.mismatchDays);
    setOrRemoveUsage(this.#reconcileAws, u.usageType, u.awsUsd);
    setOrRemoveUsage(this.#reconcileKeepwarm, u.usageType, u.keepwarmUsd);
  }

  usageForgotten(usageType: string): void {
    const labels = { usage_type: usageType };
    for (const gauge of [
      this.#reconcileAws,
      this.#reconcileKeepwarm,
      this.#reconcileMismatchDays,
      this.#reconcileDay,
    ]) {
      gauge.remove(labels);
    }
  }

  #usageGauge(name: string, help: string): Gauge<"usage_type"> {
    return new Gauge({
      name,
      help,
      labelNames: ["usage_type"] as const,
      registers: [this.registry],
    });
  }

  billedCalls(calls: ApiCounts): void {
    this.#metricsRequested.inc(calls.metricsRequested);
    this.#costExplorerRequests.inc(calls.costExplorerRequests);
  }

  overhead(g: OverheadGauges): void {
    this.#overheadMonthToDate.set(g.monthToDateUsd);
    // Unknown in the first hour: no series, not a misleading 0.
    if (g.projectedMonthUsd === undefined) this.#overheadProjected.remove();
    else this.#overheadProjected.set(g.projectedMonthUsd);
  }

  #modelGauge(name: string, help: string): Gauge<"model"> {
    const gauge = new Gauge({
      name,
      help,
      labelNames: ["model"] as const,
      registers: [this.registry],
    });
    this.#perModel.push(gauge);
    return gauge;
  }

  modelRemoved(model: string): void {
    for (const result of PING_RESULTS) this.#pings.remove({ model, result });
    for (const state of WARM_STATES) this.#warmState.remove({ model, state });
    this.#coldStarts.remove({ model });
    this.#restore.remove({ model });
    this.#copies.remove({ model });
    this.#projected.remove({ model });
    for (const gauge of this.#perModel) gauge.remove({ model });
    for (const warm of ["true", "false"]) this.#windowsOpened.remove({ model, warm });
    this.budgetRemoved({ scope: "model", model });
  }
}

function setOrRemove(gauge: Gauge<"model">, model: string, value: number | undefined): void {
  // An unknown figure is no series at all, not a misleading 0.
  if (value === undefined) gauge.remove({ model });
  else gauge.set({ model }, value);
}

function setOrRemoveUsage(
  gauge: Gauge<"usage_type">,
  usageType: string,
  value: number | undefined,
): void {
  if (value === undefined) gauge.remove({ usage_type: usageType });
  else gauge.set({ usage_type: usageType }, value);
}

function budgetLabels(scope: BudgetScope): { scope: string; model: string } {
  return scope.scope === "fleet"
    ? { scope: "fleet", model: "" }
    : { scope: "model", model: scope.model };
}
