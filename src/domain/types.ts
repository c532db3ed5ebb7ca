import type { TimingSettings } from "./timings.js";

/**
 * The resolved configuration: what the YAML means once it has been validated, zoned and
 * given its defaults. `config/` produces these; `domain/`, `runtime/` and `cli/` consume
 * them and never look at the raw YAML again.
 *
 * Instants are epoch milliseconds (UTC). Durations are milliseconds. Wall-clock times are
 * minutes after local midnight in the policy's zone.
 */

/** ISO weekday as Luxon numbers it: 1 = Monday ... 7 = Sunday. */
export type IsoWeekday = 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** A recurring daily window of a policy. `toMinute <= fromMinute` means it ends the next day. */
export interface WindowRule {
  /** Days on which the window starts. */
  readonly days: ReadonlySet<IsoWeekday>;
  /** Minutes after local midnight, 0..1439. */
  readonly fromMinute: number;
  /** Minutes after local midnight, 1..1440; 1440 is "24:00". */
  readonly toMinute: number;
}

/** A closed range of local calendar dates, `yyyy-MM-dd`, `first <= last`. */
export interface DateRange {
  readonly first: string;
  readonly last: string;
}

export type PolicyKind = "always-on" | "off" | "windows";

export interface Policy {
  readonly name: string;
  readonly kind: PolicyKind;
  /** IANA zone the windows and holidays are read in. */
  readonly timezone: string;
  /** Empty for `always-on` and `off`. */
  readonly windows: readonly WindowRule[];
  /** Local dates on which no window of this policy starts. */
  readonly holidays: readonly DateRange[];
}

/** A temporary switch of some models to another policy over [from, until). */
export interface Override {
  readonly models: readonly string[];
  readonly policy: string;
  readonly from: number;
  readonly until: number;
}

export interface Price {
  readonly usdPerCmuMinute: number;
  readonly storageUsdPerCmuMonth: number;
  /** Where the figure comes from, e.g. "built-in table 2025-11-01" or "pricing.regions.us-east-1". */
  readonly source: string;
}

/** Where the ModelCopy metric of a model is read. */
export interface MetricSource {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensionName: string;
  readonly dimensionValue: string;
}

export interface ModelConfig {
  readonly name: string;
  readonly modelArn: string;
  readonly region: string;
  readonly accountId: string;
  /** The 12-character imported-model id at the end of the ARN. */
  readonly modelId: string;
  /** Name of the policy the model follows when no override applies. */
  readonly policy: string;
  /** From the YAML; undefined means "read it with GetImportedModel". */
  readonly customModelUnits: number | undefined;
  /** Cadence, lead time and eviction delay as the YAML sets them: `auto` or fixed. */
  readonly timing: TimingSettings;
  /** How long a cold start is ridden out before the ping is given up. */
  readonly warmupTimeoutMs: number;
  /** The keep-alive request body, sent as JSON. */
  readonly request: Readonly<Record<string, unknown>>;
  readonly metric: MetricSource;
  /**
   * From the YAML (customModelUnitsVersion, only next to customModelUnits); undefined means
   * GetImportedModel's version, or v1.0 for a configured customModelUnits.
   */
  readonly cmuVersion: string | undefined;
  /**
   * The price of each CMU version known in the model's region (the YAML's, else the built-in
   * table's), by version ("v1.0"). A version not here has no price: its spend is unknown.
   */
  readonly prices: Readonly<Record<string, Price>>;
}

/** Where Bedrock may count a call answered ModelNotReadyException; `none`: not read. */
export const COLD_CALL_METRIC_NAMES = [
  "InvocationThrottles",
  "InvocationClientErrors",
  "none",
] as const;
export type ColdCallMetricName = (typeof COLD_CALL_METRIC_NAMES)[number];

export interface DaemonSettings {
  /** Where summaries.jsonl lives. */
  readonly stateDir: string;
  /** HTTP listener for /healthz, /readyz, /metrics. */
  readonly httpHost: string;
  readonly httpPort: number;
  /** A monthly projection above this triggers the self-hosting hint in the daily summary. */
  readonly selfHostingUsdPerMonth: number;
  /**
   * Per-model spend lines every minute (also when absent), or for large fleets a total every
   * minute and a model's line on change and every `refreshMs`.
   */
  readonly spendLog?: {
    readonly perModel: "every-minute" | "on-change";
    readonly refreshMs: number;
  };
  /** Rate and burst of the token bucket in front of InvokeModel. */
  readonly invokeRatePerSecond: number;
  readonly invokeBurst: number;
  /** The metric that counts calls which met a restoring model; InvocationThrottles when absent. */
  readonly coldCallMetric?: ColdCallMetricName;
  /** Whether the daemon reconciles each final UTC day with AWS's bill; on when absent. */
  readonly reconcile?: { readonly enabled: boolean };
}

/** Monthly budgets in USD, per UTC calendar month. */
export interface Budgets {
  /** Held against the sum of every model's projection. */
  readonly fleetUsd: number | undefined;
  /** By model name; only models of the config. */
  readonly modelUsd: ReadonlyMap<string, number>;
}

export interface ResolvedConfig {
  /** Zone of the config: overrides' local times, daily summaries. */
  readonly timezone: string;
  /** Every policy by name, built-ins included (possibly redefined). */
  readonly policies: ReadonlyMap<string, Policy>;
  /** In file order; a later entry wins where two overlap. */
  readonly overrides: readonly Override[];
  readonly models: readonly ModelConfig[];
  readonly daemon: DaemonSettings;
  /** Absent when the YAML sets none. */
  readonly budgets?: Budgets;
}
