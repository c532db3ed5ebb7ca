/**
 * What the status page and /api/status show of the reconciliation with AWS's bill: its
 * phase and why, the days pending and when Cost Explorer is asked next, read from the
 * Reconciler's state (reconciler.ts) at an instant.
 */
import {
  decideReconcile,
  pendingDays,
  type ReconcileSchedule,
} from "../../domain/reconcileSchedule.js";
import type { LeaseHolder } from "../state/stateLease.js";
import type { UsageStanding } from "./reconcileState.js";

/**
 * off: `daemon.reconcile.enabled: false`; paused: Cost Explorer (or a read it needs) was
 * denied, until the next reload; standby: another replica reconciles; asking: a request is
 * under way; waiting: for the next day to come due or the next retry.
 */
export type ReconcilePhase = "off" | "paused" | "standby" | "asking" | "waiting";

/** What the status page and /api/status show of the reconciliation with AWS's bill. */
export interface ReconciliationStatus {
  readonly phase: ReconcilePhase;
  readonly reason: string;
  /** Days due and not final yet, oldest first. */
  readonly pendingDays: readonly string[];
  readonly nextRequestAt: number | undefined;
  readonly lastRequestAt: number | undefined;
  /** Each usage type's newest final day. */
  readonly usage: readonly UsageStanding[];
}

/** The Reconciler's state a status is read from. */
export interface ReconcilerSnapshot {
  readonly enabled: boolean;
  /** When Cost Explorer was denied and what: reconciliation paused until the next reload. */
  readonly paused: { readonly at: number; readonly what: string } | undefined;
  /** A request to Cost Explorer is under way. */
  readonly asking: boolean;
  /** Standby while another replica holds it. */
  readonly lease: LeaseHolder | undefined;
  readonly schedule: ReconcileSchedule;
  readonly usage: readonly UsageStanding[];
  readonly lastRequestAt: number | undefined;
}

/** The status at `now`: off, paused, asking, standby or waiting, the first that holds. */
export function reconciliationStatus(r: ReconcilerSnapshot, now: number): ReconciliationStatus {
  const { schedule, usage } = r;
  const decision = decideReconcile(schedule, now);
  const base = {
    pendingDays: pendingDays(schedule, now),
    lastRequestAt: r.lastRequestAt,
    usage: r.enabled ? usage : [],
  };
  if (!r.enabled) {
    return {
      ...base,
      phase: "off",
      reason: "daemon.reconcile.enabled is false",
      nextRequestAt: undefined,
    };
  }
  if (r.paused) {
    return {
      ...base,
      phase: "paused",
      reason: `${r.paused.what} at ${new Date(r.paused.at).toISOString()}: paused until the next reload`,
      nextRequestAt: undefined,
    };
  }
  if (r.asking) {
    return {
      ...base,
      phase: "asking",
      reason: "a request to Cost Explorer is under way",
      nextRequestAt: undefined,
    };
  }
  if (r.lease && !r.lease.holds()) {
    return {
      ...base,
      phase: "standby",
      reason: "another replica holds the state directory's lease and reconciles",
      nextRequestAt: undefined,
    };
  }
  return {
    ...base,
    phase: "waiting",
    reason: decision.reason,
    nextRequestAt: decision.kind === "wait" ? decision.until : now,
  };
}
