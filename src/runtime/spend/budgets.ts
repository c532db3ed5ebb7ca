import {
  type BudgetCrossing,
  budgetStandings,
  describeCrossing,
  dueCrossings,
  type ModelSpend,
} from "../../domain/budget.js";
import { cents } from "../../domain/format.js";
import { monthOf, monthRange } from "../../domain/spend.js";
import type { Budgets as BudgetSettings } from "../../domain/types.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { BudgetScope, DaemonObserver } from "../infra/observer.js";
import { readBudgetCrossings, writeBudgetCrossings } from "../state/budgetState.js";
import type { LeaseHolder } from "../state/stateLease.js";

export interface BudgetsDeps {
  readonly stateDir: string;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  /** The logger of a model's lines, so a model's crossing carries its name. */
  readonly logOf: (model: string) => Logger | undefined;
  /** Crossings are announced only while this replica holds the state directory's lease. */
  readonly lease?: LeaseHolder;
}

/**
 * Budgets after the minute's spend lines: a gauge per budget, and an `event: budget` line
 * for each threshold the projection is at or above that was not announced yet this month.
 * Owns the crossings announced (budgets.json), read at the first check.
 */
export class Budgets {
  readonly #deps: BudgetsDeps;
  /** Crossings of this month and the last, as budgets.json holds them. */
  #crossings: Promise<BudgetCrossing[]> | undefined;
  /** Budgets whose gauges are set, so that one a reload drops is removed. */
  readonly #gauges = new Map<string, BudgetScope>();
  #write: Promise<unknown> = Promise.resolve();

  constructor(deps: BudgetsDeps) {
    this.#deps = deps;
  }

  /** The crossings announced, once they have been read; none before the first check. */
  async announced(): Promise<readonly BudgetCrossing[]> {
    return (await this.#crossings) ?? [];
  }

  /** Resolves once the last crossing write has reached the disk. */
  flushed(): Promise<unknown> {
    return this.#write;
  }

  async check(
    budgets: BudgetSettings | undefined,
    spend: readonly ModelSpend[],
    now: number,
    stopped: () => boolean,
  ): Promise<void> {
    const standings = budgetStandings(budgets, spend);
    const shown = new Set<string>();
    for (const s of standings) {
      const scope: BudgetScope =
        s.model === null ? { scope: "fleet" } : { scope: "model", model: s.model };
      const key = JSON.stringify(scope);
      shown.add(key);
      this.#gauges.set(key, scope);
      this.#deps.observer.budget?.(scope, s.budgetUsd, s.projectedMonthUsd);
    }
    for (const [key, scope] of this.#gauges) {
      if (shown.has(key)) continue;
      this.#gauges.delete(key);
      this.#deps.observer.budgetRemoved?.(scope);
    }
    if (standings.length === 0) return;
    if (this.#deps.lease && !this.#deps.lease.holds()) {
      // The holder announces them; read afresh once this replica takes the lease over.
      this.#crossings = undefined;
      return;
    }
    const { stateDir, log } = this.#deps;
    this.#crossings ??= readBudgetCrossings(stateDir).catch((error: unknown) => {
      log.warn(
        { event: "budget-state-unreadable", stateDir, error: describeError(error) },
        "budget crossings announced earlier are not known: ignored, and replaced at the next crossing",
      );
      return [];
    });
    const announced = await this.#crossings;
    const due = standings.flatMap((s) => dueCrossings(s, announced, now));
    if (due.length === 0 || stopped()) return;
    // Last month's stay for the midnight summary that follows the month's end.
    const lastMonth = monthOf(monthRange(monthOf(now)).start - 1);
    announced.splice(0, announced.length, ...announced.filter((c) => c.month >= lastMonth), ...due);
    for (const c of due) this.#logCrossing(c);
    const crossings = [...announced];
    const write = this.#write.then(() =>
      writeBudgetCrossings(stateDir, crossings).catch((error: unknown) => {
        log.error(
          { event: "budget-state-write-failed", stateDir, error: describeError(error) },
          "budget crossings not saved: a restart may announce them again",
        );
      }),
    );
    this.#write = write;
    await write;
  }

  #logCrossing(c: BudgetCrossing): void {
    const fleet = c.model === null;
    const log = (c.model !== null && this.#deps.logOf(c.model)) || this.#deps.log;
    log.warn(
      {
        event: "budget",
        scope: fleet ? "fleet" : "model",
        threshold: c.threshold,
        month: c.month,
        budgetUsd: c.budgetUsd,
        projectedMonthUsd: cents(c.projectedMonthUsd),
        monthToDateUsd: cents(c.monthToDateUsd),
        ratio: Math.round((c.projectedMonthUsd / c.budgetUsd) * 1000) / 1000,
        reachedOn: c.reachedOn,
        ...(fleet ? { modelsWithUnknownCmu: c.modelsWithUnknownCmu } : {}),
      },
      describeCrossing(c),
    );
  }
}
