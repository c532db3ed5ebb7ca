import type { Clock } from "../../domain/clock.js";
import { type Cancel, nextDailyAt, nextMinute, type RuntimeClock, repeatAt } from "./clock.js";

interface VirtualTimer {
  /** When it fires, on the clock of the world outside (see `VirtualClock.reference`). */
  key: number;
  /** The instant asked for, on the wall clock for `setTimer`, on the monotonic one for `after`. */
  readonly target: number;
  readonly monotonic: boolean;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only when told. Timers fire in order of their instant (then of their
 * creation); between two timers the clock waits until every tracked piece of work has
 * settled, so a month of daemon activity against the simulator runs in seconds and
 * deterministically.
 *
 * Three clocks are modelled: the world's (what AWS and the simulator see), the host's wall
 * clock (`now()`, which `stepWall` steps either way) and its monotonic clock (`monotonic()`,
 * which stops while the host is suspended, `jumpTo`). They move together otherwise.
 */
export class VirtualClock implements RuntimeClock {
  #world: number;
  /** Wall clock minus the world's. */
  #wallOffset = 0;
  /** The world's clock minus the monotonic one. */
  #suspended = 0;
  #seq = 0;
  #timers: VirtualTimer[] = [];
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #onAdvance: ((t: number) => Promise<void>) | undefined;
  /** The last instant onAdvance was told of. */
  #announced: number;

  /** The world's time, which a host's clock step does not move: the simulator's clock. */
  readonly reference: Clock = Object.freeze({ now: () => this.#world });

  /**
   * `onAdvance` is awaited each time the clock moves, before anything fires at the new
   * instant: it lets a simulator in another process follow the same virtual time.
   */
  constructor(start: number, options: { onAdvance?: (t: number) => Promise<void> } = {}) {
    this.#world = start;
    this.#announced = start;
    this.#onAdvance = options.onAdvance;
  }

  now(): number {
    return this.#world + this.#wallOffset;
  }

  monotonic(): number {
    return this.#world - this.#suspended;
  }

  setTimer(at: number, fn: () => void): Cancel {
    return this.#add(at, false, fn);
  }

  after(ms: number, fn: () => void): Cancel {
    return this.#add(this.monotonic() + Math.max(0, ms), true, fn);
  }

  everyMinute(fn: () => void): Cancel {
    return this.#repeat(() => nextMinute(this.now()), fn);
  }

  dailyAt(hhmm: string, zone: string, fn: () => void): Cancel {
    nextDailyAt(this.now(), hhmm, zone);
    return this.#repeat(() => nextDailyAt(this.now(), hhmm, zone), fn);
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

  /**
   * Fires every timer due until the wall clock reads `t`, in order, then sets the time
   * there.
   */
  async advanceTo(t: number): Promise<void> {
    if (t < this.now()) throw new RangeError("VirtualClock cannot go back in time");
    await this.settle();
    const until = t - this.#wallOffset;
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.key > until) break;
      this.#timers.shift();
      if (next.cancelled) continue;
      // A timer made overdue by jumpTo or stepWall fires late, at the jumped-to time.
      await this.#moveTo(Math.max(this.#world, next.key));
      next.fn();
      await this.settle();
    }
    await this.#moveTo(until);
  }

  /** Same as advanceTo; reads better in tests that run a day. */
  runUntil(t: number): Promise<void> {
    return this.advanceTo(t);
  }

  advanceBy(ms: number): Promise<void> {
    return this.advanceTo(this.now() + ms);
  }

  /**
   * Moves the clock to `t` without firing anything, as a suspend would: the world and the
   * wall clock move on, the monotonic clock does not. The next advance fires what became
   * overdue.
   */
  jumpTo(t: number): void {
    const by = t - this.now();
    if (by < 0) throw new RangeError("VirtualClock.jumpTo cannot go back; use stepWall");
    this.#world += by;
    this.#suspended += by;
    this.#rekey();
  }

  /**
   * Steps the host's wall clock by `ms` (either sign), as NTP or an operator would: the
   * world's time and the monotonic clock do not move.
   */
  stepWall(ms: number): void {
    this.#wallOffset += ms;
    this.#rekey();
  }

  async #moveTo(t: number): Promise<void> {
    this.#world = t;
    if (this.#onAdvance && t !== this.#announced) {
      this.#announced = t;
      await this.#onAdvance(t);
    }
  }

  #add(target: number, monotonic: boolean, fn: () => void): Cancel {
    const timer: VirtualTimer = {
      key: 0,
      target,
      monotonic,
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    timer.key = this.#keyOf(timer);
    this.#insert(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  #keyOf(timer: VirtualTimer): number {
    const key = timer.monotonic ? timer.target + this.#suspended : timer.target - this.#wallOffset;
    return Math.max(key, this.#world);
  }

  #rekey(): void {
    const timers = this.#timers;
    this.#timers = [];
    for (const timer of timers) {
      if (timer.cancelled) continue;
      timer.key = this.#keyOf(timer);
      this.#insert(timer);
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
      if (other.key < timer.key || (other.key === timer.key && other.seq < timer.seq)) lo = mid + 1;
      else hi = mid;
    }
    timers.splice(lo, 0, timer);
  }
}
