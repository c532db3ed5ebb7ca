import { DateTime } from "luxon";
import cron from "node-cron";
import type { Clock } from "../sim/clock.js";

/** Undoes a timer or a recurring job; calling it twice is harmless. */
export type Cancel = () => void;

/**
 * The only place the daemon learns the time and waits. Its `now()` is the simulator's
 * `Clock` too, so one object drives both in tests, `keepwarm simulate` and the demo.
 */
export interface RuntimeClock extends Clock {
  /**
   * Calls `fn` once when the clock reaches `at` (epoch ms); soon if `at` has passed, but
   * never before returning, so the caller holds the Cancel before `fn` can set a new timer.
   */
  setTimer(at: number, fn: () => void): Cancel;
  /** Calls `fn` at the start of every minute. */
  everyMinute(fn: () => void): Cancel;
  /** Calls `fn` every day at `hhmm` ("00:00") local time in the IANA `zone`. */
  dailyAt(hhmm: string, zone: string, fn: () => void): Cancel;
  /**
   * Registers async work started by a timer callback and returns it. A virtual clock waits
   * for all of it before moving on, so the daemon's HTTP calls finish at the virtual instant
   * they were made at.
   */
  track<T>(work: Promise<T>): Promise<T>;
}

const MINUTE_MS = 60_000;

/**
 * Longest real wait between two looks at the clock. Node's timers run on a monotonic clock
 * that stops during a suspend and ignores wall-clock jumps; waking every 30 s notices both.
 */
export const TIMER_CAP_MS = 30_000;

/** Next instant strictly after `after` at which local time in `zone` reads `hhmm`. */
export function nextDailyAt(after: number, hhmm: string, zone: string): number {
  const match = /^(\d{2}):(\d{2})$/.exec(hhmm);
  if (!match) throw new RangeError(`dailyAt: "${hhmm}" is not HH:MM`);
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  let day = DateTime.fromMillis(after, { zone }).startOf("day");
  for (;;) {
    const at = day.set({ hour, minute }).toMillis();
    if (at > after) return at;
    day = day.plus({ days: 1 });
  }
}

