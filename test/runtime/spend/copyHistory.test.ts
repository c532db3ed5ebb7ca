import { describe, expect, it } from "vitest";
import type { CopyPoint } from "../../../src/aws/metrics.js";
import { billCopySeries } from "../../../src/domain/spend.js";
import { CopyHistory, SETTLE_MS } from "../../../src/runtime/spend/copyHistory.js";

const MONTH = { start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) };
const MIN = 60_000;

/** A seeded series of runs: warm stretches of 1-3 copies, idle minutes with a 0, gaps. */
function series(minutes: number, seed: number): CopyPoint[] {
  let s = seed;
  const rand = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const points: CopyPoint[] = [];
  let copies = 0;
  for (let i = 0; i < minutes; i++) {
    const r = rand();
    if (r < 0.03) copies = 0;
    else if (r < 0.06) copies = Math.min(3, copies + 1);
    else if (r < 0.08 && copies > 1) copies--;
    if (copies === 0 && rand() < 0.5) continue;
    points.push({ t: MONTH.start + i * MIN, copies });
  }
  return points;
}

/** Feeds points as the daemon does: every minute, the last ten minutes of what is published. */
function feed(history: CopyHistory, points: readonly CopyPoint[], minutes: number): void {
  let next = 0;
  for (let m = 0; m <= minutes; m++) {
    const now = MONTH.start + m * MIN;
    const visible = points.filter((p) => p.t + 3 * MIN <= now && p.t >= now - SETTLE_MS);
    while (next < points.length && (points[next] as CopyPoint).t + 3 * MIN <= now) next++;
    history.merge(visible, now);
  }
}

describe("CopyHistory", () => {
  describe("billedCopyMinutes", () => {
    it.each([1, 2, 3, 4, 5])("bills minute-by-minute feeding as one series (seed %i)", (seed) => {
      const minutes = 3 * 24 * 60;
      const points = series(minutes, seed);
      const history = new CopyHistory(MONTH);
      feed(history, points, minutes + 10);
      expect(history.billedCopyMinutes()).toBe(billCopySeries(points));
    });

    it("bills a week always warm at one copy as the whole run", () => {
      const minutes = 7 * 24 * 60;
      const points = Array.from({ length: minutes }, (_, i) => ({
        t: MONTH.start + i * MIN,
        copies: 1,
      }));
      const history = new CopyHistory(MONTH);
      feed(history, points, minutes + 10);
      expect(history.billedCopyMinutes()).toBe(minutes);
    });

    it("counts a point merged twice once, and a later value replaces it", () => {
      const history = new CopyHistory(MONTH);
      const now = MONTH.start + 5 * MIN;
      history.merge([{ t: MONTH.start, copies: 1 }], now);
      history.merge([{ t: MONTH.start, copies: 1 }], now);
      expect(history.billedCopyMinutes()).toBe(5);
      history.merge([{ t: MONTH.start, copies: 2 }], now);
      expect(history.billedCopyMinutes()).toBe(10);
    });

    it("ignores points outside its month", () => {
      const history = new CopyHistory(MONTH);
      history.merge(
        [
          { t: MONTH.start - MIN, copies: 1 },
          { t: MONTH.end, copies: 1 },
        ],
        MONTH.end,
      );
      expect(history.billedCopyMinutes()).toBe(0);
    });
  });

  describe("pointsIn", () => {
    it("keeps two days of points for the daily summary", () => {
      const history = new CopyHistory(MONTH);
      const minutes = 3 * 24 * 60;
      const points = Array.from({ length: minutes }, (_, i) => ({
        t: MONTH.start + i * MIN,
        copies: 1,
      }));
      history.merge(points, MONTH.start + minutes * MIN);
      expect(history.pointsIn(MONTH)).toHaveLength(2 * 24 * 60);
      expect(history.latest()).toEqual(points.at(-1));
    });
  });
});
