import { formatUsd } from "../domain/format.js";
import { type DemandWeek, readDemandWeeks } from "../runtime/state/demandLog.js";

/**
 * The weekly `demand` records of demand.jsonl for `keepwarm report`: the weeks ending in the
 * last `days` days (at least the latest), a row per model, and the 99% windows under them.
 */
export async function demandReport(
  stateDir: string,
  days: number,
  now: number,
  warn: (line: string) => void,
): Promise<string[]> {
  let weeks: DemandWeek[];
  try {
    const file = await readDemandWeeks(stateDir);
    weeks = file.weeks;
    for (const s of file.skipped) warn(`${file.path}:${s.line}: skipped: ${s.reason}`);
  } catch (error) {
    warn(`${error instanceof Error ? error.message : String(error)}: no weekly demand shown`);
    return [];
  }
  const recent = weeks.filter((w) => Date.parse(w.at) > now - days * 86_400_000);
  const shown = recent.length > 0 ? recent : weeks.slice(-1);
  if (shown.length === 0) return [];
  const rows = [
    [
      "week to",
      "model",
      "users' calls",
      "outside windows",
      "met cold",
      "99% windows: month change",
    ],
  ];
  const notes: string[] = [];
  for (const w of shown) {
    for (const r of w.models) {
      const change =
        r.changeUsd === null
          ? "CMU unknown"
          : `${r.changeUsd <= 0 ? "saves" : "adds"} ${formatUsd(Math.abs(r.changeUsd))}`;
      rows.push([
        r.weekTo.slice(0, 10),
        r.model,
        String(r.calls),
        String(r.outsideWindows),
        r.metCold === null ? "not read" : String(r.metCold),
        r.suggestion ? change : "",
      ]);
      if (r.suggestion && r.suggestion.windows.length > 0) {
        const windows = r.suggestion.windows.map((x) => `${x.days} ${x.from}-${x.to}`).join("; ");
        notes.push(`${r.weekTo.slice(0, 10)}: ${r.model}: 99% of calls in ${windows}`);
      }
    }
  }
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return [
    "",
    `Users' demand, weekly (demand.jsonl; keepwarm's own pings taken out; keepwarm suggest for the details):`,
    ...rows.map((r) =>
      r
        .map((c, i) => (i < 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    ),
    ...notes,
  ];
}
