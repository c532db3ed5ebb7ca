import { join } from "node:path";
import { DateTime } from "luxon";
import type { CopyPoint } from "../../aws/metrics.js";
import type { BudgetCrossing } from "../../domain/budget.js";
import { centsOrNull, formatUsd } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import { billCopySeries } from "../../domain/spend.js";
import { type ModelTimings, timingFields } from "../../domain/timings.js";
import { MINUTE_MS } from "../../domain/units.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { ProblemLog } from "../infra/problemLog.js";
import { type ModelCounters, median } from "../keep/counters.js";
import type { OverheadDaySummary } from "../spend/overhead.js";
import type { SpendFigures } from "../spend/spendBook.js";
import { StateFileError, type StateFileSystem } from "./stateFiles.js";
import type { LeaseHolder } from "./stateLease.js";
import {
  appendSummary,
  type BudgetDaySummary,
  type DailySummary,
  type ModelDaySummary,
  type ReconciledDaySummary,
  SUMMARIES_FILE,
  totalOf,
} from "./summaries.js";

/** One model's day, as plain figures: what its summary line is made of. */
export interface ModelDay {
  readonly name: string;
  readonly policy: string;
  /** ModelCopy datapoints of the day. */
  readonly points: readonly CopyPoint[];
  readonly plannedWarmMs: number;
  readonly figures: SpendFigures;
  readonly day: ModelCounters;
  readonly total: ModelCounters;
  readonly timings: ModelTimings;
  readonly budgetUsd: number | undefined;
}

/** What the daily summary asks of the fleet. */
export interface SummarySource {
  readonly now: () => number;
  readonly zone: () => string;
  /** Each model's counters since the last summary, which this resets. */
  readonly takeDays: () => Map<string, ModelCounters>;
  /** The instant ModelCopy of `name` has been read through. */
  readonly readThrough: (name: string) => number | undefined;
  /** The model's day, or undefined when it is no longer configured. */
  readonly modelDay: (name: string, day: ModelCounters, range: Interval) => ModelDay | undefined;
  readonly selfHostingUsdPerMonth: () => number;
  readonly fleetBudgetUsd: () => number | undefined;
  readonly crossings: () => Promise<readonly BudgetCrossing[]>;
  /** keepwarm's own AWS calls since the last take, which this resets; taken at midnight. */
  readonly takeOverhead?: () => OverheadDaySummary;
  /** Days reconciled with AWS's bill since the last take, which this resets; taken at midnight. */
  readonly takeReconciled?: () => readonly ReconciledDaySummary[];
}

export interface DailySummariesDeps {
  readonly stateDir: string;
  readonly log: Logger;
  readonly problems: ProblemLog;
  readonly publishDelayMs: number;
  readonly simulated: boolean;
  readonly fs?: StateFileSystem | undefined;
  readonly source: SummarySource;
  /** Summaries are logged and written only while this replica holds the state directory's lease. */
  readonly lease?: LeaseHolder;
}

/** A day closed at midnight whose summary waits for ModelCopy to be read through its end. */
interface AwaitingData {
  readonly date: string;
  readonly day: Interval;
  /** Each model's counters of that day, taken at midnight. */
  readonly counters: Map<string, ModelCounters>;
  readonly overhead: OverheadDaySummary | undefined;
  readonly reconciled: readonly ReconciledDaySummary[];
}

/**
 * The midnight job: yesterday's figures per model and in total, logged and appended to
 * summaries.jsonl. A day waits for data (ModelCopy read past its end) and then for the
 * disk (a summary that could not be written is tried again every minute).
 */
export class DailySummaries {
  readonly #deps: DailySummariesDeps;
  #awaitingData: AwaitingData | undefined;
  readonly #awaitingDisk: DailySummary[] = [];
  #write: Promise<unknown> = Promise.resolve();
  #failures = 0;

  constructor(deps: DailySummariesDeps) {
    this.#deps = deps;
  }

  /**
   * The instant every model's ModelCopy must have been read past before the summary waiting
   * is written; undefined when none waits.
   */
  get readTo(): number | undefined {
    const pending = this.#awaitingData;
    return pending && pending.day.end + this.#deps.publishDelayMs + MINUTE_MS;
  }

