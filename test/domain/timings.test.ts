import { describe, expect, it } from "vitest";
import {
  cadenceFor,
  closingOffsetFor,
  type EvictionSample,
  evictionFromZero,
  lastCallAt,
  leadTimeFor,
  type ModelObservations,
  NO_OBSERVATIONS,
  resolveTimings,
  TIMING_RULES,
  type TimingSettings,
} from "../../src/domain/timings.js";
import { at, MIN } from "./builders.js";

const AUTO: TimingSettings = {
  cadence: { mode: "auto" },
  leadTime: { mode: "auto" },
  evictionDelay: { mode: "auto" },
};
const NOW = at("2026-12-07T12:00:00Z");
const SEC = 1_000;

function eviction(ms: number, daysAgo = 0, bound: EvictionSample["bound"] = "measured") {
  const t = NOW - daysAgo * 24 * 60 * MIN;
  return { at: t, lastCallAt: t - ms, ms, bound };
}

describe("resolveTimings", () => {
  it("starts, before anything is measured, from a cadence safe under a 5-minute eviction", () => {
    expect(resolveTimings(AUTO, NO_OBSERVATIONS, NOW)).toEqual({
      cadence: { ms: 4 * MIN, source: "assumed" },
      leadTime: { ms: 6 * MIN, source: "assumed" },
      evictionDelay: { ms: 5 * MIN, source: "assumed" },
      restore: { ms: 5 * MIN, source: "assumed" },
    });
  });

  it.each([
    // [eviction measured each time, cadence]: a minute's margin, never over 14m nor under 1m.
    [5 * MIN, 4 * MIN],
    [6 * MIN, 5 * MIN],
    [10.5 * MIN, 9.5 * MIN],
    [15 * MIN, 14 * MIN],
    [60 * MIN, 14 * MIN],
    [2 * MIN, 1 * MIN],
  ])("plans a cadence for the shortest eviction measured (%i ms -> %i ms)", (ms, cadence) => {
    const o: ModelObservations = {
      evictions: [eviction(ms, 2), eviction(ms, 1, "at-most"), eviction(ms)],
      restores: [],
    };
    const t = resolveTimings(AUTO, o, NOW);
    expect(t.evictionDelay).toEqual({ ms, source: "learned" });
    expect(t.cadence).toEqual({ ms: cadence, source: "learned" });
  });

  it.each([
    // [evictions (min), cadence (min)]: room below the shortest of range / (n - 1), rounded
    // up to half a minute.
    [[10, 15], 4],
    [[10, 15, 12], 6.5],
    [[10, 15, 12, 11, 14, 13], 8],
    [[10, 11, 12, 13, 14, 12, 11], 8],
    [[5, 15], 1],
    [[14, 14, 14], 13],
  ])(
    "holds evictions that vary (%j min) with room below the shortest: cadence %d min",
    (mins, cadence) => {
      const o: ModelObservations = {
        evictions: mins.map((m, i) => eviction(m * MIN, mins.length - i)),
        restores: [],
      };
      const t = resolveTimings(AUTO, o, NOW);
      // The closing ping, which decides the bill, is still planned from the shortest.
      expect(t.evictionDelay).toEqual({ ms: Math.min(...mins) * MIN, source: "learned" });
      expect(t.cadence).toEqual({ ms: cadence * MIN, source: "learned" });
    },
  );

  it("counts an at-most bound in the spread: 11 min yesterday, at most 10 today, a cadence of 8", () => {
    const o: ModelObservations = {
      evictions: [eviction(11 * MIN, 1), eviction(10 * MIN, 0, "at-most")],
      restores: [],
    };
    const t = resolveTimings(AUTO, o, NOW);
    expect(t.evictionDelay.ms).toBe(10 * MIN);
    expect(t.cadence.ms).toBe(8 * MIN);
  });

  it("ignores an at-most bound at or above the shortest measured eviction (a fault spell's gap)", () => {
    // The audit's case: pings rejected under ExpiredToken, the copy evicted before the next
    // one, an "at most 7.4 min" bound next to a measured 4.8 min eviction.
    const o: ModelObservations = {
      evictions: [eviction(4.8 * MIN, 1), eviction(7.4 * MIN, 0, "at-most")],
      restores: [],
    };
    const alone = resolveTimings(AUTO, { evictions: [eviction(4.8 * MIN, 1)], restores: [] }, NOW);
    const t = resolveTimings(AUTO, o, NOW);
    expect(t.cadence).toEqual(alone.cadence);
    expect(t.cadence.ms).toBeGreaterThan(2 * MIN);
    expect(t.evictionDelay).toEqual(alone.evictionDelay);
  });

  it("keeps the measured idle evictions, oldest first, for the bill; not the at-most bounds", () => {
    const o: ModelObservations = {
      evictions: [
        eviction(40 * MIN, 3),
        eviction(12 * MIN, 2, "at-most"),
        eviction(72 * SEC, 1),
        eviction(95 * MIN, 1),
      ],
      restores: [],
    };
    const t = resolveTimings(AUTO, o, NOW);
    // The plan holds the model under the at-most bound; the bill averages what was measured.
    expect(t.evictionDelay).toEqual({ ms: 12 * MIN, source: "learned" });
    expect(t.evictionSamplesMs).toEqual([40 * MIN, 95 * MIN]);
  });

  it("does not plan from an eviction too soon after a call to be an idle rule", () => {
    // Bedrock moved the copy 72 s after a ping: logged, kept, not a reason to ping every minute.
    const o: ModelObservations = {
      evictions: [eviction(72 * SEC), eviction(14 * MIN, 1)],
      restores: [],
    };
    expect(resolveTimings(AUTO, o, NOW).evictionDelay).toEqual({ ms: 14 * MIN, source: "learned" });
    const only: ModelObservations = { evictions: [eviction(72 * SEC)], restores: [] };
    expect(resolveTimings(AUTO, only, NOW).evictionDelay.source).toBe("assumed");
  });

  it("takes the longest restore recently measured, plus 10% and 30 s, for the lead time", () => {
    const o: ModelObservations = {
      evictions: [],
      restores: [
        { at: NOW - MIN, ms: 90 * SEC },
        { at: NOW, ms: 100 * SEC },
      ],
    };
    const t = resolveTimings(AUTO, o, NOW);
    expect(t.restore).toEqual({ ms: 100 * SEC, source: "learned" });
    expect(t.leadTime).toEqual({ ms: 140 * SEC, source: "learned" });
  });

  it("forgets measurements older than 14 days, and keeps the newest 20", () => {
    const old: ModelObservations = { evictions: [eviction(5 * MIN, 15)], restores: [] };
    expect(resolveTimings(AUTO, old, NOW).evictionDelay.source).toBe("assumed");
    const many: ModelObservations = {
      evictions: [eviction(3 * MIN, 2), ...Array.from({ length: 20 }, () => eviction(15 * MIN))],
      restores: [],
    };
    expect(resolveTimings(AUTO, many, NOW).evictionDelay.ms).toBe(15 * MIN);
  });

  it("obeys fixed settings, whatever was measured", () => {
    const o: ModelObservations = {
      evictions: [eviction(6 * MIN)],
      restores: [{ at: NOW, ms: 7 * MIN }],
    };
    const fixed: TimingSettings = {
      cadence: { mode: "fixed", ms: 14 * MIN },
      leadTime: { mode: "fixed", ms: 5 * MIN },
      evictionDelay: { mode: "fixed", ms: 15 * MIN },
    };
    expect(resolveTimings(fixed, o, NOW)).toEqual({
      cadence: { ms: 14 * MIN, source: "configured" },
      leadTime: { ms: 5 * MIN, source: "configured" },
      evictionDelay: { ms: 15 * MIN, source: "configured" },
      restore: { ms: 7 * MIN, source: "learned" },
      restoreSamplesMs: [7 * MIN],
      // The bill follows what Bedrock did, whatever the plan was told.
      evictionSamplesMs: [6 * MIN],
    });
  });

  it("plans an auto cadence from a fixed eviction delay", () => {
    const t = resolveTimings(
      { ...AUTO, evictionDelay: { mode: "fixed", ms: 10 * MIN } },
      NO_OBSERVATIONS,
      NOW,
    );
    expect(t.cadence).toEqual({ ms: 9 * MIN, source: "configured" });
  });
});

