import type { RegionClientPool } from "../../aws/clients.js";
import type { ModelConfig, Price, ResolvedConfig } from "../../domain/types.js";
import { reconcileDays } from "../../reconcile/reconcile.js";
import type { Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { StateFileSystem } from "../state/stateFiles.js";
import type { LeaseHolder } from "../state/stateLease.js";
import type { OverheadMeter } from "./overhead.js";
import type { PriceNote } from "./reconcileLines.js";
import { Reconciler } from "./reconciler.js";

/** What the daemon hands its reconciliation: the config in force, its clients and meters. */
export interface DaemonReconcileDeps {
  readonly config: () => ResolvedConfig;
  readonly clients: RegionClientPool;
  readonly now: () => number;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly stateDir: string;
  readonly fs?: StateFileSystem | undefined;
  readonly lease?: LeaseHolder | undefined;
  /** Counts the Cost Explorer requests and GetMetricData metrics each answer took. */
  readonly overhead: OverheadMeter;
  /** The price a model's spend is figured at now; undefined while its CMU version is unknown or unpriced. */
  readonly priceOf: (model: ModelConfig) => Price | undefined;
}

/** Whether the config has the daemon reconcile with AWS's bill (on unless switched off). */
export function reconcileEnabled(config: ResolvedConfig): boolean {
  return config.daemon.reconcile?.enabled ?? true;
}

/**
 * The daemon's Reconciler over the reconcile core (reconcile/reconcile.ts), asked about the
 * config in force at each request, with the same clients as the rest of the daemon.
 */
export function daemonReconciler(d: DaemonReconcileDeps): Reconciler {
  return new Reconciler(
    {
      stateDir: d.stateDir,
      log: d.log,
      observer: d.observer,
      now: d.now,
      fs: d.fs,
      lease: d.lease,
      reconcile: (range) =>
        reconcileDays({ config: d.config(), clients: d.clients, now: d.now() }, range),
      prices: () => {
        const prices = new Map<string, PriceNote>();
        for (const model of d.config().models) {
          const price = d.priceOf(model);
          if (price) prices.set(model.name, price);
        }
        return prices;
      },
      billed: (calls) => {
        d.overhead.recordCostExplorerRequests(calls.costExplorerRequests);
        if (calls.metricsRequested > 0) d.overhead.recordGetMetricData(calls.metricsRequested);
      },
    },
    reconcileEnabled(d.config()),
  );
}
