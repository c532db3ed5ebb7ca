import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import { billedWindowsOf } from "../../src/sim/ledger.js";
import type { SimSettings } from "../../src/sim/settings.js";
import { Simulator } from "../../src/sim/simulator.js";
import { ARN, EXACT, MIN } from "./harness.js";

const PING = '{"prompt":"ping","max_gen_len":1}';
const at = (hhmm: string) => Date.parse(`2026-12-01T${hhmm}:00Z`);

/** Replays calls at the given instants and returns the simulator at `until`. */
function replay(
  calls: readonly number[],
  until: number,
  options: { cmu?: number; settings?: Partial<SimSettings> } = {},
): { sim: Simulator; outcomes: string[] } {
  const clock = new ManualClock(calls[0] ?? until);
  const sim = new Simulator({
    clock,
    settings: { ...EXACT, ...options.settings },
    models: [{ modelArn: ARN, customModelUnits: options.cmu ?? 4 }],
  });
  const outcomes = calls.map((t) => {
    clock.set(t);
    const r = sim.invokeModel(ARN, PING);
    return r.kind === "ok" ? "ok" : r.kind === "error" ? r.error.type : r.kind;
  });
  clock.set(until);
  return { sim, outcomes };
}

describe("billedWindowsOf", () => {
  const table: [string, number, number | undefined, number, number][] = [
    // name, start min, end min (undefined = still up), asOf min, windows
    ["a copy up 7 minutes is billed 10", 0, 7, 60, 2],
    ["exactly one window", 0, 5, 60, 1],
    ["one minute is a whole window", 0, 1, 60, 1],
    ["still up at its first instant: one window started", 0, undefined, 0, 1],
    ["still up 5 minutes in: a second window has started", 0, undefined, 5, 2],
  ];
  it.each(table)("%s", (_, start, end, asOf, windows) => {
    const run = { copy: 0, start: start * MIN, end: end === undefined ? undefined : end * MIN };
    expect(billedWindowsOf(run, 5 * MIN, asOf * MIN)).toBe(windows);
  });

  it("counts only the windows that start in a range", () => {
    const run = { copy: 0, start: 0, end: 23 * MIN };
    // Windows start at 0, 5, 10, 15, 20.
    expect(billedWindowsOf(run, 5 * MIN, 60 * MIN, { start: 6 * MIN, end: 20 * MIN })).toBe(2);
    expect(billedWindowsOf(run, 5 * MIN, 60 * MIN, { start: 20 * MIN, end: 90 * MIN })).toBe(1);
  });
});