  /** The model is gone or replaced: a day still waiting leaves it out. */
  forget(name: string): void {
    this.#awaitingData?.counters.delete(name);
  }

  /** Midnight: closes yesterday, and writes it once ModelCopy has been read through its end. */
  async closeDay(): Promise<void> {
    const { source } = this.#deps;
    const zone = source.zone();
    const today = DateTime.fromMillis(source.now(), { zone }).startOf("day");
    // startOf again: a day that follows a midnight DST skipped starts at 01:00, not yesterday's.
    const yesterday = today.minus({ days: 1 }).startOf("day");
    // A summary still waiting is written as it stands: its day is over.
    await this.writeReady(true);
    this.#awaitingData = {
      date: yesterday.toISODate() as string,
      day: { start: yesterday.toMillis(), end: today.toMillis() },
      counters: source.takeDays(),
      overhead: source.takeOverhead?.(),
      reconciled: source.takeReconciled?.() ?? [],
    };
    await this.writeReady();
  }

  /**
   * Writes the summary waiting once every model's ModelCopy has been read past the day's
   * last minute and its publishing delay (or at once when `force`); returns its date if
   * written. In a quiet night that is the third minute job after midnight.
   */
  async writeReady(force = false): Promise<string | undefined> {
    const pending = this.#awaitingData;
    if (!pending) return undefined;
    const { source } = this.#deps;
    const readTo = this.readTo as number;
    const behind = [...pending.counters.keys()].some(
      (name) => (source.readThrough(name) ?? 0) < readTo,
    );
    if (behind && !force) return undefined;
    this.#awaitingData = undefined;
    if (this.#deps.lease && !this.#deps.lease.holds()) return undefined;
    const now = source.now();
    const models = [...pending.counters].flatMap(([name, counters]) => {
      const day = source.modelDay(name, counters, pending.day);
      return day ? [modelDaySummary(day)] : [];
    });
    const total = totalOf(models);
    const limit = source.selfHostingUsdPerMonth();
    const hint =
      total.projectedMonthUsd > limit
        ? `projected ${formatUsd(total.projectedMonthUsd)} this month passes the self-hosting price of ${formatUsd(limit)} a month (two g6e.2xlarge reserved instances): self-hosting may be cheaper`
        : null;
    const fleetUsd = source.fleetBudgetUsd();
    const crossings = await source.crossings();
    const summary: DailySummary = {
      date: pending.date,
      timezone: source.zone(),
      at: new Date(now).toISOString(),
      simulated: this.#deps.simulated,
      models,
      total,
      hint,
      fleetBudget: budgetDay(
        fleetUsd,
        fleetUsd === undefined ? undefined : total.projectedMonthUsd,
      ),
      budgetCrossings: crossings
        .filter((c) => c.at >= pending.day.start && c.at < pending.day.end)
        .map((c) => ({ ...c, at: new Date(c.at).toISOString() })),
      ...(pending.overhead ? { overhead: pending.overhead } : {}),
      ...(pending.reconciled.length > 0 ? { reconciled: pending.reconciled } : {}),
    };
    this.#deps.log.info(
      { event: "daily-summary", ...summary },
      `daily summary for ${summary.date}`,
    );
    this.#awaitingDisk.push(summary);
    await this.writeAwaiting(false);
    return summary.date;
  }

  /** Whether summaries wait for the disk. */
  get awaitingDisk(): boolean {
    return this.#awaitingDisk.length > 0;
  }

  /** Resolves once the last write has ended. */
  flushed(): Promise<unknown> {
    return this.#write;
  }

  /**
   * Appends the summaries not yet on disk, oldest first. One that fails (a full disk) stays
   * in memory and is tried again at every minute and once more at stop: the day is lost only
   * if the daemon stops before the disk has room, and is then still in its `daily-summary` line.
   */
  writeAwaiting(stopping: boolean): Promise<void> {
    const write = this.#write
      .catch(() => undefined)
      .then(async () => {
        while (this.#awaitingDisk.length > 0) {
          const summary = this.#awaitingDisk[0] as DailySummary;
          try {
            const path = await appendSummary(this.#deps.stateDir, summary, this.#deps.fs);
            this.#awaitingDisk.shift();
            this.#written(summary, path);
          } catch (error) {
            this.#failed(summary, error, stopping);
            return;
          }
        }
      });
    this.#write = write;
    return write;
  }

  #written(summary: DailySummary, path: string): void {
    const failures = this.#failures;
    this.#failures = 0;
    this.#deps.problems.clear(`summary:${summary.date}`);
    if (failures === 0) return;
    this.#deps.log.info(
      { event: "summary-written", date: summary.date, path, attempts: failures + 1 },
      `daily summary for ${summary.date} written after ${failures} failed attempt(s)`,
    );
  }

  #failed(summary: DailySummary, error: unknown, stopping: boolean): void {
    this.#failures++;
    const { stateDir, log, problems } = this.#deps;
    problems.report(
      log,
      `summary:${summary.date}`,
      {
        event: "summary-write-failed",
        stateDir,
        path: error instanceof StateFileError ? error.path : join(stateDir, SUMMARIES_FILE),
        errno: error instanceof StateFileError ? error.code : "EIO",
        date: summary.date,
        attempts: this.#failures,
        error: describeError(error),
        retry: stopping
          ? "none: the daemon is stopping; the day is in its daily-summary log line"
          : "every minute; logged at most hourly",
      },
      `daily summary for ${summary.date} not written`,
      { always: stopping },
    );
  }
}