/** The first minute boundary strictly after `t`. */
export function nextMinute(t: number): number {
  return Math.floor(t / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
}

/**
 * Calls `fn` at `next()`, then at each following `next()`, one timer at a time. The next
 * timer is set before `fn` runs, so a throwing `fn` does not end the series.
 */
export function repeatAt(
  setTimer: RuntimeClock["setTimer"],
  next: () => number,
  fn: () => void,
): Cancel {
  let cancelTimer: Cancel = () => {};
  let stopped = false;
  const arm = () => {
    cancelTimer = setTimer(next(), () => {
      if (stopped) return;
      arm();
      fn();
    });
  };
  arm();
  return () => {
    stopped = true;
    cancelTimer();
  };
}

export interface RealClockOptions {
  /** Added to the wall clock: the demo starts just before a window opens whatever the time of day. */
  readonly offsetMs?: number;
}

/** Wall-clock time (plus an optional offset), with node-cron for the minute job. */
export function realClock(options: RealClockOptions = {}): RuntimeClock {
  const offsetMs = options.offsetMs ?? 0;
  const now = () => Date.now() + offsetMs;

  const setTimer = (at: number, fn: () => void): Cancel => {
    let handle: NodeJS.Timeout | undefined;
    let cancelled = false;
    const arm = () => {
      const wait = at - now();
      if (wait <= 0) {
        handle = undefined;
        fn();
        return;
      }
      handle = setTimeout(arm, Math.min(wait, TIMER_CAP_MS));
    };
    // Deferred even when due: a callback run here would set its next timer before the
    // caller stores this Cancel over it, and that timer could no longer be cancelled.
    handle = setTimeout(arm, Math.max(0, Math.min(at - now(), TIMER_CAP_MS)));
    return () => {
      if (cancelled) return;
      cancelled = true;
      if (handle) clearTimeout(handle);
    };
  };

  const cronJob = (expression: string, zone: string | undefined, fn: () => void): Cancel => {
    const task = cron.schedule(expression, () => fn(), {
      ...(zone ? { timezone: zone } : {}),
      noOverlap: false,
    });
    return () => {
      void task.destroy();
    };
  };

  return {
    now,
    setTimer,
    // With an offset the wall clock's minutes and midnights are not the shifted clock's, so
    // the minute job follows the shifted clock through setTimer instead of node-cron.
    everyMinute: (fn) =>
      offsetMs === 0
        ? cronJob("* * * * *", undefined, fn)
        : repeatAt(setTimer, () => nextMinute(now()), fn),
    // node-cron drops a run it wakes up more than a second late for (a suspend, a clock
    // jump), which would lose a day's summary: setTimer fires late instead, and once.
    dailyAt: (hhmm, zone, fn) => {
      nextDailyAt(now(), hhmm, zone);
      return repeatAt(setTimer, () => nextDailyAt(now(), hhmm, zone), fn);
    },
    track: (work) => work,
  };
}

interface VirtualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only when told. Timers fire in order of their instant (then of their
 * creation); between two timers the clock waits until every tracked piece of work has
 * settled, so a month of daemon activity against the simulator runs in seconds and
 * deterministically.
 */
export class VirtualClock implements RuntimeClock {
  #now: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #onAdvance: ((t: number) => Promise<void>) | undefined;
  /** The last instant onAdvance was told of. */
  #announced: number;

  /**
   * `onAdvance` is awaited each time the clock moves, before anything fires at the new
   * instant: it lets a simulator in another process follow the same virtual time.
   */
  constructor(start: number, options: { onAdvance?: (t: number) => Promise<void> } = {}) {
    this.#now = start;
    this.#announced = start;
    this.#onAdvance = options.onAdvance;
  }

  now(): number {
    return this.#now;
  }

  setTimer(at: number, fn: () => void): Cancel {
    const timer: VirtualTimer = {
      at: Math.max(at, this.#now),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#insert(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  everyMinute(fn: () => void): Cancel {
    return this.#repeat(() => nextMinute(this.#now), fn);
  }

  dailyAt(hhmm: string, zone: string, fn: () => void): Cancel {
    nextDailyAt(this.#now, hhmm, zone);
    return this.#repeat(() => nextDailyAt(this.#now, hhmm, zone), fn);
  }

  track<T>(work: Promise<T>): Promise<T> {
    const settled = work.then(
      () => undefined,
      () => undefined,
    );
    this.#inFlight.add(settled);
    void settled.then(() => this.#inFlight.delete(settled));
    return work;
  }

  /** Number of timers still waiting to fire. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Waits until every tracked piece of work, and whatever it started, has settled. */
  async settle(): Promise<void> {
    for (;;) {
      // A few turns of the event loop let promise chains that are about to call
      // track() do so before the set is judged empty.
      for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
      if (this.#inFlight.size === 0) return;
      await Promise.all([...this.#inFlight]);
    }
  }

  /** Fires every timer due up to and including `t`, in order, then sets the time to `t`. */
  async advanceTo(t: number): Promise<void> {
    if (t < this.#now) throw new RangeError("VirtualClock cannot go back in time");
    await this.settle();
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > t) break;
      this.#timers.shift();
      if (next.cancelled) continue;
      // A timer made overdue by jumpTo fires late, at the jumped-to time.
      await this.#moveTo(Math.max(this.#now, next.at));
      next.fn();
      await this.settle();
    }
    await this.#moveTo(t);
  }

  /** Same as advanceTo; reads better in tests that run a day. */
  runUntil(t: number): Promise<void> {
    return this.advanceTo(t);
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.#now + ms);
  }

  /**
   * Moves the clock without firing anything, as a wall-clock jump or a suspend would;
   * the next advance fires what became overdue.
   */
  jumpTo(t: number): void {
    this.#now = t;
  }

  async #moveTo(t: number): Promise<void> {
    this.#now = t;
    if (this.#onAdvance && t !== this.#announced) {
      this.#announced = t;
      await this.#onAdvance(t);
    }
  }

  #repeat(next: () => number, fn: () => void): Cancel {
    return repeatAt((at, f) => this.setTimer(at, f), next, fn);
  }

  #insert(timer: VirtualTimer): void {
    const timers = this.#timers;
    let lo = 0;
    let hi = timers.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = timers[mid] as VirtualTimer;
      if (other.at < timer.at || (other.at === timer.at && other.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, timer);
  }
}
