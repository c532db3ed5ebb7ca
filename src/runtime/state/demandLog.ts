import { join } from "node:path";
import {
  appendLine,
  parseJsonLines,
  readStateFile,
  type SkippedLine,
  type StateFileSystem,
  writeFileAtomic,
} from "./stateFiles.js";

export const DEMAND_FILE = "demand.jsonl";
/** Weeks kept: a quarter, what `keepwarm report --weeks` can show. */
export const DEMAND_KEEP_WEEKS = 13;
/**
 * The largest demand.jsonl read. A model's weekly record takes about 600 bytes (its 99%
 * windows included): 13 weeks of 10,000 models are 78 MB.
 */
export const DEMAND_MAX_BYTES = 128 * 1024 * 1024;
/** Every line starts so: a torn fragment before it is recovered from (parseJsonLines). */
const LINE_START = '{"at":';

/** One model's week: the fields of its `demand` log line. */
export interface DemandRecord {
  readonly model: string;
  readonly weekFrom: string;
  readonly weekTo: string;
  readonly calls: number;
  readonly outsideWindows: number;
  readonly metCold: number | null;
  readonly coveragePct: number;
  readonly monthlyUsd: number | null;
  readonly suggestion: {
    readonly label: string;
    readonly coveragePct: number;
    readonly monthlyUsd: number | null;
    readonly windows: readonly { days: string; from: string; to: string }[];
  } | null;
  /** The suggestion's month less the current one's: negative saves, positive adds. */
  readonly changeUsd: number | null;
}

/** One line of demand.jsonl: a week's records of every model. */
export interface DemandWeek {
  readonly at: string;
  readonly weeks: number;
  readonly models: readonly DemandRecord[];
}

function isWeek(value: unknown): value is DemandWeek {
  const w = value as Partial<DemandWeek> | null;
  return typeof w === "object" && w !== null && typeof w.at === "string" && Array.isArray(w.models);
}

/**
 * Appends the week's records to `stateDir`'s demand.jsonl, whole or not at all, and keeps
 * the last DEMAND_KEEP_WEEKS lines (the file replaced whole when a line is dropped).
 */
export async function appendDemandWeek(
  stateDir: string,
  week: DemandWeek,
  fs?: StateFileSystem,
): Promise<void> {
  const path = join(stateDir, DEMAND_FILE);
  await appendLine(path, JSON.stringify(week), fs);
  const { weeks } = await readDemandWeeks(stateDir, fs);
  if (weeks.length > DEMAND_KEEP_WEEKS) {
    const kept = weeks.slice(-DEMAND_KEEP_WEEKS).map((w) => JSON.stringify(w));
    await writeFileAtomic(path, `${kept.join("\n")}\n`, fs);
  }
}

/** The weeks demand.jsonl holds, oldest first; none when it does not exist yet. */
export async function readDemandWeeks(
  stateDir: string,
  fs?: StateFileSystem,
): Promise<{
  readonly path: string;
  readonly weeks: DemandWeek[];
  readonly skipped: SkippedLine[];
}> {
  const path = join(stateDir, DEMAND_FILE);
  let text: string;
  try {
    text = await readStateFile(path, { maxBytes: DEMAND_MAX_BYTES, fs });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { path, weeks: [], skipped: [] };
    throw error;
  }
  const { records, skipped } = parseJsonLines(text, isWeek, LINE_START);
  return { path, weeks: records, skipped };
}
