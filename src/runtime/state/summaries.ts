import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BudgetCrossing } from "../../domain/budget.js";
import { KeepwarmError } from "../../domain/errors.js";
import {
  appendLine,
  parseJsonLines,
  type SkippedLine,
  type StateFileSystem,
} from "./stateFiles.js";

/** One model's line of a daily summary. Money in USD, unrounded; null where CMU is unknown. */
export interface ModelDaySummary {
  readonly model: string;
  readonly policy: string;
  readonly cmu: number | null;
  /** Minutes the plan kept the model warm that day. */
  readonly plannedWarmMinutes: number;
  /** Minutes ModelCopy showed at least one copy. */
  readonly observedWarmMinutes: number;
  /** Every cold start a ping met, the warm-up's before opening included. */
  readonly coldStarts: number;
  /** Of those, the ones inside a window; absent in summaries written before it was counted. */
  readonly coldStartsInWindow?: number;
  /** Windows that opened with no copy up (ModelCopy of their first minute at 0). */
  readonly windowsOpenedCold?: number;
  readonly restoreSecondsMedian: number | null;
  readonly restoreSecondsMax: number | null;
  /** Minutes from the last ping to ModelCopy at 0; medians since start-up. */
  readonly evictionMinutesMedian: number | null;
  readonly restoreSecondsMedianAllTime: number | null;
  readonly pingsOk: number;
  readonly pingsFailed: number;
  readonly recoveries: number;
  readonly dayUsd: number | null;
  readonly monthToDateUsd: number | null;
  readonly projectedMonthUsd: number | null;
  readonly alwaysOnMonthUsd: number | null;
  readonly savingUsd: number | null;
  /** The timings the model was planned with at the end of the day, and where each came from. */
  readonly timings?: Partial<
    Record<
      "cadence" | "leadTime" | "evictionDelay" | "restore",
      { seconds: number; source: string }
    >
  >;
  /** Absent in summaries written before budgets existed; null when the model has none. */
  readonly budget?: BudgetDaySummary | null;
}

/** A monthly budget at midnight: `ratio` is the projection over the budget. */
export interface BudgetDaySummary {
  readonly budgetUsd: number;
  readonly projectedMonthUsd: number | null;
  readonly ratio: number | null;
}

/** A crossing as a summary holds it: `at` as an ISO instant. */
export type BudgetCrossingSummary = Omit<BudgetCrossing, "at"> & { readonly at: string };

export interface DailySummary {
  /** The local date summarised, yyyy-MM-dd in `timezone`. */
  readonly date: string;
  readonly timezone: string;
  /** ISO instant the summary was made. */
  readonly at: string;
  readonly simulated: boolean;
  readonly models: readonly ModelDaySummary[];
  readonly total: {
    readonly plannedWarmMinutes: number;
    readonly observedWarmMinutes: number;
    readonly coldStarts: number;
    readonly coldStartsInWindow?: number;
    readonly windowsOpenedCold?: number;
    readonly pingsOk: number;
    readonly pingsFailed: number;
    readonly dayUsd: number;
    readonly monthToDateUsd: number;
    readonly projectedMonthUsd: number;
    readonly alwaysOnMonthUsd: number;
    readonly savingUsd: number;
  };
  /** Set when the projection passes the self-hosting price. */
  readonly hint: string | null;
  /** The fleet's budget against the models' total projection; null when none is set. */
  readonly fleetBudget?: BudgetDaySummary | null;
  /** Budget thresholds crossed during the day, oldest first. */
  readonly budgetCrossings?: readonly BudgetCrossingSummary[];
}

export const SUMMARIES_FILE = "summaries.jsonl";

/** Sums the models' figures; a model whose spend is unknown adds nothing to the money. */
export function totalOf(models: readonly ModelDaySummary[]): DailySummary["total"] {
  const sum = (f: (m: ModelDaySummary) => number | null) =>
    models.reduce((acc, m) => acc + (f(m) ?? 0), 0);
  return {
    plannedWarmMinutes: sum((m) => m.plannedWarmMinutes),
    observedWarmMinutes: sum((m) => m.observedWarmMinutes),
    coldStarts: sum((m) => m.coldStarts),
    // Only in summaries whose models count them (written since they were counted).
    ...(models.some((m) => m.coldStartsInWindow !== undefined)
      ? {
          coldStartsInWindow: sum((m) => m.coldStartsInWindow ?? 0),
          windowsOpenedCold: sum((m) => m.windowsOpenedCold ?? 0),
        }
      : {}),
    pingsOk: sum((m) => m.pingsOk),
    pingsFailed: sum((m) => m.pingsFailed),
    dayUsd: sum((m) => m.dayUsd),
    monthToDateUsd: sum((m) => m.monthToDateUsd),
    projectedMonthUsd: sum((m) => m.projectedMonthUsd),
    alwaysOnMonthUsd: sum((m) => m.alwaysOnMonthUsd),
    savingUsd: sum((m) => m.savingUsd),
  };
}

/**
 * Appends one summary as a JSON line, whole or not at all, fsync'd before it resolves: a
 * crash right after midnight must not lose the day, and a full disk must not tear the file.
 */
export async function appendSummary(
  stateDir: string,
  summary: DailySummary,
  fs?: StateFileSystem,
): Promise<string> {
  const path = join(stateDir, SUMMARIES_FILE);
  await appendLine(path, JSON.stringify(summary), fs);
  return path;
}

/** summaries.jsonl could not be read at all. */
export class SummaryFileError extends KeepwarmError {
  override readonly name = "SummaryFileError";
}

export interface SummaryFile {
  readonly path: string;
  /** Oldest first. */
  readonly summaries: DailySummary[];
  /** Lines that are not a summary (a fragment left by a full disk, a hand edit). */
  readonly skipped: SkippedLine[];
}

function isSummary(value: unknown): value is DailySummary {
  const s = value as Partial<DailySummary> | null;
  return (
    typeof s === "object" && s !== null && typeof s.date === "string" && Array.isArray(s.models)
  );
}

/**
 * The summaries in `stateDir`; none when the file does not exist yet. A line that is not a
 * summary is skipped and named, never a reason to drop the others.
 */
export async function readSummaries(stateDir: string): Promise<SummaryFile> {
  const path = join(stateDir, SUMMARIES_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      return { path, summaries: [], skipped: [] };
    }
    throw new SummaryFileError(`cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const { records, skipped } = parseJsonLines(text, isSummary, '{"date":');
  return { path, summaries: records, skipped };
}
