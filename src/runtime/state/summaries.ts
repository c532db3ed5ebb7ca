import { open, rename, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { BudgetCrossing } from "../../domain/budget.js";
import { trackStateIo } from "../infra/shutdown.js";
import type { OverheadDaySummary } from "../spend/overhead.js";
import {
  appendLine,
  openRegular,
  type StateFileHandle,
  type StateFileSystem,
  syncDirectory,
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
  /** keepwarm's own AWS calls of the day and their cost; absent in summaries written before it was counted. */
  readonly overhead?: OverheadDaySummary;
  /** UTC days reconciled with AWS's bill since the previous summary; absent when none was. */
  readonly reconciled?: readonly ReconciledDaySummary[];
}

/** A final UTC day reconciled with AWS's bill (Cost Explorer): one entry per usage type. */
export interface ReconciledDaySummary {
  /** yyyy-MM-dd, UTC. */
  readonly date: string;
  readonly groups: readonly {
    readonly usageType: string;
    readonly kind: string;
    readonly models: readonly string[];
    readonly unmanaged: readonly string[];
    readonly keepwarmUsd: number | null;
    readonly awsUsd: number | null;
    readonly diffPct: number | null;
    /** match, mismatch, unmanaged or unknown (keepwarm's figure). */
    readonly status: string;
  }[];
}

export const SUMMARIES_FILE = "summaries.jsonl";
/** Months of summaries kept in summaries.jsonl besides the current one; older ones are archived. */
export const SUMMARY_RETENTION_MONTHS = 13;
/**
 * The longest summary line read. A model takes about 720 bytes of a day's line (timings and
 * budget included): 20,000 models make a line of 14.4 MB.
 */
export const SUMMARY_MAX_LINE_BYTES = 32 * 1024 * 1024;
/** What every summary line starts with, `{"date":"yyyy-MM-dd"`. */
export const SUMMARY_LINE_START = '{"date":';
const DATED = /^\{"date":"(\d{4})-(\d{2})-(\d{2})"/;
/** Bytes read at a time, from the end for a report, from the start to archive. */
export const CHUNK_BYTES = 1024 * 1024;

/** The yearly archive that summaries of `year` are moved to. */
export function archiveFileOf(year: string): string {
  return `summaries-${year}.jsonl`;
}

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
 * First, at the first summary of a month, summaries older than SUMMARY_RETENTION_MONTHS
 * months before it are moved to their yearly archives (archiveSummaries); if that fails the
 * summary is still appended, and the move is tried again at the next one.
 */
export async function appendSummary(
  stateDir: string,
  summary: DailySummary,
  fs?: StateFileSystem,
): Promise<string> {
  const path = join(stateDir, SUMMARIES_FILE);
  await archiveSummaries(stateDir, summary.date).catch(() => undefined);
  await appendLine(path, JSON.stringify(summary), fs);
  return path;
}

/** The first date kept in summaries.jsonl when a summary of `date` is written: yyyy-MM-01. */
export function retentionStart(date: string, months = SUMMARY_RETENTION_MONTHS): string {
  const match = DATED.exec(`{"date":"${date}"`);
  if (!match) throw new RangeError(`not a summary date: "${date}"`);
  const index = Number(match[1]) * 12 + (Number(match[2]) - 1) - months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-01`;
}

/** The date a line starts with, or undefined for a line that does not start as a summary. */
function dateAt(prefix: Buffer): string | undefined {
  const match = DATED.exec(prefix.toString("latin1"));
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

/** Byte offsets where the lines of `file` start, read a chunk at a time. */
async function lineStarts(file: StateFileHandle, size: number): Promise<number[]> {
  const starts = size > 0 ? [0] : [];
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  for (let pos = 0; pos < size; ) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(CHUNK_BYTES, size - pos), pos);
    if (bytesRead === 0) break;
    for (
      let i = buffer.indexOf(0x0a, 0);
      i !== -1 && i < bytesRead;
      i = buffer.indexOf(0x0a, i + 1)
    ) {
      if (pos + i + 1 < size) starts.push(pos + i + 1);
    }
    pos += bytesRead;
  }
  return starts;
}

interface Range {
  readonly start: number;
  end: number;
  /** Archive year, or undefined for summaries.jsonl. */
  readonly year: string | undefined;
}

/**
 * Moves the summaries dated before `retentionStart(date)` from summaries.jsonl to
 * `summaries-YYYY.jsonl`, one archive per year, appended in order. Runs when the file's
 * first summary is that old, which is at the first summary of a month. The archives are
 * appended and fsync'd first, then summaries.jsonl is replaced whole by what it keeps: a
 * crash in between leaves those summaries in both, never in neither. A line that does not
 * start as a summary goes where the line before it goes. Memory stays at a chunk whatever
 * the file's size. Returns the number of bytes moved.
 */
export async function archiveSummaries(
  stateDir: string,
  date: string,
  months = SUMMARY_RETENTION_MONTHS,
): Promise<number> {
  const path = join(stateDir, SUMMARIES_FILE);
  return trackStateIo(path, archiveOld(stateDir, path, retentionStart(date, months)));
}

let archiveTemp = 0;

async function archiveOld(stateDir: string, path: string, keepFrom: string): Promise<number> {
  let source: { file: StateFileHandle; size: number };
  try {
    source = await openRegular(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw error;
  }
  const { file, size } = source;
  try {
    const head = Buffer.alloc(32);
    const first = await file.read(head, 0, head.length, 0);
    const firstDate = dateAt(head.subarray(0, first.bytesRead));
    if (firstDate === undefined || firstDate >= keepFrom) return 0;
    const ranges: Range[] = [];
    let year: string | undefined;
    for (const start of await lineStarts(file, size)) {
      const { bytesRead } = await file.read(head, 0, head.length, start);
      const lineDate = dateAt(head.subarray(0, bytesRead));
      if (lineDate !== undefined) year = lineDate < keepFrom ? lineDate.slice(0, 4) : undefined;
      const last = ranges.at(-1);
      if (last && last.year === year) continue;
      if (last) last.end = start;
      ranges.push({ start, end: size, year });
    }
    const moved = ranges.filter((r) => r.year !== undefined);
    if (moved.length === 0) return 0;
    for (const [y, list] of groupByYear(moved)) {
      await copyRanges(file, list, join(stateDir, archiveFileOf(y)), "append");
    }
    archiveTemp += 1;
    const temp = `${path}.tmp-${process.pid}-${archiveTemp}`;
    try {
      await copyRanges(
        file,
        ranges.filter((r) => r.year === undefined),
        temp,
        "replace",
      );
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDirectory(dirname(path));
    return moved.reduce((sum, r) => sum + r.end - r.start, 0);
  } finally {
    await file.close().catch(() => undefined);
  }
}

function groupByYear(ranges: readonly Range[]): Map<string, Range[]> {
  const byYear = new Map<string, Range[]>();
  for (const r of ranges) {
    const year = r.year as string;
    byYear.set(year, [...(byYear.get(year) ?? []), r]);
  }
  return byYear;
}

/** Copies byte ranges of `from` to `to` (appended on a fresh line, or a new file), fsync'd. */
async function copyRanges(
  from: StateFileHandle,
  ranges: readonly Range[],
  to: string,
  mode: "append" | "replace",
): Promise<void> {
  const out = await open(to, mode === "append" ? "a+" : "w");
  try {
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let lastByte: number | undefined;
    if (mode === "append") {
      const { size } = await out.stat();
      if (size > 0) {
        const { bytesRead } = await out.read(buffer, 0, 1, size - 1);
        if (bytesRead === 1) lastByte = buffer[0];
      }
    }
    const write = async (bytes: Buffer) => {
      for (let done = 0; done < bytes.length; ) {
        const { bytesWritten } = await out.write(bytes, done, bytes.length - done, null);
        if (bytesWritten <= 0) throw new Error(`short write to ${to}`);
        done += bytesWritten;
      }
      if (bytes.length > 0) lastByte = bytes[bytes.length - 1];
    };
    if (lastByte !== undefined && lastByte !== 0x0a) await write(Buffer.from("\n"));
    for (const range of ranges) {
      for (let pos = range.start; pos < range.end; ) {
        const { bytesRead } = await from.read(
          buffer,
          0,
          Math.min(CHUNK_BYTES, range.end - pos),
          pos,
        );
        if (bytesRead === 0) break;
        await write(buffer.subarray(0, bytesRead));
        pos += bytesRead;
      }
      if (lastByte !== undefined && lastByte !== 0x0a) await write(Buffer.from("\n"));
    }
    await out.sync();
  } finally {
    await out.close().catch(() => undefined);
  }
}
