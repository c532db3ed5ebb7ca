import { describe, expect, it } from "vitest";
import {
  judgeRestore,
  RESTORE_CHECK_LOOKBACK_MS,
  restoreCheckDueAt,
  restoreCheckRange,
} from "../../src/domain/restoreCheck.js";

const T0 = Date.UTC(2026, 11, 7, 0, 59, 0);
const MIN = 60_000;
/** keepwarm's cold calls every 5 s from 00:59:40 to 01:00:05; the model answered at 01:00:10. */
const sample = {
  at: T0 + 70_000,
  ms: 30_000,
  notReadyAt: [40, 45, 50, 55, 60, 65].map((s) => T0 + s * 1_000),
};
const range = restoreCheckRange(sample);
/** Counts per minute over the sample's range, from a map of minute offsets to counts. */
const counts = (byMinute: Record<number, number>) => {
  const values = new Float64Array((range.end - range.start) / MIN);
  for (const [m, n] of Object.entries(byMinute)) values[Number(m)] = n;
  return { start: range.start, values };
};
/** Index of 00:59 (keepwarm's first cold call) and of 01:00 in the range. */
const FIRST = RESTORE_CHECK_LOOKBACK_MS / MIN;

describe("judgeRestore", () => {
  it("reads from the lookback before the first cold call to the minute of the answer", () => {
    expect(range).toEqual({ start: T0 - RESTORE_CHECK_LOOKBACK_MS, end: T0 + 2 * MIN });
    expect(restoreCheckDueAt(sample, 2 * MIN)).toBe(T0 + 5 * MIN);
  });

  it("is keepwarm's alone when the metric counted only its cold calls", () => {
    expect(judgeRestore(sample, counts({ [FIRST]: 4, [FIRST + 1]: 2 }))).toEqual({
      kind: "alone",
      own: 6,
    });
  });

  it("was joined when another caller met the model cold in a minute before keepwarm's first", () => {
    expect(judgeRestore(sample, counts({ [FIRST - 1]: 1, [FIRST]: 4, [FIRST + 1]: 2 }))).toEqual({
      kind: "joined",
      own: 6,
      others: 1,
      othersBefore: 1,
    });
  });

  it("was joined when others made more cold calls than keepwarm over the restore", () => {
    expect(judgeRestore(sample, counts({ [FIRST]: 10, [FIRST + 1]: 4 }))).toMatchObject({
      kind: "joined",
      own: 6,
      others: 8,
      othersBefore: 0,
    });
  });

  it("counts a caller with fewer cold calls in the same minute as keepwarm's own restore", () => {
    // A second replica a few seconds behind: fewer calls than keepwarm, none before it.
    expect(judgeRestore(sample, counts({ [FIRST]: 7, [FIRST + 1]: 4 })).kind).toBe("alone");
  });

  it("cannot say when the metric counted fewer cold calls than keepwarm made", () => {
    expect(judgeRestore(sample, counts({}))).toEqual({ kind: "unverifiable", own: 6, counted: 0 });
  });
});
