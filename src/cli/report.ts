import type { Command } from "commander";
import { formatProblem, loadConfigFile } from "../config/load.js";
import { describeCrossing, formatBudgetShare } from "../domain/budget.js";
import { formatDuration, formatUsd } from "../domain/format.js";
import type { OverheadDaySummary } from "../runtime/spend/overhead.js";
import type {
  BudgetDaySummary,
  DailySummary,
  ModelDaySummary,
} from "../runtime/state/summaries.js";
import { readRecentSummaries, SummaryFileError } from "../runtime/state/summaryReader.js";
import { parseInteger, readEnv, UsageError } from "./env.js";
import { ExitCode } from "./exitCodes.js";
import { demandReport } from "./reportDemand.js";
import { formatReconciled } from "./reportReconcile.js";
import { configuredStateDir, findStateDir } from "./stateDir.js";

const DEFAULT_DAYS = 7;

export interface ReportOptions {
  readonly days?: string;
  readonly stateDir: string;
  readonly json?: boolean;
}

/** What the command line and the environment say; the state directory is found from them. */
export interface ReportCommandOptions {
  readonly days?: string;
  readonly json?: boolean;
  /** `--state-dir` */
  readonly stateDir?: string;
  /** `--config`, else KEEPWARM_CONFIG: its `daemon.stateDir` is where the daemon writes. */
  readonly config?: string;
  /** KEEPWARM_STATE_DIR, else systemd's STATE_DIRECTORY. */
  readonly envStateDir?: string;
  /** The systemd and container default looked for before ./.state (a test's own). */
  readonly serviceStateDir?: string;
}

export interface ReportOutput {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("Print the daemon's daily summaries (summaries.jsonl) as a table.")
    .option("-c, --config <file>", "the daemon's config file (default: $KEEPWARM_CONFIG)")
    .option("--days <n>", `the last N days (default ${DEFAULT_DAYS})`)
    .option(
      "--state-dir <dir>",
      "where summaries.jsonl is (default: $KEEPWARM_STATE_DIR, $STATE_DIRECTORY, the config's daemon.stateDir, /var/lib/keepwarm if it exists, ./.state)",
    )
    .option("--json", "the summaries as JSON lines instead of a table")
    .action(async (opts: { config?: string; days?: string; stateDir?: string; json?: boolean }) => {
      const env = readEnv();
      const config = opts.config ?? env.config;
      process.exitCode = await reportCommand(
        {
          ...opts,
          ...(config !== undefined ? { config } : {}),
          ...(env.stateDir !== undefined ? { envStateDir: env.stateDir } : {}),
        },
        {
          stdout: (line) => process.stdout.write(`${line}\n`),
          stderr: (line) => process.stderr.write(`${line}\n`),
        },
      );
    });
}

/**
 * Finds the state directory as `plan` does (saying on stderr where it looked), then prints
 * the report. Exit 2 for a config with problems.
 */
export async function reportCommand(
  opts: ReportCommandOptions,
  out: ReportOutput,
): Promise<number> {
  let fromConfig: { file: string; stateDir: string | undefined } | undefined;
  if (opts.config !== undefined) {
    const loaded = await loadConfigFile(opts.config);
    if (!loaded.ok) {
      for (const problem of loaded.problems) out.stderr(formatProblem(problem));
      return ExitCode.badInput;
    }
    fromConfig = {
      file: opts.config,
      stateDir: configuredStateDir(loaded.config.daemon.stateDir),
    };
  }
  const found = findStateDir({
    flag: opts.stateDir,
    env: opts.envStateDir,
    config: fromConfig,
    ...(opts.serviceStateDir !== undefined ? { serviceDir: opts.serviceStateDir } : {}),
  });
  out.stderr(`keepwarm report: state directory ${found.dir} (${found.note})`);
  return printReport(
    {
      stateDir: found.dir,
      ...(opts.days !== undefined ? { days: opts.days } : {}),
      ...(opts.json !== undefined ? { json: opts.json } : {}),
    },
    out,
  );
}

