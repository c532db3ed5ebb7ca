import type { Cancel, RuntimeClock } from "./clock.js";

/**
 * Caps the InvokeModel requests in flight across all models. A thousand models warming at
 * the same instant would otherwise open a thousand connections at once (the SDK gives each
 * InvokeModel its own HTTP/2 session) and meet the account's request quota as a burst.
 */
export class RequestLimiter {
  readonly #max: number;
  #active = 0;
  readonly #queue: (() => void)[] = [];

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError(`RequestLimiter needs at least 1 slot, got ${max}`);
    this.#max = max;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#max) {
      await new Promise<void>((resolve) => this.#queue.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await fn();
    } finally {
      const next = this.#queue.shift();
      // The slot passes straight to the next waiter, so `active` only drops when none waits.
      if (next) next();
      else this.#active--;
    }
  }
}

/** InvokeModel requests in flight at most, across all models of a daemon. */
export const MAX_PINGS_IN_FLIGHT = 16;

/**
 * Caps the rate of InvokeModel requests: at most `burst` at once, then one every
 * 1/`ratePerSecond` s. Concurrency alone does not bound the rate (fast answers free their
 * slot at once), and Bedrock's quotas count requests and tokens per minute.
 *
 * It hands out instants rather than waiting itself (a generic cell rate algorithm), so the
 * caller waits on its own clock and a virtual clock can move on to the instant.
 */
export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  readonly #intervalMs: number;
  /** When the bucket would be full again if no further token were taken. */
  #fullAt = Number.NEGATIVE_INFINITY;

  constructor(ratePerSecond: number, burst = 1) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) {
      throw new RangeError(`TokenBucket rate must be a positive number, got ${ratePerSecond}`);
    }
    if (!Number.isInteger(burst) || burst < 1) {
      throw new RangeError(`TokenBucket burst must be a whole number of at least 1, got ${burst}`);
    }
    this.ratePerSecond = ratePerSecond;
    this.burst = burst;
    this.#intervalMs = 1_000 / ratePerSecond;
  }

  /**
   * Takes the next token and returns the instant (on the caller's monotonic clock, `now`
   * being its present reading) from which it may be used: `now` when one is left.
   */
  reserve(now: number): number {
    const at = this.availableAt(now);
    this.#fullAt = Math.max(this.#fullAt, now) + this.#intervalMs;
    return at;
  }

  /** The instant from which the next token may be taken, without taking it. */
  availableAt(now: number): number {
    return Math.max(now, Math.max(this.#fullAt, now) - (this.burst - 1) * this.#intervalMs);
  }
}

interface Waiting {
  readonly fn: () => void;
  readonly needBy: number;
  readonly seq: number;
  cancelled: boolean;
}

/**
 * Sends each InvokeModel request when the bucket has a token for it, the most urgent first:
 * the one whose model must be answering soonest (a cold model's lead ping before the
 * keep-alive of a model warmed a minute ago, and both before retries that only ask whether
 * a restore under way is done). Equal urgency goes in order of arrival.
 */
export class InvokePacer {
  readonly #bucket: TokenBucket;
  readonly #clock: Pick<RuntimeClock, "monotonic" | "after">;
  /** Ascending by need, then by arrival. */
  readonly #queue: Waiting[] = [];
  #seq = 0;
  #cancelTimer: Cancel | undefined;

  constructor(bucket: TokenBucket, clock: Pick<RuntimeClock, "monotonic" | "after">) {
    this.#bucket = bucket;
    this.#clock = clock;
  }

  /** Requests waiting for a token. */
  get waiting(): number {
    return this.#queue.filter((w) => !w.cancelled).length;
  }

  /**
   * Calls `fn` once a token is free, at once (before returning) if one is free now and no
   * more urgent request waits. `needBy` is when the request's model must be answering.
   */
  schedule(fn: () => void, needBy: number): Cancel {
    const waiting: Waiting = { fn, needBy, seq: this.#seq++, cancelled: false };
    const queue = this.#queue;
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((queue[mid] as Waiting).needBy <= needBy) lo = mid + 1;
      else hi = mid;
    }
    queue.splice(lo, 0, waiting);
    this.#pump();
    return () => {
      waiting.cancelled = true;
    };
  }

  #pump(): void {
    if (this.#cancelTimer) return;
    const queue = this.#queue;
    for (;;) {
      while (queue[0]?.cancelled) queue.shift();
      const head = queue[0];
      if (!head) return;
      const now = this.#clock.monotonic();
      const at = this.#bucket.availableAt(now);
      if (at > now) {
        this.#cancelTimer = this.#clock.after(at - now, () => {
          this.#cancelTimer = undefined;
          this.#pump();
        });
        return;
      }
      this.#bucket.reserve(now);
      queue.shift();
      head.fn();
    }
  }
}
