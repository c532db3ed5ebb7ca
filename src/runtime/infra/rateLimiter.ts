import { keepAliveCapacity } from "../../domain/rateNeed.js";
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

/**
 * Which requests go first when the rate is short: keep-alives of models warm now (each
 * would be wasted past its eviction), then wake-ups of cold models, then retries that only
 * ask whether a restore under way is done (the restore goes on whether asked or not).
 */
export type PacePriority = "keep-alive" | "wake" | "retry";

const RANK: Readonly<Record<PacePriority, number>> = { "keep-alive": 0, wake: 1, retry: 2 };

/** How urgent one request is. */
export interface PaceRequest {
  readonly priority: PacePriority;
  /** When the request's model must be answering (wall clock): orders requests of one priority. */
  readonly needBy: number;
  /**
   * Past this instant (wall clock) the request can no longer do its job, a keep-alive its
   * model's eviction: it is dropped when its token comes, not sent late.
   */
  readonly deadline?: number;
}

interface Waiting {
  readonly fn: () => void;
  readonly onDropped: (() => void) | undefined;
  readonly rank: number;
  readonly needBy: number;
  readonly deadline: number | undefined;
  readonly seq: number;
  cancelled: boolean;
}

/** Whether `a` goes before `b`: by priority, then need, then arrival. */
function before(a: Waiting, b: Waiting): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.needBy !== b.needBy) return a.needBy < b.needBy;
  return a.seq < b.seq;
}

/**
 * Sends each InvokeModel request when the bucket has a token for it, the most urgent first
 * (`PacePriority`, then the one whose model must be answering soonest, then arrival), and
 * shares the rate among the models it keeps warm: a model holds a share of the rate less
 * `RATE_MARGIN` (its keep-alives, one per cadence) while it is to be warm, and a model
 * that finds no share left is left cold instead of taking tokens its holders need.
 */
export class InvokePacer {
  #bucket: TokenBucket;
  readonly #clock: Pick<RuntimeClock, "now" | "monotonic" | "after">;
  /** Ascending by `before`. */
  readonly #queue: Waiting[] = [];
  #seq = 0;
  #cancelTimer: Cancel | undefined;
  /** Requests per second each model holding a share needs for its keep-alives. */
  readonly #shares = new Map<string, number>();
  #shared = 0;

  constructor(bucket: TokenBucket, clock: Pick<RuntimeClock, "now" | "monotonic" | "after">) {
    this.#bucket = bucket;
    this.#clock = clock;
  }

  /** Requests waiting for a token. */
  get waiting(): number {
    return this.#queue.filter((w) => !w.cancelled).length;
  }

  /** Requests per second the bucket allows. */
  get ratePerSecond(): number {
    return this.#bucket.ratePerSecond;
  }

  /** Requests per second keep-alives may take: the rate less the margin for retries. */
  get capacity(): number {
    return keepAliveCapacity(this.#bucket.ratePerSecond);
  }

  /** Requests per second held by the models kept warm, and how many they are. */
  get held(): { readonly perSecond: number; readonly models: number } {
    return { perSecond: this.#shared, models: this.#shares.size };
  }

  /**
   * A share of `perSecond` for `key`'s keep-alives: granted while the shares fit in
   * `capacity`, and always to a key that holds one already (its cadence may have changed;
   * a model kept warm is not let go for one that is not). False: leave the model cold.
   */
  hold(key: string, perSecond: number): boolean {
    const had = this.#shares.get(key);
    if (had === undefined && this.#shared + perSecond > this.capacity * (1 + 1e-9)) return false;
    this.#shares.set(key, perSecond);
    this.#shared += perSecond - (had ?? 0);
    return true;
  }

  holds(key: string): boolean {
    return this.#shares.has(key);
  }

  /** `key` no longer needs keep-alives: its share goes back. */
  release(key: string): void {
    const had = this.#shares.get(key);
    if (had === undefined) return;
    this.#shares.delete(key);
    // Sums of many fractions drift: an empty set of shares holds exactly nothing.
    this.#shared = this.#shares.size === 0 ? 0 : this.#shared - had;
  }

  /** A new rate or burst from a reload: waiting requests keep their order; shares stay. */
  retune(ratePerSecond: number, burst: number): void {
    if (ratePerSecond === this.#bucket.ratePerSecond && burst === this.#bucket.burst) return;
    this.#bucket = new TokenBucket(ratePerSecond, burst);
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#pump();
  }

  /**
   * Calls `fn` once a token is free, at once (before returning) if one is free now and no
   * more urgent request waits. A request whose `deadline` has passed when its token comes
   * is dropped instead, without spending the token, and `onDropped` is called.
   */
  schedule(fn: () => void, request: PaceRequest, onDropped?: () => void): Cancel {
    const waiting: Waiting = {
      fn,
      onDropped,
      rank: RANK[request.priority],
      needBy: request.needBy,
      deadline: request.deadline,
      seq: this.#seq++,
      cancelled: false,
    };
    const queue = this.#queue;
    let lo = 0;
    let hi = queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(queue[mid] as Waiting, waiting)) lo = mid + 1;
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
      queue.shift();
      if (head.deadline !== undefined && this.#clock.now() > head.deadline) {
        head.onDropped?.();
        continue;
      }
      this.#bucket.reserve(now);
      head.fn();
    }
  }
}
