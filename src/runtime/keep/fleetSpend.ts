import { centsOrNull } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import { planModel } from "../../domain/plan.js";
import type { ResolvedConfig } from "../../domain/types.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { CmuLookup } from "../observe/cmuLookup.js";
import type { CopyPoller } from "../observe/copyPoller.js";
import type { Budgets } from "../spend/budgets.js";
import type { OverheadMeter } from "../spend/overhead.js";
import type { CopyReader, SpendBook, SpendFigures } from "../spend/spendBook.js";
import type { SpendLog } from "../spend/spendLog.js";
import { type ModelDay, plannedWarmMs } from "../state/dailySummary.js";
import type { ModelCounters } from "./counters.js";
import { type Seen, seenState, spendUnknownReason } from "./freshness.js";
import type { ModelController } from "./modelController.js";
import type { ModelStatus } from "./status.js";
import { modelStatus } from "./statusView.js";

export interface FleetSpendDeps {
  readonly fleet: ReadonlyMap<string, ModelController>;
  readonly config: () => ResolvedConfig;
  readonly now: () => number;
  readonly book: SpendBook;
  readonly cmu: CmuLookup;
  readonly poller: CopyPoller;
  readonly overhead: OverheadMeter;
  readonly spendLog: SpendLog;
  readonly budgets: Budgets;
  readonly observer: DaemonObserver;
  readonly publishDelayMs: number;
}

/**
 * What the fleet spends, read for those who show it: each model's figures from the spend
 * book at its CMUs and price, the minute's spend lines and gauges, what was last seen of
 * each model and how fresh it is, budgets, the summary's model days and the fleet's
 * projection. It owns no state: the book, the CMU lookup and the poller do.
 */
export class FleetSpend {
  readonly #deps: FleetSpendDeps;

  constructor(deps: FleetSpendDeps) {
    this.#deps = deps;
  }

  /** One model's figures at `now`; `fresh` plans its rest of month again without keeping it. */
  figures(name: string, now: number, fresh = false): SpendFigures {
    const c = this.#deps.fleet.get(name);
    if (!c) throw new RangeError(`no model named "${name}"`);
    return this.#deps.book.figures(name, c, this.#deps.cmu.unitsOf(c.model), now, {
      fresh,
      gone: c.record.modelMissing,
    });
  }

  /** Says what the month-to-date rebuilt from CloudWatch comes to. */
  logMonthToDate(c: ModelController, month: Interval, datapoints: number, now: number): void {
    c.log.info(
      {
        event: "month-to-date",
        since: new Date(month.start).toISOString(),
        datapoints,
        billedCopyMinutes: this.#deps.book.billedCopyMinutes(c.model.name, now),
        monthToDateUsd: centsOrNull(this.figures(c.model.name, now).monthToDateUsd),
      },
      "month to date rebuilt from CloudWatch",
    );
  }

  /** The spend line of every model (or the fleet's, for large fleets) and their gauges. */
  writeLines(now: number): void {
    const { fleet, observer, overhead, spendLog } = this.#deps;
    const entries = [...fleet].map(([name, c]) => {
      const figures = this.figures(name, now);
      observer.projectedMonthUsd(name, figures.projectedMonthUsd);
      observer.spend?.(name, figures);
      const seen = this.seen(c, now);
      if (seen.stale) observer.warmState(name, seen.state);
      return {
        name,
        log: c.log,
        state: seen.state,
        copies: seen.copies,
        stale: seen.stale,
        figures,
        spendUnknown: this.spendUnknown(c),
      };
    });
    const figures = overhead.figures(now);
    observer.overhead?.(figures);
    spendLog.write(entries, this.#deps.config().daemon.spendLog, now, figures);
  }

  /** What was last seen of the model, and whether it is too old to be called current. */
  seen(c: ModelController, now: number): Seen {
    const { poller } = this.#deps;
    return seenState(c.record.observation, {
      readThrough: poller.readThrough(c.model.name),
      failure: poller.failureIn(c.model.region),
      now,
      publishDelayMs: this.#deps.publishDelayMs,
      pollIntervalMs: poller.readIntervalOf(c.model.name),
    });
  }

  /** Why the model's spend is unknown, if it is. */
  spendUnknown(c: ModelController): string | undefined {
    return spendUnknownReason(
      this.#deps.cmu.problemOf(c.model),
      this.#deps.book.monthRead(c.model.name),
      this.#deps.poller.failureIn(c.model.region),
    );
  }

  /** Holds every projection against its budget; `stopped` ends a check cut short by shutdown. */
  async checkBudgets(now: number, stopped: () => boolean): Promise<void> {
    const spend = [...this.#deps.fleet.keys()].map((name) => ({
      name,
      ...this.figures(name, now),
    }));
    await this.#deps.budgets.check(this.#deps.config().budgets, spend, now, stopped);
  }

  /** What the spend book holds of one model's copies, for its controller. */
  copiesOf(name: string): CopyReader {
    const { book } = this.#deps;
    return {
      latest: () => book.latest(name),
      pointsIn: (range) => book.pointsIn(name, range),
    };
  }

  /** Every model as the status page and `/api/status` show it at `now`. */
  modelStatuses(now: number): ModelStatus[] {
    const config = this.#deps.config();
    return [...this.#deps.fleet].map(([name, controller]) =>
      modelStatus(
        {
          controller,
          seen: this.seen(controller, now),
          spendUnknown: this.spendUnknown(controller),
          copies: this.copiesOf(name),
          billedCopyMinutes: this.#deps.book.billedCopyMinutes(name, now),
          figures: this.figures(name, now),
          budgetUsd: config.budgets?.modelUsd.get(name),
          zone: config.timezone,
        },
        now,
      ),
    );
  }

  /** One model's day for its summary line, or undefined when it is no longer configured. */
  modelDay(name: string, day: ModelCounters, range: Interval): ModelDay | undefined {
    const c = this.#deps.fleet.get(name);
    if (!c) return undefined;
    return {
      name,
      policy: c.model.policy,
      points: this.#deps.book.pointsIn(name, range),
      plannedWarmMs: plannedWarmMs(planModel(c.config, c.model, range, c.timings).warm, range),
      figures: this.figures(name, this.#deps.now()),
      day,
      total: c.counters.total,
      timings: c.timings,
      budgetUsd: this.#deps.config().budgets?.modelUsd.get(name),
    };
  }

  /** The fleet's projected month; `fresh` plans each model's rest of month again without keeping it. */
  projectionTotal(now: number, fresh: boolean): number {
    let total = 0;
    for (const name of this.#deps.fleet.keys()) {
      total += this.figures(name, now, fresh).projectedMonthUsd ?? 0;
    }
    return total;
  }
}
