import type { CopyPoint } from "../../aws/metrics.js";
import type { Interval } from "../../domain/interval.js";
import { isPlannedWarm, type ModelPlan } from "../../domain/plan.js";
import type { PricedUnits } from "../../domain/price.js";
import {
  billCopySeries,
  monthOf,
  monthRange,
  projectMonth,
  projectRestOfMonth,
} from "../../domain/spend.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import { HOUR_MS, MINUTE_MS } from "../../domain/units.js";
import { CopyHistory } from "./copyHistory.js";

/** A model's spend figures at one instant; undefined where the CMU or its version's price is unknown. */
export interface SpendFigures {
  readonly cmu: number | undefined;
  /** The CMU version the CMUs are priced at; undefined while unknown. */
  readonly cmuVersion?: string | undefined;
  /** The price of that version in the model's region; undefined while unknown. */
  readonly usdPerCmuMinute: number | undefined;
  readonly monthToDateUsd: number | undefined;
  readonly projectedMonthUsd: number | undefined;
  readonly alwaysOnMonthUsd: number | undefined;
  readonly savingUsd: number | undefined;
}

/** A model's units as `figures` takes them: CMUs and version as known, priced when both are. */
export interface SpendUnits {
  readonly cmu: number | undefined;
  readonly cmuVersion?: string | undefined;
  readonly priced: PricedUnits | undefined;
}

const sameUnits = (a: PricedUnits, b: PricedUnits): boolean =>
  a.cmu === b.cmu &&
  a.price.usdPerCmuMinute === b.price.usdPerCmuMinute &&
  a.price.storageUsdPerCmuMonth === b.price.storageUsdPerCmuMonth;

/** The ModelCopy datapoints of one model, as the book holds them: for readers, never written. */
export interface CopyReader {
  latest(): CopyPoint | undefined;
  pointsIn(range: Interval): CopyPoint[];
}

/** What the rest of the month is projected from: the model's plan as its controller has it. */
export interface PlanView {
  readonly config: ResolvedConfig;
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
  readonly timingsVersion: number;
  planAround(t: number): ModelPlan;
}

interface RestOfMonth {
  readonly validUntil: number;
  /** The timings version the figures were planned with. */
  readonly timingsVersion: number;
  /** The CMUs and price they were priced at: a reload may change either. */
  readonly units: PricedUnits;
  readonly restUsd: number;
  readonly alwaysOnUsd: number;
}

interface Account {
  history: CopyHistory;
  rest: RestOfMonth | undefined;
  /** The month so far has been read whole (a rebuild worked): until then month to date is unknown. */
  monthRead: boolean;
}

/**
 * The fleet's bill: each model's ModelCopy history of the UTC month (the only copy of it),
 * the month's roll, and the projection of the rest of the month, memoised while the plan
 * cannot change it. Queries change nothing that another query could see.
 */
export class SpendBook {
  readonly #accounts = new Map<string, Account>();

