import { describe, expect, it } from "vitest";
import {
  InvokePacer,
  type PaceRequest,
  RequestLimiter,
  TokenBucket,
} from "../../../src/runtime/infra/rateLimiter.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";
import { peakIn } from "../../peakIn.js";

const T0 = Date.UTC(2026, 11, 7, 0, 0, 0);
const MIN = 60_000;

const wake = (needBy = T0): PaceRequest => ({ priority: "wake", needBy });
const keepAlive = (until: number): PaceRequest => ({
  priority: "keep-alive",
  needBy: until,
  deadline: until,
});
const retry = (needBy = T0): PaceRequest => ({ priority: "retry", needBy });

describe("RequestLimiter", () => {
  describe("run", () => {
    it("keeps at most `max` calls in flight and runs the rest in order", async () => {
      const limiter = new RequestLimiter(2);
      let active = 0;
      let peak = 0;
      const order: number[] = [];
      const task = (i: number) =>
        limiter.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, 5));
          order.push(i);
          active--;
          return i;
        });
      const results = await Promise.all([0, 1, 2, 3, 4].map(task));
      expect(results).toEqual([0, 1, 2, 3, 4]);
      expect(peak).toBe(2);
      expect(order).toEqual([0, 1, 2, 3, 4]);
    });

    it("frees the slot of a call that throws", async () => {
      const limiter = new RequestLimiter(1);
      await expect(limiter.run(() => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      await expect(limiter.run(() => Promise.resolve(7))).resolves.toBe(7);
    });
  });
});

describe("TokenBucket", () => {
  describe("reserve", () => {
    it.each([
      // rate, burst, requests at 0: the instants they may go at
      [5, 1, 4, [0, 200, 400, 600]],
      [5, 3, 5, [0, 0, 0, 200, 400]],
      [0.5, 1, 3, [0, 2_000, 4_000]],
    ])(
      "at %s/s with a burst of %s spaces %s requests made at once as %j",
      (rate, burst, n, expected) => {
        const bucket = new TokenBucket(rate, burst);
        expect(Array.from({ length: n }, () => bucket.reserve(0))).toEqual(expected);
      },
    );

    it("refills while idle, up to the burst and no further", () => {
      const bucket = new TokenBucket(10, 2);
      expect([bucket.reserve(0), bucket.reserve(0), bucket.reserve(0)]).toEqual([0, 0, 100]);
      // An hour idle refills two tokens, not 36,000.
      const later = 3_600_000;
      expect([bucket.reserve(later), bucket.reserve(later), bucket.reserve(later)]).toEqual([
        later,
        later,
        later + 100,
      ]);
    });

    it("never lets more than rate + burst - 1 through in any second", () => {
      const bucket = new TokenBucket(5, 4);
      const times = Array.from({ length: 200 }, (_, i) => bucket.reserve(i * 7));
      expect(peakIn(times, 1_000)).toBeLessThanOrEqual(5 + 4 - 1);
    });
  });

  it.each([
    [0, 1],
    [-1, 1],
    [Number.POSITIVE_INFINITY, 1],
    [5, 0],
    [5, 1.5],
  ])("rejects a rate of %s or a burst of %s", (rate, burst) => {
    expect(() => new TokenBucket(rate, burst)).toThrow(RangeError);
  });
});

