import { formatUsd } from "../../domain/format.js";
import type { UsageStanding } from "../spend/reconcileState.js";
import type { ReconcilePhase, ReconciliationStatus } from "../spend/reconcileStatus.js";

/** /api/status's `reconciliation`: the daemon's reconciliation with AWS's bill. */
export interface ReconciliationJson {
  readonly phase: ReconcilePhase;
  readonly reason: string;
  readonly pendingDays: readonly string[];
  readonly nextRequestAt: string | null;
  readonly lastRequestAt: string | null;
  /** Each usage type's newest final day, with its run of mismatches. */
  readonly usageTypes: readonly UsageStanding[];
}

const isoOrNull = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

/** Null where no daemon reconciles (a status made without one). */
export function reconciliationJson(r: ReconciliationStatus | undefined): ReconciliationJson | null {
  if (!r) return null;
  return {
    phase: r.phase,
    reason: r.reason,
    pendingDays: r.pendingDays,
    nextRequestAt: isoOrNull(r.nextRequestAt),
    lastRequestAt: isoOrNull(r.lastRequestAt),
    usageTypes: r.usage,
  };
}

/** One line of the status page's reconciliation card, as plain text (the page escapes it). */
export interface ReconcileFact {
  readonly label: string;
  readonly text: string;
  /** Shown as a problem: a mismatch, imports the config does not name, a pause. */
  readonly bad: boolean;
  readonly wide: boolean;
}

const PHASE_TEXT: Readonly<Record<ReconcilePhase, string>> = {
  off: "off",
  paused: "PAUSED",
  standby: "standby",
  asking: "asking Cost Explorer",
  waiting: "waiting",
};

/** The card's lines: where reconciliation stands, then each usage type's newest final day. */
export function reconcileFacts(
  r: ReconciliationStatus,
  time: (t: number) => string,
): ReconcileFact[] {
  const facts: ReconcileFact[] = [
    {
      label: "Reconciliation",
      text: `${PHASE_TEXT[r.phase]}: ${r.reason}`,
      bad: r.phase === "paused",
      wide: true,
    },
    {
      label: "Last request",
      text: r.lastRequestAt === undefined ? "none since start-up" : time(r.lastRequestAt),
      bad: false,
      wide: false,
    },
    {
      label: "Days not final yet",
      text: r.pendingDays.length === 0 ? "none" : r.pendingDays.join(", "),
      bad: false,
      wide: false,
    },
  ];
  for (const u of r.usage) facts.push(usageFact(u));
  if (r.usage.length === 0 && r.phase !== "off") {
    facts.push({
      label: "Usage types",
      text: "no final day reconciled yet",
      bad: false,
      wide: true,
    });
  }
  return facts;
}

function usageFact(u: UsageStanding): ReconcileFact {
  const usd = (x: number | null) => (x === null ? "unknown" : formatUsd(x));
  const diff = u.diffPct === null ? "" : ` (${u.diffPct >= 0 ? "+" : ""}${u.diffPct.toFixed(1)}%)`;
  const who = u.models.length > 0 ? u.models.join(", ") : u.unmanaged.join(", ");
  const status =
    u.status === "mismatch"
      ? `mismatch${u.mismatchDays > 1 ? `, ${u.mismatchDays} days running` : ""}`
      : u.status === "unmanaged"
        ? "imports the config does not name"
        : u.status === "unknown"
          ? "keepwarm's figure unknown"
          : u.status;
  return {
    label: u.date,
    text: `${u.usageType} (${who}): keepwarm ${usd(u.keepwarmUsd)}, AWS ${usd(u.awsUsd)}${diff}: ${status}`,
    bad: u.status === "mismatch" || u.status === "unmanaged",
    wide: true,
  };
}
