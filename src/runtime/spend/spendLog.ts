import { cents, centsOrNull, formatUsd } from "../../domain/format.js";
import type { DaemonSettings } from "../../domain/types.js";
import type { Logger } from "../infra/logger.js";
import type { WarmState } from "../infra/observer.js";
import type { OverheadFigures } from "./overhead.js";
import type { SpendFigures } from "./spendBook.js";

/** One model's line of the minute: its observed state, its figures and its logger. */
export interface SpendEntry {
  readonly name: string;
  readonly log: Logger;
  readonly state: WarmState;
  readonly copies: number | undefined;
  /** The last ModelCopy read is too old to tell the state: since when, and why. */
  readonly stale?: { readonly asOf: number; readonly reason: string } | undefined;
  readonly figures: SpendFigures;
  /** Why spend is unknown, when it is. */
  readonly spendUnknown: string | undefined;
}

/**
 * The minute's spend lines: one per model by default; with `daemon.spendLog.perModel:
 * on-change` (large fleets) one total, plus a model's line when its state, copies or CMU
 * changed and at least every `refresh`.
 */
export class SpendLog {
  readonly #log: Logger;
  /** When each model's spend line was last logged, and what it said, for `on-change`. */
  readonly #logged = new Map<string, { at: number; key: string }>();

  constructor(log: Logger) {
    this.#log = log;
  }

  forget(name: string): void {
    this.#logged.delete(name);
  }

  /** The minute's lines; `overhead`, keepwarm's own AWS cost, goes on the total line. */
  write(
    entries: readonly SpendEntry[],
    setting: DaemonSettings["spendLog"],
    now: number,
    overhead?: OverheadFigures,
  ): void {
    const onChange = setting?.perModel === "on-change";
    const total = { warm: 0, cold: 0, unknown: 0, copies: 0, spendUnknown: 0, perModelLines: 0 };
    const usd = { monthToDate: 0, projectedMonth: 0, alwaysOnMonth: 0, saving: 0 };
    for (const e of entries) {
      const f = e.figures;
      const key = `${e.state}|${e.copies}|${f.cmu}`;
      const last = this.#logged.get(e.name);
      if (!onChange || !last || last.key !== key || now - last.at >= (setting?.refreshMs ?? 0)) {
        logSpend(e);
        this.#logged.set(e.name, { at: now, key });
        total.perModelLines++;
      }
      total[e.state]++;
      total.copies += e.copies ?? 0;
      if (f.cmu === undefined || f.usdPerCmuMinute === undefined) total.spendUnknown++;
      usd.monthToDate += f.monthToDateUsd ?? 0;
      usd.projectedMonth += f.projectedMonthUsd ?? 0;
      usd.alwaysOnMonth += f.alwaysOnMonthUsd ?? 0;
      usd.saving += f.savingUsd ?? 0;
    }
    if (!onChange) return;
    this.#log.info(
      {
        event: "spend-total",
        models: entries.length,
        ...total,
        monthToDateUsd: cents(usd.monthToDate),
        projectedMonthUsd: cents(usd.projectedMonth),
        alwaysOnMonthUsd: cents(usd.alwaysOnMonth),
        savingUsd: cents(usd.saving),
        ...(overhead
          ? {
              overheadUsd: cents(overhead.monthToDateUsd),
              overheadProjectedMonthUsd: centsOrNull(overhead.projectedMonthUsd),
              overheadSince: new Date(overhead.since).toISOString(),
            }
          : {}),
      },
      `${entries.length} models, ${total.warm} warm; month to date ${formatUsd(usd.monthToDate)}, projected ${formatUsd(usd.projectedMonth)}` +
        (overhead ? `; keepwarm's own AWS calls ${formatUsd(overhead.monthToDateUsd)}` : ""),
    );
  }
}

function logSpend(e: SpendEntry): void {
  if (!e.log.isLevelEnabled("info")) return;
  const f = e.figures;
  e.log.info(
    {
      event: "spend",
      state: e.state,
      copies: e.copies ?? null,
      cmu: f.cmu ?? null,
      cmuVersion: f.cmuVersion ?? null,
      usdPerCmuMinute: f.usdPerCmuMinute ?? null,
      monthToDateUsd: centsOrNull(f.monthToDateUsd),
      projectedMonthUsd: centsOrNull(f.projectedMonthUsd),
      alwaysOnMonthUsd: centsOrNull(f.alwaysOnMonthUsd),
      savingUsd: centsOrNull(f.savingUsd),
      ...(f.monthToDateUsd === undefined
        ? { spendUnknown: e.spendUnknown ?? "custom model units unknown" }
        : {}),
      ...(e.stale
        ? {
            stale: true,
            dataAsOf: new Date(e.stale.asOf).toISOString(),
            staleReason: e.stale.reason,
          }
        : {}),
    },
    e.stale
      ? `${e.state}: CloudWatch not read since ${new Date(e.stale.asOf).toISOString()}; ${f.projectedMonthUsd === undefined ? "spend unknown" : `month to date ${formatUsd(f.monthToDateUsd ?? 0)} as of then`}`
      : f.projectedMonthUsd === undefined
        ? `${e.state}; spend unknown`
        : `${e.state}; month to date ${formatUsd(f.monthToDateUsd ?? 0)}, projected ${formatUsd(f.projectedMonthUsd)}`,
  );
}