describe("InvokePacer", () => {
  describe("schedule", () => {
    it("calls at once while tokens are left, then at the bucket's rate on the monotonic clock", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(4, 1), clock);
      const sent: number[] = [];
      for (let i = 0; i < 4; i++) pacer.schedule(() => sent.push(clock.monotonic() - T0), wake());
      expect(sent).toEqual([0]);
      // A wall-clock step back changes nothing: the spacing is monotonic.
      clock.stepWall(-600_000);
      await clock.advanceBy(1_000);
      expect(sent).toEqual([0, 250, 500, 750]);
      expect(pacer.waiting).toBe(0);
    });

    it("sends keep-alives first, then wake-ups, then restore retries, each by need, then arrival", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(1, 1), clock);
      const order: string[] = [];
      pacer.schedule(() => order.push("a, sent at once"), wake(T0 + MIN));
      // A retry asked for long before, and needed sooner, still waits behind the others.
      pacer.schedule(() => order.push("retry b"), retry(T0 - 10 * MIN));
      pacer.schedule(() => order.push("keep-alive c"), keepAlive(T0 + 4 * MIN));
      pacer.schedule(() => order.push("cold d"), wake(T0));
      pacer.schedule(() => order.push("keep-alive e"), keepAlive(T0 + 2 * MIN));
      pacer.schedule(() => order.push("cold f"), wake(T0));
      pacer.schedule(() => order.push("retry g"), retry(T0 - 10 * MIN));
      await clock.advanceBy(10_000);
      expect(order).toEqual([
        "a, sent at once",
        "keep-alive e",
        "keep-alive c",
        "cold d",
        "cold f",
        "retry b",
        "retry g",
      ]);
    });

    it("drops a keep-alive whose deadline passed while it waited, without spending its token", async () => {
      const clock = new VirtualClock(T0);
      // One request a minute: the second keep-alive's model is evicted before its turn.
      const pacer = new InvokePacer(new TokenBucket(1 / 60, 1), clock);
      const sent: [string, number][] = [];
      const dropped: [string, number][] = [];
      const ask = (name: string, request: PaceRequest) =>
        pacer.schedule(
          () => sent.push([name, clock.now() - T0]),
          request,
          () => dropped.push([name, clock.now() - T0]),
        );
      ask("first", wake());
      ask("late keep-alive", keepAlive(T0 + 30_000));
      ask("retry", retry());
      await clock.advanceBy(3 * MIN);
      expect(dropped).toEqual([["late keep-alive", MIN]]);
      // Its token went to the retry at once, not a minute later.
      expect(sent).toEqual([
        ["first", 0],
        ["retry", MIN],
      ]);
    });

    it("skips a cancelled request without spending a token on it", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(1, 1), clock);
      const sent: [string, number][] = [];
      pacer.schedule(() => sent.push(["a", clock.now() - T0]), wake());
      const cancel = pacer.schedule(() => sent.push(["b", clock.now() - T0]), wake());
      pacer.schedule(() => sent.push(["c", clock.now() - T0]), wake());
      cancel();
      await clock.advanceBy(5_000);
      expect(sent).toEqual([
        ["a", 0],
        ["c", 1_000],
      ]);
    });
  });

  describe("hold", () => {
    it("grants keep-alive shares up to the rate less a tenth, and again to a model that holds one", () => {
      const clock = new VirtualClock(T0);
      // 0.05/s less 10% is 0.04545/s: ten models at one ping per 4 minutes (0.004167/s each).
      const pacer = new InvokePacer(new TokenBucket(0.05, 1), clock);
      const perModel = 1 / 240;
      const granted = Array.from({ length: 12 }, (_, i) => pacer.hold(`m${i}`, perModel));
      expect(granted).toEqual([...Array(10).fill(true), false, false]);
      expect(pacer.held.models).toBe(10);
      // A model kept warm keeps its share when its cadence shortens, although it no longer fits.
      expect(pacer.hold("m0", 1 / 60)).toBe(true);
      expect(pacer.hold("m10", perModel)).toBe(false);
      // Shares given back are free for others.
      pacer.release("m0");
      pacer.release("m1");
      expect([pacer.hold("m10", perModel), pacer.hold("m11", perModel)]).toEqual([true, true]);
      expect(pacer.holds("m1")).toBe(false);
      for (let i = 0; i < 12; i++) pacer.release(`m${i}`);
      expect(pacer.held).toEqual({ perSecond: 0, models: 0 });
    });

    it("follows a new rate from a reload: more shares, and waiting requests at the new pace", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(0.05, 1), clock);
      expect(pacer.hold("a", 0.04)).toBe(true);
      expect(pacer.hold("b", 0.04)).toBe(false);
      const sent: number[] = [];
      for (let i = 0; i < 3; i++) pacer.schedule(() => sent.push(clock.now() - T0), wake());
      pacer.retune(1, 1);
      expect(pacer.hold("b", 0.04)).toBe(true);
      await clock.advanceBy(5_000);
      expect(sent).toEqual([0, 0, 1_000]);
    });
  });
});