describe("cadenceFor, leadTimeFor, closingOffsetFor", () => {
  it("caps the lead time at 30 minutes", () => {
    expect(leadTimeFor(40 * MIN)).toBe(TIMING_RULES.leadTimeCeilingMs);
    expect(leadTimeFor(20 * SEC)).toBe(52 * SEC);
  });

  it("rounds a cadence down to the second", () => {
    expect(cadenceFor(6 * MIN + 500)).toBe(5 * MIN);
  });

  it("closes the eviction delay less 2 minutes before the end, at the end when shorter", () => {
    expect(closingOffsetFor(15 * MIN)).toBe(13 * MIN);
    expect(closingOffsetFor(MIN)).toBe(0);
  });
});

describe("evictionFromZero", () => {
  it.each([
    // last call, first minute at 0, eviction delay (the shorter end of the minute)
    ["2026-12-07T10:00:00Z", "2026-12-07T10:16:00Z", 15 * MIN],
    ["2026-12-07T10:00:30Z", "2026-12-07T10:16:00Z", 14.5 * MIN],
    ["2026-12-07T10:00:00Z", "2026-12-07T10:06:00Z", 5 * MIN],
  ])("measures from a call at %s and 0 copies from %s", (call, zero, ms) => {
    expect(evictionFromZero(at(call), at(zero))).toBe(ms);
  });

  it("measures nothing when the copy was gone within the minute of the call", () => {
    expect(evictionFromZero(at("2026-12-07T10:00:30Z"), at("2026-12-07T10:01:00Z"))).toBe(
      undefined,
    );
  });
});

describe("lastCallAt", () => {
  const ping = at("2026-12-07T10:00:20Z");

  it("is keepwarm's own ping when Invocations shows nothing later", () => {
    expect(lastCallAt(ping, [at("2026-12-07T10:00:00Z")], at("2026-12-07T10:20:00Z"))).toBe(ping);
  });

  it("is the end of a later minute with calls: a user's or another replica's", () => {
    expect(
      lastCallAt(
        ping,
        [at("2026-12-07T10:00:00Z"), at("2026-12-07T10:07:00Z")],
        at("2026-12-07T10:25:00Z"),
      ),
    ).toBe(at("2026-12-07T10:08:00Z"));
  });

  it("ignores minutes from the zero on, and works without a ping of its own (after a restart)", () => {
    expect(
      lastCallAt(
        undefined,
        [at("2026-12-07T10:07:00Z"), at("2026-12-07T10:30:00Z")],
        at("2026-12-07T10:25:00Z"),
      ),
    ).toBe(at("2026-12-07T10:08:00Z"));
  });
});
