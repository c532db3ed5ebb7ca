import { DateTime } from "luxon";
import type { Clock } from "../../domain/clock.js";
import { MINUTE_MS } from "../../domain/units.js";

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
  /**
   * Milliseconds on a clock that never steps: a wall-clock step (NTP, an operator) leaves it
   * alone. Only differences between two readings mean anything.
   */
  monotonic(): number;
  /** Calls `fn` once after `ms` of monotonic time, whatever the wall clock does meanwhile. */
  after(ms: number, fn: () => void): Cancel;
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

/**
 * Longest real wait between two looks at the clock, for timers and for node-cron's jobs.
 * Node's timers run on a monotonic clock that stops during a suspend and ignores wall-clock
 * jumps; waking every 30 s notices both.
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