/** How long the plan's warm runs cover of `range`. */
export function plannedWarmMs(warm: readonly Interval[], range: Interval): number {
  return warm.reduce((sum, w) => {
    const start = Math.max(w.start, range.start);
    const end = Math.min(w.end, range.end);
    return sum + Math.max(0, end - start);
  }, 0);
}

/** One model's line of the summary, from its day's plain figures. */
export function modelDaySummary(m: ModelDay): ModelDaySummary {
  const f = m.figures;
  const dayUsd =
    f.cmu === undefined || f.usdPerCmuMinute === undefined
      ? undefined
      : billCopySeries(m.points) * f.cmu * f.usdPerCmuMinute;
  const day = m.day;
  return {
    model: m.name,
    policy: m.policy,
    cmu: f.cmu ?? null,
    plannedWarmMinutes: Math.round(m.plannedWarmMs / MINUTE_MS),
    observedWarmMinutes: m.points.filter((p) => p.copies >= 1).length,
    coldStarts: day.coldStarts,
    coldStartsInWindow: day.coldStartsInWindow,
    windowsOpenedCold: day.windowsOpenedCold,
    restoreSecondsMedian: median(day.restoreSeconds) ?? null,
    restoreSecondsMax: day.restoreSeconds.length > 0 ? Math.max(...day.restoreSeconds) : null,
    evictionMinutesMedian: median(m.total.evictionMinutes) ?? null,
    restoreSecondsMedianAllTime: median(m.total.restoreSeconds) ?? null,
    pingsOk: day.pingsOk,
    pingsFailed: day.pingsFailed,
    recoveries: day.recoveries,
    dayUsd: centsOrNull(dayUsd),
    monthToDateUsd: centsOrNull(f.monthToDateUsd),
    projectedMonthUsd: centsOrNull(f.projectedMonthUsd),
    alwaysOnMonthUsd: centsOrNull(f.alwaysOnMonthUsd),
    savingUsd: centsOrNull(f.savingUsd),
    timings: timingFields(m.timings),
    budget: budgetDay(m.budgetUsd, f.projectedMonthUsd),
  };
}

/** A budget and how much of it the projection takes; null without a budget. */
export function budgetDay(
  budgetUsd: number | undefined,
  projectedMonthUsd: number | undefined,
): BudgetDaySummary | null {
  if (budgetUsd === undefined) return null;
  return {
    budgetUsd,
    projectedMonthUsd: centsOrNull(projectedMonthUsd),
    ratio:
      projectedMonthUsd === undefined
        ? null
        : Math.round((projectedMonthUsd / budgetUsd) * 1000) / 1000,
  };
}
