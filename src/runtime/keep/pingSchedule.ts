import type { Interval } from "../../domain/interval.js";
import { isInWindow, type ModelPlan, planModel } from "../../domain/plan.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import type { Cancel, RuntimeClock } from "../infra/clock.js";

/** What the schedule plans from; read afresh at every query, as a reload or new timings change it. */
export interface ScheduleSource {
  readonly config: ResolvedConfig;
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
}

/**
 * One model's ping schedule: the plan (cached over the plan horizon), the queries on it, and
 * the two timers that wake the controller: the next planned ping on the wall clock, and a
 * keep-alive on the monotonic clock. `onWake(pingDue)` is told which of them fired.
 */
export class PingSchedule {
  readonly #source: () => ScheduleSource;
  readonly #clock: RuntimeClock;
  readonly #horizonMs: number;
  readonly #onWake: (pingDue: boolean) => void;
  #plan: ModelPlan | undefined;
  #planRange: Interval | undefined;
  /** The latest planned instant already handled: pings after it are still to come. */
  #lastDue: number;
  #cancelPing: Cancel | undefined;
  #cancelKeepAlive: Cancel | undefined;
  /** Monotonic reading at the last successful ping: keep-alive spacing ignores clock steps. */
  #lastOkMonotonic: number | undefined;
  #stopped = false;

  constructor(
    source: () => ScheduleSource,
    clock: RuntimeClock,
    horizonMs: number,
    onWake: (pingDue: boolean) => void,
  ) {
    this.#source = source;
    this.#clock = clock;
    this.#horizonMs = horizonMs;
    this.#onWake = onWake;
    this.#lastDue = clock.now();
  }

  /** The plan over an interval around `t`, cached for the plan horizon. */
  planAround(t: number): ModelPlan {
    const range = this.#planRange;
    const { config, model, timings } = this.#source();
    const { cadence, evictionDelay } = timings;
    if (!this.#plan || !range || t < range.start || t >= range.end - cadence.ms) {
      const start = t - cadence.ms - evictionDelay.ms;
      this.#planRange = { start, end: t + this.#horizonMs };
      this.#plan = planModel(config, model, this.#planRange, timings);
    }
    return this.#plan;
  }

  /** The window `t` is in, if any. */
  windowAt(t: number): Interval | undefined {
    return this.planAround(t).windows.find((w) => w.start <= t && t < w.end);
  }

  /** The first window that opens after `t` within the plan's horizon. */
  nextWindowAfter(t: number): Interval | undefined {
    return this.planAround(t).windows.find((w) => w.start > t);
  }

  /**
   * The window open at `t` when it opened at a real window start: a window already open at
   * the start of the planned range (always-on, or open when the plan was made) starts there
   * only on paper.
   */
  openingAt(t: number): Interval | undefined {
    const w = this.windowAt(t);
    return w && w.start !== this.#planRange?.start ? w : undefined;
  }

  inWindow(t: number): boolean {
    return isInWindow(this.planAround(t), t);
  }

  /**
   * True while the schedule has a duty to keep the model answering: in a window, or within
   * the cadence of a planned ping (the lead before a window, the closing ping's last stretch).
   */
  pingDuty(t: number): boolean {
    if (this.inWindow(t)) return true;
    const cadenceMs = this.#source().timings.cadence.ms;
    return this.planAround(t).pings.some((p) => p <= t && t < p + cadenceMs);
  }

  /** The next planned ping after `t`. */
  nextPingAfter(t: number): number | undefined {
    return this.planAround(t).pings.find((p) => p > t);
  }

  /** Planned pings in `range`: from the cached plan when it covers the range (it is the same function). */
  pingsIn(range: Interval): number[] {
    if (range.end <= range.start) return [];
    const cached = this.#planRange;
    if (this.#plan && cached && range.start >= cached.start && range.end <= cached.end) {
      return this.#plan.pings.filter((p) => p >= range.start && p < range.end);
    }
    const { config, model, timings } = this.#source();
    return planModel(config, model, range, timings).pings;
  }

