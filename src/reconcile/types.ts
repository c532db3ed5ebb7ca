/**
 * What `keepwarm reconcile` and the daemon's own reconciliation produce: for each UTC day,
 * keepwarm's figure for each Cost Explorer usage type next to AWS's.
 */

import type { UsageKind } from "../domain/usageType.js";

/** Compute (copies up) or storage (CMUs held) of Custom Model Import. */
export type { UsageKind };

/**
 * `match`: within 2% or $0.50; `mismatch`: further apart; `pending`: AWS's figure is
 * estimated or not there yet; `unmanaged`: only models the config does not name are billed
 * there; `unknown`: AWS's figure is final but keepwarm's is not known (a model's CMUs or the
 * price of its CMU version unknown, or its ModelCopy history no longer kept).
 */
export type ReconcileStatus = "match" | "mismatch" | "pending" | "unmanaged" | "unknown";

export interface ReconcileGroup {
  /** Cost Explorer's usage type, e.g. `USW2-Qwen2-CustomModelImport-Inference-v1:0`. */
  readonly usageType: string;
  readonly kind: UsageKind;
  /** Names of the config's models billed under this usage type; empty when unmanaged. */
  readonly models: readonly string[];
  /** Imported models AWS bills here that the config does not name (ARNs or names). */
  readonly unmanaged: readonly string[];
  /** keepwarm's figure for the day, USD; null where a model's CMU or price is unknown. */
  readonly keepwarmUsd: number | null;
  /** AWS's UnblendedCost for the day, USD; null when Cost Explorer has nothing yet. */
  readonly awsUsd: number | null;
  /** (AWS - keepwarm) / keepwarm x 100; null when either side is missing or keepwarm's is 0. */
  readonly diffPct: number | null;
  /** Cost Explorer marks the day Estimated (not final). */
  readonly estimated: boolean;
  readonly status: ReconcileStatus;
}

export interface ReconcileDay {
  /** The UTC day, yyyy-MM-dd. */
  readonly date: string;
  readonly groups: readonly ReconcileGroup[];
}

export interface ReconcileReport {
  readonly days: readonly ReconcileDay[];
  /** GetCostAndUsage requests made, each billed $0.01. */
  readonly costExplorerRequests: number;
  /** GetMetricData metrics requested for keepwarm's side, billed $0.01 per 1,000. */
  readonly metricsRequested: number;
  /** What could not be done and why, e.g. unmanaged models not named (ListImportedModels refused). */
  readonly notes: readonly string[];
}

/** A group's figures as log lines, daily summaries and reconcile.json carry them. */
export function groupFigures(g: ReconcileGroup) {
  return {
    usageType: g.usageType,
    kind: g.kind,
    models: g.models,
    unmanaged: g.unmanaged,
    keepwarmUsd: g.keepwarmUsd,
    awsUsd: g.awsUsd,
    diffPct: g.diffPct,
    status: g.status,
  };
}