/** Prints the summaries of the last `days` days, one row per model per day and a total row. */
export async function printReport(opts: ReportOptions, out: ReportOutput): Promise<number> {
  let days = DEFAULT_DAYS;
  try {
    if (opts.days !== undefined) {
      days = parseInteger(opts.days, "--days", { min: 1, max: Infinity, what: "a number of days" });
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    out.stderr(`keepwarm report: ${error.message}`);
    return ExitCode.badInput;
  }
  let summaries: DailySummary[];
  try {
    const file = await readRecentSummaries(opts.stateDir, days);
    summaries = file.summaries;
    for (const s of file.skipped) {
      out.stderr(`keepwarm report: warning: ${file.path}:${s.line}: skipped: ${s.reason}`);
    }
  } catch (error) {
    if (!(error instanceof SummaryFileError)) throw error;
    out.stderr(`keepwarm report: ${error.message}`);
    return ExitCode.failure;
  }
  const recent = lastDays(summaries, days);
  if (opts.json) {
    for (const s of recent) out.stdout(JSON.stringify(s));
    return ExitCode.ok;
  }
  if (recent.length === 0) {
    out.stdout(`no daily summaries yet in ${opts.stateDir}; the daemon writes one at midnight`);
  } else {
    for (const line of formatReport(recent)) out.stdout(line);
  }
  const warn = (line: string) => out.stderr(`keepwarm report: warning: ${line}`);
  for (const line of await demandReport(opts.stateDir, days, Date.now(), warn)) out.stdout(line);
  return ExitCode.ok;
}

/** The summaries of the last `days` distinct dates, oldest first; a date summarised twice keeps its latest. */
export function lastDays(summaries: readonly DailySummary[], days: number): DailySummary[] {
  const byDate = new Map<string, DailySummary>();
  for (const s of summaries) byDate.set(s.date, s);
  return [...byDate.values()].sort((a, b) => a.date.localeCompare(b.date)).slice(-days);
}

const HEADERS = [
  "date",
  "model",
  "warm min plan/seen",
  "cold starts",
  "restore s med/max",
  "pings ok/failed",
  "day",
  "month to date",
  "projected",
  "saving",
  "budget",
  "cadence/lead/eviction",
] as const;

/** The table: a row per model per day, a total row per day, hints under their day. */
export function formatReport(summaries: readonly DailySummary[]): string[] {
  const rows: string[][] = [];
  const notes: string[] = [];
  let timingsShown = false;
  // Summaries written before cold starts inside windows were counted show the total alone.
  const inWindowShown = summaries.some((s) =>
    s.models.some((m) => m.coldStartsInWindow !== undefined),
  );
  const coldCell = (all: number, inWindow: number | undefined) =>
    inWindow === undefined ? String(all) : `${all} (${inWindow})`;
  for (const s of summaries) {
    for (const m of s.models) {
      rows.push([
        s.date,
        m.model,
        `${m.plannedWarmMinutes}/${m.observedWarmMinutes}`,
        coldCell(m.coldStarts, m.coldStartsInWindow),
        `${fmtNum(m.restoreSecondsMedian)}/${fmtNum(m.restoreSecondsMax)}`,
        `${m.pingsOk}/${m.pingsFailed}`,
        fmtUsd(m.dayUsd),
        fmtUsd(m.monthToDateUsd),
        fmtUsd(m.projectedMonthUsd),
        fmtUsd(m.savingUsd),
        fmtBudget(m.budget),
        fmtTimings(m.timings),
      ]);
      if (m.timings) timingsShown = true;
      const opened = m.windowsOpenedCold ?? 0;
      if (opened > 0) {
        notes.push(
          `${s.date}: ${m.model}: ${opened === 1 ? "a window" : `${opened} windows`} opened cold, so users waited for a restore (the opened-cold lines of the log say why)`,
        );
      }
    }
    const t = s.total;
    rows.push([
      s.date,
      "TOTAL",
      `${t.plannedWarmMinutes}/${t.observedWarmMinutes}`,
      coldCell(t.coldStarts, t.coldStartsInWindow),
      "",
      `${t.pingsOk}/${t.pingsFailed}`,
      formatUsd(t.dayUsd),
      formatUsd(t.monthToDateUsd),
      formatUsd(t.projectedMonthUsd),
      formatUsd(t.savingUsd),
      fmtBudget(s.fleetBudget),
      "",
    ]);
    for (const c of s.budgetCrossings ?? []) notes.push(`${s.date}: ${describeCrossing(c)}`);
    if (s.overhead) notes.push(`${s.date}: ${overheadNote(s.overhead)}`);
    if (s.hint) notes.push(`${s.date}: ${s.hint}`);
    if (s.simulated) notes.push(`${s.date}: SIMULATED (made against the built-in simulator)`);
  }
  // Summaries written before learned timings have none: no empty column for them.
  const headers = (timingsShown ? HEADERS : HEADERS.slice(0, -1)).map((h) =>
    h === "cold starts" && inWindowShown ? "cold starts (in window)" : h,
  );
  if (!timingsShown) for (const r of rows) r.pop();
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  // Text columns align left, figures right, as in `infracost breakdown`.
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
      .join("  ")
      .trimEnd();
  if (timingsShown) {
    notes.push(
      "cadence/lead/eviction: the timings each model was planned with at the end of the day; L learned, C configured, A assumed",
    );
  }
  return [
    line(headers),
    line(widths.map((w) => "-".repeat(w))),
    ...rows.map(line),
    ...(notes.length > 0 ? ["", ...notes] : []),
    ...formatReconciled(summaries),
  ];
}

const SOURCE_LETTER: Readonly<Record<string, string>> = {
  learned: "L",
  configured: "C",
  assumed: "A",
};

/** "4m50s L/2m9s L/5m50s L"; empty in a summary older than learned timings. */
function fmtTimings(t: ModelDaySummary["timings"]): string {
  if (!t) return "";
  const one = (x: { seconds: number; source: string } | undefined) =>
    x === undefined
      ? "?"
      : `${formatDuration(x.seconds * 1000)} ${SOURCE_LETTER[x.source] ?? x.source}`;
  return [t.cadence, t.leadTime, t.evictionDelay].map(one).join("/");
}

/** keepwarm's own AWS calls of the day: "keepwarm's own AWS calls $0.02 (1,728 GetMetricData metrics); ...". */
function overheadNote(o: OverheadDaySummary): string {
  const calls = [
    `${o.metricsRequested.toLocaleString("en-US")} GetMetricData metrics`,
    ...(o.costExplorerRequests > 0 ? [`${o.costExplorerRequests} Cost Explorer requests`] : []),
    ...(o.listMetricsRequests > 0 ? [`${o.listMetricsRequests} ListMetrics requests`] : []),
  ];
  const projected =
    o.projectedMonthUsd === null ? "" : `, projected ${formatUsd(o.projectedMonthUsd)}`;
  return `keepwarm's own AWS calls ${formatUsd(o.dayUsd)} (${calls.join(", ")}); month to date ${formatUsd(o.monthToDateUsd)} counted since ${o.since}${projected}`;
}

function fmtUsd(x: number | null): string {
  return x === null ? "unknown" : formatUsd(x);
}

/** "85% near", "120% OVER", "41%"; empty without a budget or in a summary older than budgets. */
function fmtBudget(b: BudgetDaySummary | null | undefined): string {
  if (!b) return "";
  return b.ratio === null ? `unknown of ${formatUsd(b.budgetUsd)}` : formatBudgetShare(b.ratio);
}

function fmtNum(x: number | null): string {
  return x === null ? "-" : String(Math.round(x * 10) / 10);
}