  /** The plan's inputs changed: the next query plans again. */
  invalidate(): void {
    this.#plan = undefined;
    this.#planRange = undefined;
  }

  /** Starts from `now`: returns whether a planned ping's cadence is running (a restart mid-span). */
  start(now: number): boolean {
    const cadenceMs = this.#source().timings.cadence.ms;
    // A ping planned for this very instant counts as the one to send now.
    const previous = this.pingsIn({ start: now - cadenceMs, end: now + 1 });
    this.#lastDue = now;
    return previous.length > 0;
  }

  /** Planned instants up to `now` not handled yet; they count as handled from here on. */
  takeDue(now: number): number[] {
    const due = this.pingsIn({ start: this.#lastDue + 1, end: now + 1 });
    const last = due[due.length - 1];
    if (last !== undefined) this.#lastDue = last;
    return due;
  }

  /** Instants up to `t` count as handled (a replan must not call them missed). */
  handledUntil(t: number): void {
    this.#lastDue = Math.max(this.#lastDue, t);
  }

  /** The horizon ran out with nothing due: look again from `now`. */
  rest(now: number): void {
    this.#lastDue = now;
  }

  /** A ping succeeded now: the keep-alive counts the cadence from here. */
  pingOk(): void {
    this.#lastOkMonotonic = this.#clock.monotonic();
    this.#armKeepAlive();
  }

  /**
   * Minutes since the last successful ping when the cadence has run out inside a warm run
   * that still has pings ahead; undefined otherwise.
   */
  keepAliveOverdue(now: number): number | undefined {
    const lastOk = this.#lastOkMonotonic;
    if (lastOk === undefined) return undefined;
    const since = this.#clock.monotonic() - lastOk;
    if (since < this.#source().timings.cadence.ms || !this.#pingsAheadInRun(now)) return undefined;
    return since;
  }

  /** Arms the timers for the next planned ping and the keep-alive. */
  scheduleNext(): void {
    if (this.#stopped) return;
    // Either timer may have fired: the other must not fire a second series.
    this.#cancelPing?.();
    this.#armKeepAlive();
    const now = this.#clock.now();
    const plan = this.planAround(Math.max(now, this.#lastDue));
    const next = plan.pings.find((p) => p > this.#lastDue);
    const range = this.#planRange as Interval;
    // No ping within the horizon: look again when it runs out.
    const at = next ?? range.end - this.#source().timings.cadence.ms;
    this.#cancelPing = this.#clock.setTimer(at, () => this.#wake(next !== undefined));
  }

  stop(): void {
    this.#stopped = true;
    this.#cancelPing?.();
    this.#cancelKeepAlive?.();
  }

  #wake(pingDue: boolean): void {
    if (this.#stopped) return;
    this.#onWake(pingDue);
  }

  /**
   * Plan instants are wall-clock instants, so a step back would put the next one further
   * off than the cadence: a monotonic timer makes sure a warm span never waits longer.
   */
  #armKeepAlive(): void {
    this.#cancelKeepAlive?.();
    this.#cancelKeepAlive = undefined;
    const lastOk = this.#lastOkMonotonic;
    if (this.#stopped || lastOk === undefined) return;
    const wait = lastOk + this.#source().timings.cadence.ms - this.#clock.monotonic();
    // Run out already: the caller has just judged it; the next success arms a new one.
    if (wait <= 0) return;
    this.#cancelKeepAlive = this.#clock.after(wait, () => this.#wake(true));
  }

  /**
   * Whether the plan still has pings ahead in the warm run `now` is in. After a run's closing
   * ping there are none, although its window may still be open: the model is left to cool.
   */
  #pingsAheadInRun(now: number): boolean {
    const plan = this.planAround(now);
    const run = plan.warm.find((w) => w.start <= now && now < w.end);
    return run !== undefined && plan.pings.some((p) => p > now && p < run.end);
  }
}