describe("Simulator", () => {
  describe("ledger", () => {
    it("bills one call: three windows from the first success to eviction 15 minutes later", () => {
      // Cold at 09:00, restored 09:01:30; the retry at 09:02 is the first success.
      const { sim, outcomes } = replay([at("09:00"), at("09:02")], at("12:00"));
      expect(outcomes).toEqual(["ModelNotReadyException", "ok"]);
      const [m] = sim.ledger().models;
      expect(m?.copies).toEqual([
        {
          copy: 0,
          runs: [{ start: at("09:02"), end: at("09:17"), billedWindows: 3 }],
          billedWindows: 3,
          billedMinutes: 15,
        },
      ]);
      expect(m?.cmuMinutes).toBe(60);
      expect(m?.usd).toBeCloseTo(60 * 0.05718, 10); // $3.43
    });

    it("bills calls 4 minutes apart for an hour as one run from the first success to 15 minutes after the last", () => {
      const calls = Array.from({ length: 16 }, (_, k) => at("09:00") + k * 4 * MIN); // 09:00..10:00
      const { sim, outcomes } = replay(calls, at("12:00"));
      expect(outcomes[0]).toBe("ModelNotReadyException");
      expect(outcomes.slice(1).every((o) => o === "ok")).toBe(true);
      const [m] = sim.ledger().models;
      // 09:04 -> 10:15 is 71 minutes: 15 windows, 75 billed minutes.
      expect(m?.copies[0]?.runs).toEqual([
        { start: at("09:04"), end: at("10:15"), billedWindows: 15 },
      ]);
      expect(m?.billedMinutes).toBe(75);
      expect(m?.usd).toBeCloseTo(75 * 4 * 0.05718, 10); // $17.15
    });

    it("bills a copy evicted and restored twice in a day run by run", () => {
      const calls = [
        at("09:00"),
        at("09:02"),
        at("09:10"), // warm 09:02, unloaded 09:25: 23 min -> 5 windows
        at("13:00"),
        at("13:02"), //             warm 13:02, unloaded 13:17: 15 min -> 3 windows
        at("17:00"),
        at("17:02"),
        at("17:07"), // warm 17:02, unloaded 17:22: 20 min -> 4 windows
      ];
      const { sim, outcomes } = replay(calls, at("23:59"), { cmu: 2 });
      expect(outcomes).toEqual([
        "ModelNotReadyException",
        "ok",
        "ok",
        "ModelNotReadyException",
        "ok",
        "ModelNotReadyException",
        "ok",
        "ok",
      ]);
      const [m] = sim.ledger().models;
      expect(m?.copies[0]?.runs.map((r) => r.billedWindows)).toEqual([5, 3, 4]);
      expect(m?.billedMinutes).toBe(60);
      expect(m?.cmuMinutes).toBe(120);
      expect(m?.usd).toBeCloseTo(120 * 0.05718, 10); // $6.86
    });

    it("bills a second copy added under load separately", () => {
      // Two calls per copy at once; a call keeps a copy busy for 1 s.
      const settings = { perCopyConcurrency: 2, invocationMs: 1000 };
      const burst = [at("09:05"), at("09:05"), at("09:05") + 500]; // 3 in flight -> 2 copies
      const { sim, outcomes } = replay(
        [at("09:00"), at("09:02"), ...burst, at("09:20")],
        at("12:00"),
        {
          settings,
        },
      );
      expect(outcomes).toEqual(["ModelNotReadyException", "ok", "ok", "ok", "ok", "ok"]);
      const [m] = sim.ledger().models;
      // Copy 0: 09:02 -> 09:35 (last call 09:20): 33 min -> 7 windows.
      // Copy 1: 09:05:00.5 -> 09:20:00.5: 15 min -> 3 windows.
      expect(m?.copies.map((c) => [c.copy, c.billedWindows])).toEqual([
        [0, 7],
        [1, 3],
      ]);
      expect(m?.copies[1]?.runs[0]).toEqual({
        start: at("09:05") + 500,
        end: at("09:20") + 500,
        billedWindows: 3,
      });
      expect(m?.billedMinutes).toBe(50);
      expect(m?.usd).toBeCloseTo(50 * 4 * 0.05718, 10);
    });

    it("bills an open run for every window started by now", () => {
      const { sim } = replay([at("09:00"), at("09:02")], at("09:08"));
      expect(sim.ledger().models[0]?.copies[0]?.runs).toEqual([
        { start: at("09:02"), end: undefined, billedWindows: 2 },
      ]);
    });

    it("restricts the bill to windows starting in a range, e.g. a calendar month", () => {
      const nov30 = Date.parse("2026-11-30T23:50:00Z");
      const dec1 = Date.parse("2026-12-01T00:00:00Z");
      // Warm from 23:52 to 00:07 (15 min): windows at 23:52, 23:57 | 00:02.
      const { sim } = replay([nov30, nov30 + 2 * MIN], dec1 + 60 * MIN);
      expect(
        sim.ledger({ start: dec1, end: dec1 + 31 * 86_400_000 }).models[0]?.billedWindows,
      ).toBe(1);
      expect(sim.ledger({ start: dec1 - 86_400_000, end: dec1 }).models[0]?.billedWindows).toBe(2);
    });
  });
});
