import { formatUsd } from "../domain/format.js";
import type { DailySummary, ReconciledDaySummary } from "../runtime/state/summaries.js";

const HEADERS = ["UTC day", "usage type", "models", "keepwarm", "AWS", "diff", "status"] as const;
/** Columns of text, aligned left; the rest are figures, aligned right. */
const TEXT_COLUMNS = new Set([0, 1, 2, 6]);

/**
 * `keepwarm report`'s second table: the UTC days the daemon reconciled with AWS's bill in
 * the summaries shown, a row per usage type; nothing when none was. A day reconciled twice
 * (two replicas, a restart) shows its latest figures.
 */
export function formatReconciled(summaries: readonly DailySummary[]): string[] {
  const byKey = new Map<string, { date: string; g: ReconciledDaySummary["groups"][number] }>();
  for (const s of summaries) {
    for (const day of s.reconciled ?? []) {
      for (const g of day.groups) byKey.set(`${day.date} ${g.usageType}`, { date: day.date, g });
    }
  }
  if (byKey.size === 0) return [];
  const rows = [...byKey.values()]
    .sort((a, b) => a.date.localeCompare(b.date) || a.g.usageType.localeCompare(b.g.usageType))
    .map(({ date, g }) => [
      date,
      g.usageType,
      (g.models.length > 0 ? g.models : g.unmanaged).join(", "),
      usd(g.keepwarmUsd),
      usd(g.awsUsd),
      g.diffPct === null ? "" : `${g.diffPct >= 0 ? "+" : ""}${g.diffPct.toFixed(1)}%`,
      g.status === "unmanaged" ? "unmanaged: not in the config" : g.status,
    ]);
  const widths = HEADERS.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) =>
        TEXT_COLUMNS.has(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number),
      )
      .join("  ")
      .trimEnd();
  const mismatches = rows.filter((r) => r[6] === "mismatch").length;
  return [
    "",
    "AWS's bill (Cost Explorer) against keepwarm's figures, final UTC days:",
    line(HEADERS),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...(mismatches > 0
      ? [
          "",
          `${mismatches} mismatch(es): the daemon's reconcile log lines give the likely causes; see docs/runbooks.md#aws-bills-differently-from-keepwarm`,
        ]
      : []),
  ];
}

function usd(x: number | null): string {
  return x === null ? "unknown" : formatUsd(x);
}
