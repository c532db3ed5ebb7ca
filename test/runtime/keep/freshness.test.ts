import { describe, expect, it } from "vitest";
import { NO_OBSERVATION, type Observation } from "../../../src/runtime/keep/decide.js";
import { seenState, staleAfterMs } from "../../../src/runtime/keep/freshness.js";

const MIN = 60_000;
const T = Date.UTC(2026, 11, 8, 3, 0);
const WARM: Observation = { state: "warm", copies: 1, latestAt: T - 3 * MIN, zeroSince: undefined };

describe("seenState", () => {
  const seen = (ageMin: number, pollIntervalMs?: number) =>
    seenState(WARM, {
      readThrough: T - ageMin * MIN,
      failure: "cloudwatch:GetMetricData failed: AccessDeniedException",
      now: T,
      publishDelayMs: 2 * MIN,
      ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
    });

  it("judges a model read every minute stale 5 minutes after its last read", () => {
    expect(staleAfterMs(2 * MIN, MIN)).toBe(5 * MIN);
    expect(seen(5).stale).toBeUndefined();
    expect(seen(6)).toMatchObject({ state: "unknown", copies: undefined });
    expect(seen(6).stale?.reason).toMatch(/AccessDenied.*last read 2026-12-08T02:54:00.000Z/);
  });

  it("judges a model against its own read interval: 4 and 14 minutes more at 5 and 15", () => {
    expect(seen(9, 5 * MIN)).toMatchObject({ state: "warm", copies: 1, stale: undefined });
    expect(seen(10, 5 * MIN).state).toBe("unknown");
    expect(seen(19, 15 * MIN).stale).toBeUndefined();
    expect(seen(20, 15 * MIN).state).toBe("unknown");
  });

  it("says nothing is stale before the first read", () => {
    const first = seenState(NO_OBSERVATION, {
      readThrough: undefined,
      failure: undefined,
      now: T,
      publishDelayMs: 2 * MIN,
      pollIntervalMs: 15 * MIN,
    });
    expect(first).toEqual({ state: "unknown", copies: undefined, stale: undefined });
  });
});
