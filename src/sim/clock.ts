import type { Clock } from "../domain/clock.js";

/** Wall-clock time, for a simulator that stands in for AWS in real time. */
export const realClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * Time that runs `factor` times faster than the wall clock from `origin` (epoch ms), for
 * demos: at factor 60 a simulated hour passes in a real minute.
 */
export function scaledClock(factor: number, origin: number, wall: Clock = realClock): Clock {
  if (!(factor > 0) || !Number.isFinite(factor)) {
    throw new RangeError(`scaledClock factor must be a positive number, got ${factor}`);
  }
  const startedAt = wall.now();
  return Object.freeze({ now: () => origin + Math.floor((wall.now() - startedAt) * factor) });
}

/** A clock that moves only when told to: for tests and in-process simulation. */
export class ManualClock implements Clock {
  #now: number;

  constructor(start: number) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  /** Moves to `t`; the simulator records calls in time order, so time never runs backwards. */
  set(t: number): void {
    if (t < this.#now) {
      throw new RangeError(
        `ManualClock cannot go back from ${new Date(this.#now).toISOString()} to ${new Date(t).toISOString()}`,
      );
    }
    this.#now = t;
  }

  advance(ms: number): number {
    this.set(this.#now + ms);
    return this.#now;
  }
}
