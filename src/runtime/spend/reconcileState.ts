import { join } from "node:path";
import { KeepwarmError } from "../../domain/errors.js";
import { addDays, GIVE_UP_DAYS, type ReconcileSchedule } from "../../domain/reconcileSchedule.js";
import {
  groupFigures,
  type ReconcileDay,
  type ReconcileStatus,
  type UsageKind,
} from "../../reconcile/types.js";
import { readStateFile, type StateFileSystem, writeFileAtomic } from "../state/stateFiles.js";

/** The UTC days already reconciled with AWS's bill, and each usage type's newest final day. */
export const RECONCILE_FILE = "reconcile.json";
/**
 * The largest reconcile.json read. Its size is the usage types' model lists: 20,000 models
 * with 64-character names under one or more usage types, inference and storage, make 2.7 MB;
 * the 46 dates of the schedule and a few hundred usage types add less than 100 KB.
 */
export const RECONCILE_MAX_BYTES = 8 * 1024 * 1024;
const FORMAT = "keepwarm-reconcile/1";

/** A usage type's newest final day, and how many final days in a row up to it are a mismatch. */
export interface UsageStanding {
  readonly usageType: string;
  readonly kind: UsageKind;
  /** The UTC day of the figures, yyyy-MM-dd. */
  readonly date: string;
  readonly models: readonly string[];
  readonly unmanaged: readonly string[];
  readonly keepwarmUsd: number | null;
  readonly awsUsd: number | null;
  readonly diffPct: number | null;
  readonly status: ReconcileStatus;
  /**
   * Final days in a row, ending with the newest day reconciled, on which AWS's bill and
   * keepwarm's figure differ (`mismatch`); 0 once a day matches or does not bill the usage type.
   */
  readonly mismatchDays: number;
}

export interface ReconcileState {
  readonly schedule: ReconcileSchedule;
  readonly usage: readonly UsageStanding[];
}

/** reconcile.json cannot be read or is not what keepwarm writes. */
export class ReconcileStateError extends KeepwarmError {
  override readonly name = "ReconcileStateError";
}

/**
 * The standings once final `day` is taken in: each of its usage types gets the day's figures
 * and its run of mismatches (one more when the day before was one too); a usage type the day
 * does not bill ends its run. A day older than a standing does not overwrite it. Usage types
 * not billed for GIVE_UP_DAYS are dropped.
 */
export function standingsAfter(
  before: readonly UsageStanding[],
  day: ReconcileDay,
): UsageStanding[] {
  const byType = new Map(before.map((s) => [s.usageType, s]));
  const previous = addDays(day.date, -1);
  for (const g of day.groups) {
    const was = byType.get(g.usageType);
    if (was && was.date > day.date) continue;
    const run = was && was.date === previous && was.mismatchDays > 0 ? was.mismatchDays : 0;
    byType.set(g.usageType, {
      ...groupFigures(g),
      date: day.date,
      mismatchDays: g.status === "mismatch" ? run + 1 : 0,
    });
  }
  const billed = new Set(day.groups.map((g) => g.usageType));
  const oldest = addDays(day.date, -GIVE_UP_DAYS);
  const out: UsageStanding[] = [];
  for (const s of byType.values()) {
    if (s.date < oldest) continue;
    out.push(!billed.has(s.usageType) && s.date < day.date ? { ...s, mismatchDays: 0 } : s);
  }
  return out.sort((a, b) => a.usageType.localeCompare(b.usageType));
}

export function reconcilePath(stateDir: string): string {
  return join(stateDir, RECONCILE_FILE);
}

/** The state in `stateDir`; undefined when there is none yet (a first start). */
export async function readReconcileState(
  stateDir: string,
  fs?: StateFileSystem,
): Promise<ReconcileState | undefined> {
  const path = reconcilePath(stateDir);
  let text: string;
  try {
    text = await readStateFile(path, { maxBytes: RECONCILE_MAX_BYTES, fs });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ReconcileStateError(`${path} is not JSON`, { cause: error });
  }
  const file = parsed as { format?: unknown; schedule?: unknown; usage?: unknown } | null;
  if (file === null || typeof file !== "object" || file.format !== FORMAT) {
    throw new ReconcileStateError(`${path} is not a keepwarm reconcile file (format "${FORMAT}")`);
  }
  if (!isSchedule(file.schedule)) throw new ReconcileStateError(`${path}: schedule is malformed`);
  if (!Array.isArray(file.usage) || !file.usage.every(isStanding)) {
    throw new ReconcileStateError(`${path}: usage is malformed`);
  }
  return { schedule: file.schedule, usage: file.usage };
}

/** Replaces the file whole: a crash or a full disk leaves the old state or the new one. */
export async function writeReconcileState(
  stateDir: string,
  state: ReconcileState,
  fs?: StateFileSystem,
): Promise<void> {
  const body = { format: FORMAT, schedule: state.schedule, usage: state.usage };
  await writeFileAtomic(reconcilePath(stateDir), `${JSON.stringify(body)}\n`, fs);
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const isDate = (x: unknown): x is string => typeof x === "string" && DATE.test(x);
const isUsd = (x: unknown) => x === null || (typeof x === "number" && Number.isFinite(x));
const isNames = (x: unknown) => Array.isArray(x) && x.every((n) => typeof n === "string");

function isSchedule(value: unknown): value is ReconcileSchedule {
  const s = value as Partial<ReconcileSchedule> | null;
  return (
    s !== null &&
    typeof s === "object" &&
    isDate(s.since) &&
    Array.isArray(s.settled) &&
    s.settled.every(isDate) &&
    typeof s.notBefore === "number" &&
    Number.isFinite(s.notBefore)
  );
}

const STATUSES: ReadonlySet<unknown> = new Set(
  Object.keys({
    match: true,
    mismatch: true,
    pending: true,
    unmanaged: true,
    unknown: true,
  } satisfies Record<ReconcileStatus, true>),
);

function isStanding(value: unknown): value is UsageStanding {
  const s = value as Partial<UsageStanding> | null;
  return (
    s !== null &&
    typeof s === "object" &&
    typeof s.usageType === "string" &&
    (s.kind === "inference" || s.kind === "storage") &&
    isDate(s.date) &&
    isNames(s.models) &&
    isNames(s.unmanaged) &&
    isUsd(s.keepwarmUsd) &&
    isUsd(s.awsUsd) &&
    isUsd(s.diffPct) &&
    STATUSES.has(s.status) &&
    Number.isInteger(s.mismatchDays) &&
    (s.mismatchDays as number) >= 0
  );
}
