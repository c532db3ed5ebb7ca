import type { ApiCounts } from "../../domain/apiPrices.js";

/** How a keep-alive ping ended, as the metrics count it. */
export type PingResult = "ok" | "not-ready" | "throttled" | "unavailable" | "rejected";

/** What ModelCopy says about a model: at least one copy, none, or no datapoint yet. */
export type WarmState = "warm" | "cold" | "unknown";

/** The timings a model's plan uses now, in seconds (see domain/timings.ts). */
export interface TimingSeconds {
  readonly cadenceSeconds: number;
  readonly leadTimeSeconds: number;
  readonly evictionDelaySeconds: number;
  readonly restoreSeconds: number;
}

/** The money figures of a model's minute spend line; undefined while its CMU is unknown. */
export interface SpendGauges {
  readonly monthToDateUsd: number | undefined;
  readonly projectedMonthUsd: number | undefined;
  readonly alwaysOnMonthUsd: number | undefined;
  readonly savingUsd: number | undefined;
}

/** A usage type's newest UTC day reconciled with AWS's bill (Cost Explorer). */
export interface UsageReconciled {
  readonly usageType: string;
  /** 00:00 UTC of the day, epoch ms. */
  readonly dayStart: number;
  /** Undefined where a side is unknown (a CMU count, or nothing billed for imports not configured). */
  readonly keepwarmUsd: number | undefined;
  readonly awsUsd: number | undefined;
  /** Final days in a row, up to that day, on which the two differ. */
  readonly mismatchDays: number;
}

/** keepwarm's own AWS cost in the current UTC month (its calls, not the models'). */
export interface OverheadGauges {
  readonly monthToDateUsd: number;
  /** Undefined until an hour has been counted. */
  readonly projectedMonthUsd: number | undefined;
}

/** Which budget: one model's, or the whole fleet's. */
export type BudgetScope =
  | { readonly scope: "model"; readonly model: string }
  | { readonly scope: "fleet" };

/**
 * What the daemon tells the outside world besides its logs. The HTTP /metrics endpoint
 * implements it with prom-client; tests and `simulate` may record the calls.
 */
export interface DaemonObserver {
  /** One InvokeModel request sent for a ping, by how it ended. */
  pingResult(model: string, result: PingResult): void;
  /** A ping met ModelNotReadyException: the model was cold. */
  coldStart(model: string): void;
  /** Seconds from the first ModelNotReadyException to the first success. */
  restoreSeconds(model: string, seconds: number): void;
  /** The latest ModelCopy datapoint. */
  modelCopies(model: string, copies: number): void;
  warmState(model: string, state: WarmState): void;
  /** Undefined while the model's custom model units are unknown. */
  projectedMonthUsd(model: string, usd: number | undefined): void;
  /** A reload attempt: applied (`ok`) or rejected, at epoch ms `at`. */
  configReload(ok: boolean, at: number): void;
  /** A model left the configuration: forget its series. */
  modelRemoved?(model: string): void;
  /** Month to date, projection, always-on and saving, each minute with the spend line. */
  spend?(model: string, figures: SpendGauges): void;
  /** What the plan wants at this minute: inside a window; warm (window, lead time, closing tail). */
  planState?(
    model: string,
    state: { readonly inWindow: boolean; readonly planWarm: boolean },
  ): void;
  /** The timings the model is planned with now (learned, configured or assumed). */
  timings?(model: string, timings: TimingSeconds): void;
  /** A ping succeeded at epoch ms `at`. */
  pingOkAt?(model: string, at: number): void;
  /** The newest ModelCopy datapoint read for the model starts at epoch ms `at`. */
  copyDatapointAt?(model: string, at: number): void;
  /** A window opened: `warm` says whether a copy was up at its first minute (ModelCopy). */
  windowOpened?(model: string, warm: boolean): void;
  /** An AWS call failed; `kind` as aws/errors.ts classifies it. */
  awsError?(operation: string, errorName: string, kind: string): void;
  /** A budget and the projection it is held against (undefined while CMU is unknown). */
  budget?(scope: BudgetScope, budgetUsd: number, projectedMonthUsd: number | undefined): void;
  /** A budget left the configuration. */
  budgetRemoved?(scope: BudgetScope): void;
  /** Billable AWS calls of keepwarm's own were made (GetMetricData, Cost Explorer, ListMetrics). */
  billedCalls?(calls: ApiCounts): void;
  /** keepwarm's own AWS cost this month, each minute. */
  overhead?(gauges: OverheadGauges): void;
  /** A usage type's newest final day, reconciled with AWS's bill. */
  usageReconciled?(usage: UsageReconciled): void;
  /** A usage type no longer reconciled (not billed for weeks, or reconciliation off). */
  usageForgotten?(usageType: string): void;
}

/** Observes nothing. */
export const noopObserver: DaemonObserver = {
  pingResult() {},
  coldStart() {},
  restoreSeconds() {},
  modelCopies() {},
  warmState() {},
  projectedMonthUsd() {},
  configReload() {},
  modelRemoved() {},
};
