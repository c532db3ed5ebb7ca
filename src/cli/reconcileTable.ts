import { COST_EXPLORER_REQUEST_USD } from "../aws/costExplorer.js";
import { cents, formatUsd } from "../domain/format.js";
import type { ReconcileGroup, ReconcileReport } from "../reconcile/types.js";

/** GetMetricData's price: $0.01 per 1,000 metrics requested. */
const USD_PER_METRIC = 0.01 / 1000;

const HEADERS = ["date", "usage type", "models", "keepwarm", "AWS", "diff", "status"] as const;

/** The report as JSON: dollars to the cent, the rest as reconcileDays gives it. */
export function reconcileJson(report: ReconcileReport): unknown {
  return {
    days: report.days.map((d) => ({
      date: d.date,
      groups: d.groups.map((g) => ({
        ...g,
        keepwarmUsd: g.keepwarmUsd === null ? null : cents(g.keepwarmUsd),
        awsUsd: g.awsUsd === null ? null : cents(g.awsUsd),
      })),
    })),
    costExplorerRequests: report.costExplorerRequests,
    metricsRequested: report.metricsRequested,
    notes: report.notes,
  };
}

/** The report for people: a row per day and usage type, then what the run cost and the notes. */
export function reconcileTable(report: ReconcileReport): string[] {
  const rows = report.days.flatMap((d) => d.groups.map((g) => rowOf(d.date, g)));
  const widths = HEADERS.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  // Text columns align left, figures right, as `keepwarm report` does.
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) =>
        i < 3 || i === 6 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number),
      )
      .join("  ")
      .trimEnd();
  const counts = new Map<string, number>();
  for (const d of report.days) {
    for (const g of d.groups) counts.set(g.status, (counts.get(g.status) ?? 0) + 1);
  }
  const ceUsd = report.costExplorerRequests * COST_EXPLORER_REQUEST_USD;
  const cwUsd = report.metricsRequested * USD_PER_METRIC;
  return [
    line(HEADERS),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    "",
    `${[...counts].map(([status, n]) => `${n} ${status}`).join(", ") || "nothing to reconcile"}`,
    `this reconciliation: ${report.costExplorerRequests} Cost Explorer request(s) (${formatUsd(ceUsd)}), ${report.metricsRequested} GetMetricData metric(s) (${formatUsd(cwUsd)})`,
    ...report.notes.map((n) => `note: ${n}`),
  ];
}

function rowOf(date: string, g: ReconcileGroup): string[] {
  const models = [...g.models, ...g.unmanaged.map((m) => `${m} (unmanaged)`)].join(", ");
  return [
    date,
    g.usageType,
    models === "" ? "-" : models,
    g.keepwarmUsd === null ? "unknown" : formatUsd(g.keepwarmUsd),
    g.awsUsd === null ? "none yet" : formatUsd(g.awsUsd),
    g.diffPct === null ? "" : `${g.diffPct > 0 ? "+" : ""}${g.diffPct.toFixed(1)}%`,
    g.status === "pending" && g.awsUsd !== null ? "pending (estimated)" : g.status,
  ];
}
