import { describe, expect, it } from "vitest";
import {
  InvokePacer,
  RequestLimiter,
  TokenBucket,
} from "../../../src/runtime/infra/rateLimiter.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";
import { peakIn } from "../../peakIn.js";

const T0 = Date.UTC(2026, 11, 7, 0, 0, 0);

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
      for (let i = 0; i < 4; i++) pacer.schedule(() => sent.push(clock.monotonic() - T0), T0);
      expect(sent).toEqual([0]);
      // A wall-clock step back changes nothing: the spacing is monotonic.
      clock.stepWall(-600_000);
      await clock.advanceBy(1_000);
      expect(sent).toEqual([0, 250, 500, 750]);
      expect(pacer.waiting).toBe(0);
    });

    it("sends the most urgent request first, and equally urgent ones in order of arrival", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(1, 1), clock);
      const order: string[] = [];
      pacer.schedule(() => order.push("a, sent at once"), T0 + 60_000);
      pacer.schedule(() => order.push("retry b"), T0 + 14 * 60_000);
      pacer.schedule(() => order.push("keep-alive c"), T0 + 10 * 60_000);
      pacer.schedule(() => order.push("cold d"), T0);
      pacer.schedule(() => order.push("cold e"), T0);
      await clock.advanceBy(10_000);
      expect(order).toEqual(["a, sent at once", "cold d", "cold e", "keep-alive c", "retry b"]);
    });

    it("skips a cancelled request without spending a token on it", async () => {
      const clock = new VirtualClock(T0);
      const pacer = new InvokePacer(new TokenBucket(1, 1), clock);
      const sent: [string, number][] = [];
      pacer.schedule(() => sent.push(["a", clock.now() - T0]), T0);
      const cancel = pacer.schedule(() => sent.push(["b", clock.now() - T0]), T0);
      pacer.schedule(() => sent.push(["c", clock.now() - T0]), T0);
      cancel();
      await clock.advanceBy(5_000);
      expect(sent).toEqual([
        ["a", 0],
        ["c", 1_000],
      ]);
    });
  });
});
