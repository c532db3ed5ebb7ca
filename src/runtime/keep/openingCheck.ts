import { round1 } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import type { Timing } from "../../domain/timings.js";
import { HOUR_MS, MINUTE_MS, SECOND_MS } from "../../domain/units.js";
import type { Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { CopyReader } from "../spend/spendBook.js";
import type { Counters } from "./counters.js";

export interface OpeningCheckDeps {
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly modelName: () => string;
  readonly copies: CopyReader;
  readonly counters: Counters;
}

/** How long ModelCopy's datapoint of a window's first minute is waited for. */
const OPENING_WAIT_MS = 15 * MINUTE_MS;

/**
 * When a window has opened, ModelCopy's datapoint of its first minute says whether users
 * met a warm model; it is read once it is published, once per window.
 */
export class OpeningCheck {
  readonly #deps: OpeningCheckDeps;
  /** The window whose opening is still to be checked, by its start. */
  #toCheck: number | undefined;
  #checked: number | undefined;

  constructor(deps: OpeningCheckDeps) {
    this.#deps = deps;
  }

  check(
    now: number,
    open: Interval | undefined,
    context: {
      readonly leadTime: Timing;
      /** Start of the restore a ping is riding out now, if any. */
      readonly restoringSince: number | undefined;
      readonly lastRestore: Interval | undefined;
    },
  ): void {
    if (open && open.start > now - HOUR_MS && open.start !== this.#checked) {
      this.#toCheck = open.start;
    }
    const start = this.#toCheck;
    if (start === undefined) return;
    const minute = Math.floor(start / MINUTE_MS) * MINUTE_MS;
    const point = this.#deps.copies.pointsIn({ start: minute, end: minute + MINUTE_MS })[0];
    if (point === undefined && now - start < OPENING_WAIT_MS) return;
    this.#toCheck = undefined;
    this.#checked = start;
    if (point === undefined) return;
    this.#deps.observer.windowOpened?.(this.#deps.modelName(), point.copies >= 1);
    if (point.copies >= 1) return;
    this.#deps.counters.count("windowsOpenedCold");
    this.#logOpenedCold(start, context);
  }

  /**
   * The warm-up's cold start was logged before opening (inWindow: false); this is the line
   * that says users met it.
   */
  #logOpenedCold(
    start: number,
    context: {
      readonly leadTime: Timing;
      readonly restoringSince: number | undefined;
      readonly lastRestore: Interval | undefined;
    },
  ): void {
    const { leadTime: lead, restoringSince: restoring, lastRestore: done } = context;
    const restore =
      restoring !== undefined && restoring <= start
        ? { restoreBeganAt: new Date(restoring).toISOString(), restoreSeconds: null }
        : done && done.start <= start && start < done.end
          ? {
              restoreBeganAt: new Date(done.start).toISOString(),
              restoreSeconds: round1((done.end - done.start) / SECOND_MS),
            }
          : { restoreBeganAt: null, restoreSeconds: null };
    this.#deps.log.warn(
      {
        event: "opened-cold",
        windowStart: new Date(start).toISOString(),
        ...restore,
        leadTimeSeconds: round1(lead.ms / SECOND_MS),
        leadTimeSource: lead.source,
      },
      restore.restoreBeganAt === null
        ? "window opened cold: no copy was up in its first minute and keepwarm had no restore under way"
        : "window opened cold: the warm-up's restore outlasted the lead time, so the first users waited",
    );
  }
}
