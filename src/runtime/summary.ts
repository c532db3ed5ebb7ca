import { mkdir, open, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BudgetCrossing } from "../domain/budget.js";

/** One model's line of a daily summary. Money in USD, unrounded; null where CMU is unknown. */
export interface ModelDaySummary {
  readonly model: string;
  readonly policy: string;
  readonly cmu: number | null;
  /** Minutes the plan kept the model warm that day. */
  readonly plannedWarmMinutes: number;
  /** Minutes ModelCopy showed at least one copy. */
  readonly observedWarmMinutes: number;
  readonly coldStarts: number;
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
  readonly timings?: Record<string, { seconds: number; source: string }>;
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
 * Appends one summary as a JSON line and fsyncs it before resolving: a crash right after
 * midnight must not lose the day.
 */
export async function appendSummary(stateDir: string, summary: DailySummary): Promise<string> {
  await mkdir(stateDir, { recursive: true });
  const path = join(stateDir, SUMMARIES_FILE);
  const file = await open(path, "a");
  try {
    await file.write(`${JSON.stringify(summary)}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  return path;
}

/** A line of summaries.jsonl that is not a summary. */
export class SummaryFileError extends Error {
  override readonly name = "SummaryFileError";
}

/** The summaries in `stateDir`, oldest first; none when the file does not exist yet. */
export async function readSummaries(stateDir: string): Promise<DailySummary[]> {
  const path = join(stateDir, SUMMARIES_FILE);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new SummaryFileError(`cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const summaries: DailySummary[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    try {
      const parsed = JSON.parse(line) as DailySummary;
      if (typeof parsed.date !== "string" || !Array.isArray(parsed.models)) {
        throw new Error("no date or models");
      }
      summaries.push(parsed);
    } catch (error) {
      // A torn last line (power lost mid-write) is skipped; anything else is reported.
      if (i === lines.length - 1 || (i === lines.length - 2 && lines[i + 1] === "")) continue;
      throw new SummaryFileError(`${path}:${i + 1}: not a summary: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return summaries;
}