  /** Opens an empty account for `name` in the month of `now` (a new model, or one whose ARN changed). */
  open(name: string, now: number): void {
    this.#accounts.set(name, {
      history: new CopyHistory(monthRange(monthOf(now))),
      rest: undefined,
      monthRead: false,
    });
  }

  close(name: string): void {
    this.#accounts.delete(name);
  }

  has(name: string): boolean {
    return this.#accounts.has(name);
  }

  /** Adds the datapoints a poll read. */
  record(name: string, points: readonly CopyPoint[], now: number): void {
    this.#account(name).history.merge(points, now);
  }

  /**
   * Replaces the month with a read of all of it: polls made while an earlier backfill failed
   * have settled points that older ones could no longer join.
   */
  rebuild(name: string, points: readonly CopyPoint[], now: number): void {
    const account = this.#account(name);
    account.history = account.history.rollTo(monthRange(monthOf(now)));
    account.history.merge(points, now);
    account.monthRead = true;
  }

  /** Whether month to date is known: the month has been read from CloudWatch since the start. */
  monthRead(name: string): boolean {
    return this.#account(name).monthRead;
  }

  /** A new UTC month starts a new bill: every account whose month is over rolls to `now`'s. */
  rollMonth(now: number): void {
    for (const account of this.#accounts.values()) {
      if (now < account.history.month.end) continue;
      const month = monthRange(monthOf(now));
      // Every point of the new month read so far: after an outage over the month's end these
      // are more than the last poll's.
      const recent = account.history.pointsIn({ start: month.start, end: now });
      account.history = account.history.rollTo(month);
      account.history.merge(recent, now);
      account.rest = undefined;
    }
  }

  /** The plan changed (a reload): the rest of the month is projected again at the next query. */
  replan(name: string): void {
    const account = this.#accounts.get(name);
    if (account) account.rest = undefined;
  }

  latest(name: string): CopyPoint | undefined {
    return this.#account(name).history.latest();
  }

  pointsIn(name: string, range: Interval): CopyPoint[] {
    return this.#account(name).history.pointsIn(range);
  }

  /** Copy-minutes billed in `now`'s month so far. */
  billedCopyMinutes(name: string, now: number): number {
    const history = this.#account(name).history;
    if (now < history.month.end) return history.billedCopyMinutes();
    // The month ended and the minute job has not rolled it yet: bill what is read of the new one.
    const month = monthRange(monthOf(now));
    return billCopySeries(history.pointsIn({ start: month.start, end: now }));
  }

  /**
   * The spend figures of one model at `now`, a copy of `units` (its CMUs at their version's
   * price: `priced` undefined while either is unknown, and so is every figure in USD).
   * Month to date, and so the projection, are unknown until the month has been read whole.
   * `fresh` projects the rest of the month again without keeping it (a reload's before/after);
   * `gone`: the model no longer exists, so nothing is projected beyond month to date.
   */
  figures(
    name: string,
    view: PlanView,
    units: SpendUnits,
    now: number,
    opts: { readonly fresh?: boolean; readonly gone?: boolean } = {},
  ): SpendFigures {
    const { cmu, cmuVersion, priced } = units;
    const usdPerCmuMinute = priced?.price.usdPerCmuMinute;
    if (priced === undefined || usdPerCmuMinute === undefined) {
      return {
        cmu,
        cmuVersion,
        usdPerCmuMinute,
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        alwaysOnMonthUsd: undefined,
        savingUsd: undefined,
      };
    }
    const rest = this.#restOfMonth(name, view, priced, now, opts.fresh ?? false);
    if (!this.#account(name).monthRead) {
      return {
        cmu,
        cmuVersion,
        usdPerCmuMinute,
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        alwaysOnMonthUsd: rest.alwaysOnUsd,
        savingUsd: undefined,
      };
    }
    const monthToDateUsd = this.billedCopyMinutes(name, now) * priced.cmu * usdPerCmuMinute;
    // A model AWS says does not exist is billed nothing more this month.
    const projectedMonthUsd = monthToDateUsd + (opts.gone ? 0 : rest.restUsd);
    return {
      cmu,
      cmuVersion,
      usdPerCmuMinute,
      monthToDateUsd,
      projectedMonthUsd,
      alwaysOnMonthUsd: rest.alwaysOnUsd,
      savingUsd: rest.alwaysOnUsd - projectedMonthUsd,
    };
  }

  /**
   * The plan's compute for the rest of the month plus storage, and the always-on price.
   * Planning a month is too dear to do every minute for every model, but the rest of the
   * month only changes while the plan keeps the model warm: it is recomputed every 5
   * minutes then, and otherwise when the next planned warm run begins.
   */
  #restOfMonth(
    name: string,
    view: PlanView,
    units: PricedUnits,
    now: number,
    fresh: boolean,
  ): RestOfMonth {
    const account = this.#account(name);
    const cached = fresh ? undefined : account.rest;
    if (
      cached &&
      now < cached.validUntil &&
      cached.timingsVersion === view.timingsVersion &&
      sameUnits(cached.units, units)
    )
      return cached;
    const { config, model, timings } = view;
    const month = monthOf(now);
    const restUsd = projectRestOfMonth(config, model, units, now, 0, timings);
    const alwaysOnUsd =
      cached?.alwaysOnUsd !== undefined &&
      monthOf(cached.validUntil - 1) === month &&
      sameUnits(cached.units, units)
        ? cached.alwaysOnUsd
        : projectMonth(config, model, units, month, timings).alwaysOnUsd;
    const plan = view.planAround(now);
    const nextRun = plan.warm.find((w) => w.start > now)?.start;
    const validUntil = isPlannedWarm(plan, now)
      ? Math.floor(now / (5 * MINUTE_MS)) * 5 * MINUTE_MS + 5 * MINUTE_MS
      : Math.min(nextRun ?? now + HOUR_MS, now + HOUR_MS, monthRange(month).end);
    const entry = { validUntil, timingsVersion: view.timingsVersion, units, restUsd, alwaysOnUsd };
    if (!fresh) account.rest = entry;
    return entry;
  }

  #account(name: string): Account {
    const account = this.#accounts.get(name);
    if (!account) throw new RangeError(`no spend account for model "${name}"`);
    return account;
  }
}
