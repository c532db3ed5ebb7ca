import { DEFAULT_CMU_VERSION } from "../domain/price.js";
import type { CopyRun } from "./fleet.js";

/** A half-open range of instants, [start, end), epoch ms. */
export interface TimeRange {
  readonly start: number;
  readonly end: number;
}

export interface LedgerRun {
  readonly start: number;
  /** Undefined while the copy is still up; its bill then runs to the ledger's `asOf`. */
  readonly end: number | undefined;
  readonly billedWindows: number;
}

export interface LedgerCopy {
  readonly copy: number;
  readonly runs: readonly LedgerRun[];
  readonly billedWindows: number;
  readonly billedMinutes: number;
}

export interface LedgerModel {
  readonly modelArn: string;
  readonly customModelUnits: number;
  /** The CMU version GetImportedModel reports for the model, which selects its price. */
  readonly cmuVersion: string;
  /** AWS's list price of the model's region and CMU version (the built-in table's), per CMU-minute. */
  readonly usdPerCmuMinute: number;
  readonly copies: readonly LedgerCopy[];
  readonly billedWindows: number;
  readonly billedMinutes: number;
  readonly cmuMinutes: number;
  readonly usd: number;
}

/** What AWS would bill: the ground truth keepwarm's projections are checked against. */
export interface Ledger {
  /** The instant the ledger was drawn up at. */
  readonly asOf: number;
  /** Only windows starting in this range are counted, when given. */
  readonly range: TimeRange | undefined;
  readonly billingWindowMs: number;
  /** The price of a model whose region and CMU version the built-in table lacks (a setting). */
  readonly usdPerCmuMinute: number;
  readonly models: readonly LedgerModel[];
  readonly cmuMinutes: number;
  readonly usd: number;
}

/**
 * Billing windows of a copy run that start in the range. A run is billed in whole windows
 * from its first successful call: up 7 minutes is two 5-minute windows. A run still up at
 * `asOf` has been billed for every window that has started by then.
 */
export function billedWindowsOf(
  run: CopyRun,
  windowMs: number,
  asOf: number,
  range?: TimeRange,
): number {
  const total =
    run.end === undefined
      ? Math.floor((asOf - run.start) / windowMs) + 1
      : Math.max(1, Math.ceil((run.end - run.start) / windowMs));
  if (!range) return total;
  const first = Math.max(0, Math.ceil((range.start - run.start) / windowMs));
  const last = Math.min(total, Math.ceil((range.end - run.start) / windowMs));
  return Math.max(0, last - first);
}

/** The bill of one model from its copy runs, at its own price per CMU-minute. */
export function billModel(
  modelArn: string,
  customModelUnits: number,
  runs: readonly CopyRun[],
  options: {
    windowMs: number;
    usdPerCmuMinute: number;
    asOf: number;
    range?: TimeRange;
    cmuVersion?: string;
  },
): LedgerModel {
  const byCopy = new Map<number, LedgerRun[]>();
  for (const run of runs) {
    if (run.start > options.asOf) continue;
    const billedWindows = billedWindowsOf(run, options.windowMs, options.asOf, options.range);
    if (billedWindows === 0) continue;
    const list = byCopy.get(run.copy) ?? [];
    list.push({ start: run.start, end: run.end, billedWindows });
    byCopy.set(run.copy, list);
  }
  const windowMinutes = options.windowMs / 60_000;
  const copies = [...byCopy.entries()]
    .sort(([a], [b]) => a - b)
    .map(([copy, list]): LedgerCopy => {
      const billedWindows = list.reduce((n, r) => n + r.billedWindows, 0);
      return { copy, runs: list, billedWindows, billedMinutes: billedWindows * windowMinutes };
    });
  const billedWindows = copies.reduce((n, c) => n + c.billedWindows, 0);
  const billedMinutes = billedWindows * windowMinutes;
  const cmuMinutes = billedMinutes * customModelUnits;
  return {
    modelArn,
    customModelUnits,
    cmuVersion: options.cmuVersion ?? DEFAULT_CMU_VERSION,
    usdPerCmuMinute: options.usdPerCmuMinute,
    copies,
    billedWindows,
    billedMinutes,
    cmuMinutes,
    usd: cmuMinutes * options.usdPerCmuMinute,
  };
}
