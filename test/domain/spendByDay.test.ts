import { describe, expect, it } from "vitest";
import { billCopySeries, billCopySeriesIn } from "../../src/domain/spend.js";

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 1, 20, 0);
const DAY1 = { start: Date.UTC(2026, 11, 1), end: Date.UTC(2026, 11, 2) };
const DAY2 = { start: Date.UTC(2026, 11, 2), end: Date.UTC(2026, 11, 3) };

/** One point a minute from `from` (minutes after T0) for `n` minutes, `copies` each. */
function minutes(from: number, n: number, copies = 1) {
  return Array.from({ length: n }, (_, i) => ({ t: T0 + (from + i) * MIN, copies }));
}

describe("billCopySeriesIn", () => {
  it("gives each 5-minute window to the day it starts in, so the days add up to the whole", () => {
    // 20:00 to 02:05 the next day: 73 windows, 48 of them starting before midnight.
    const points = minutes(0, 365);
    expect(billCopySeriesIn(points, DAY1)).toBe(48 * 5);
    expect(billCopySeriesIn(points, DAY2)).toBe(25 * 5);
    expect(billCopySeriesIn(points, DAY1) + billCopySeriesIn(points, DAY2)).toBe(
      billCopySeries(points),
    );
  });

  it("starts a run at its first minute with copies, after minutes at 0 (regression: runs were phased from the 0s)", () => {
    // Restoring 19:55-19:59 (0 copies), up 20:00-23:59 and on: windows from 20:00.
    const points = [...minutes(-5, 5, 0), ...minutes(0, 300)];
    expect(billCopySeriesIn(points, DAY1)).toBe(48 * 5);
  });

  it("bills a second copy's run in windows of its own", () => {
    const points = minutes(0, 30).map((p, i) => (i >= 10 && i < 17 ? { ...p, copies: 2 } : p));
    // Copy 1: 30 minutes, 6 windows; copy 2: 7 minutes, 2 windows.
    expect(billCopySeriesIn(points, DAY1)).toBe(40);
  });

  it("bills nothing for a range without windows starting in it", () => {
    expect(billCopySeriesIn(minutes(0, 30), DAY2)).toBe(0);
    expect(billCopySeriesIn([], DAY1)).toBe(0);
  });
});
