import { describe, expect, it } from "vitest";
import { seededRandom } from "../../src/domain/random.js";
import {
  bestQuarters,
  cheapestCovering,
  poolAgreeingDays,
  QUARTERS_PER_DAY,
  shareCovered,
  type WarmCostModel,
  WEEK_QUARTERS,
  warmMinutesOf,
} from "../../src/suggest/optimize.js";
import { formatDays, policyYaml, windowRulesOf } from "../../src/suggest/windowRules.js";

const COST: WarmCostModel = { runOverheadMinutes: 4.5, bridgedQuarters: 1 };

/** Calls per week at quarter `q` of day `d` (0 = Monday) of a business-hours-ish profile. */
function profile(fill: (d: number, q: number) => number): Float64Array {
  const calls = new Float64Array(WEEK_QUARTERS);
  for (let d = 0; d < 7; d++) {
    for (let q = 0; q < QUARTERS_PER_DAY; q++) calls[d * QUARTERS_PER_DAY + q] = fill(d, q);
  }
  return calls;
}

const objective = (calls: Float64Array, chosen: Uint8Array, lambda: number) => {
  let covered = 0;
  for (let q = 0; q < WEEK_QUARTERS; q++) if (chosen[q] === 1) covered += calls[q] as number;
  return lambda * covered - warmMinutesOf(chosen, COST);
};

describe("bestQuarters", () => {
  it("finds a choice no single change improves, over random weeks", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const random = seededRandom(seed);
      const calls = profile((d, q) =>
        d < 5 && q >= 36 && q < 72 ? random() * 4 : random() < 0.05 ? 1 : 0,
      );
      for (const lambda of [0.5, 3, 20]) {
        const chosen = bestQuarters(calls, COST, lambda);
        const value = objective(calls, chosen, lambda);
        for (let q = 0; q < WEEK_QUARTERS; q++) {
          const other = Uint8Array.from(chosen);
          other[q] = 1 - (other[q] as number);
          expect(objective(calls, other, lambda)).toBeLessThanOrEqual(value + 1e-9);
        }
      }
    }
  });

  it("keeps a run across Sunday midnight whole", () => {
    const calls = profile((d, q) => ((d === 6 && q >= 88) || (d === 0 && q < 8) ? 10 : 0));
    const chosen = bestQuarters(calls, COST, 5);
    expect(chosen[6 * QUARTERS_PER_DAY + 88]).toBe(1);
    expect(chosen[7]).toBe(1);
    expect(
      windowRulesOf(chosen).map((r) => [formatDays(r.days), r.fromMinute, r.toMinute]),
    ).toEqual([["sun", 22 * 60, 2 * 60]]);
  });
});

describe("cheapestCovering", () => {
  const random = seededRandom(3);
  const calls = profile((d, q) =>
    d < 5 && q >= 76 && q < 88 ? 5 + random() : random() < 0.02 ? 1 : 0,
  );

  it("covers at least the share asked, and costs less for less", () => {
    let previous = Number.POSITIVE_INFINITY;
    for (const share of [1, 0.99, 0.9, 0.5]) {
      const chosen = cheapestCovering(calls, COST, share);
      expect(shareCovered(calls, chosen)).toBeGreaterThanOrEqual(share - 1e-12);
      const minutes = warmMinutesOf(chosen, COST);
      expect(minutes).toBeLessThanOrEqual(previous);
      previous = minutes;
    }
  });

  it("covers every quarter with a call for all of them, and none without calls", () => {
    const all = cheapestCovering(calls, COST, 1);
    for (let q = 0; q < WEEK_QUARTERS; q++) if ((calls[q] as number) > 0) expect(all[q]).toBe(1);
    expect(cheapestCovering(new Float64Array(WEEK_QUARTERS), COST, 0.99).indexOf(1)).toBe(-1);
  });
});

describe("poolAgreeingDays", () => {
  it("keeps a quiet day apart: one stray call is no window on every day", () => {
    const calls = profile((d, q) => (d === 2 && q === 60 ? 0.25 : 0));
    const { groups } = poolAgreeingDays(calls);
    expect(groups).toEqual([[0], [1], [2], [3], [4], [5], [6]]);
    const rules = windowRulesOf(cheapestCovering(poolAgreeingDays(calls).pooled, COST, 0.99));
    expect(rules.map((r) => [formatDays(r.days), r.fromMinute, r.toMinute])).toEqual([
      ["wed", 15 * 60, 15 * 60 + 15],
    ]);
  });

  it("pools weekdays of the same shape and keeps a Saturday apart", () => {
    const random = seededRandom(9);
    const calls = profile((d, q) =>
      d < 5 && q >= 76 && q < 88 ? 4 + random() : d === 5 && q >= 40 && q < 48 ? 6 : 0,
    );
    const { groups, pooled } = poolAgreeingDays(calls);
    expect(groups).toEqual([[0, 1, 2, 3, 4], [5], [6]]);
    const monday = pooled.subarray(0, QUARTERS_PER_DAY);
    const friday = pooled.subarray(4 * QUARTERS_PER_DAY, 5 * QUARTERS_PER_DAY);
    expect([...friday]).toEqual([...monday]);
    const rules = windowRulesOf(cheapestCovering(pooled, COST, 0.99));
    expect(rules.map((r) => [formatDays(r.days), r.fromMinute, r.toMinute])).toEqual([
      ["mon-fri", 19 * 60, 22 * 60],
      ["sat", 10 * 60, 12 * 60],
    ]);
  });
});

describe("windowRulesOf", () => {
  it("writes every quarter as daily 00:00-24:00 and splits a run longer than a day", () => {
    expect(windowRulesOf(new Uint8Array(WEEK_QUARTERS).fill(1))).toEqual([
      { days: new Set([1, 2, 3, 4, 5, 6, 7]), fromMinute: 0, toMinute: 1440 },
    ]);
    const chosen = new Uint8Array(WEEK_QUARTERS);
    // Friday 18:00 to Monday 06:00.
    for (let q = 4 * QUARTERS_PER_DAY + 72; q < 7 * QUARTERS_PER_DAY + 24; q++) {
      chosen[q % WEEK_QUARTERS] = 1;
    }
    const rules = windowRulesOf(chosen);
    expect(rules.map((r) => [formatDays(r.days), r.fromMinute, r.toMinute])).toEqual([
      ["fri, sat", 18 * 60, 18 * 60],
      ["sun", 18 * 60, 6 * 60],
    ]);
  });

  it("names days as the YAML does and prints a policy to paste", () => {
    expect(formatDays(new Set([1, 2, 3, 5]))).toBe("mon-wed, fri");
    expect(formatDays(new Set([6, 7]))).toBe("sat, sun");
    const rules = windowRulesOf(
      bestQuarters(
        profile((d, q) => (d < 5 && q >= 36 && q < 72 ? 9 : 0)),
        COST,
        5,
      ),
    );
    const yaml = policyYaml("mimo-vl", {
      name: "mimo-vl-99pct",
      kind: "windows",
      timezone: "Asia/Shanghai",
      windows: rules,
      holidays: [{ first: "2027-01-01", last: "2027-01-01" }],
    });
    expect(yaml).toBe(
      [
        "policies:",
        "  mimo-vl-99pct:",
        "    timezone: Asia/Shanghai",
        "    windows:",
        "      - days: mon-fri",
        '        from: "09:00"',
        '        to: "18:00"',
        "    holidays:",
        "      - 2027-01-01",
        "models:",
        "  - name: mimo-vl",
        "    policy: mimo-vl-99pct",
        "",
      ].join("\n"),
    );
  });
});
