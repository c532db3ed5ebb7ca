import { describe, expect, it } from "vitest";
import {
  type BudgetCrossing,
  type BudgetStanding,
  budgetLevel,
  budgetReachedAt,
  budgetReachedOn,
  budgetStandings,
  describeCrossing,
  dueCrossings,
  fleetSpend,
  formatBudgetShare,
} from "../../src/domain/budget.js";
import { projectMonth, projectRestOfMonth } from "../../src/domain/spend.js";
import { initialTimings } from "../../src/domain/timings.js";
import { at, config, model, v1Units } from "./builders.js";

const alwaysOn = model("mimo-vl", "always-on");
const businessHours = model("mimo-vl", "business-hours");
const cfg = config([], [alwaysOn]);
const cfgBusiness = config([], [businessHours]);
const DAY = 86_400_000;

function standing(over: Partial<BudgetStanding>): BudgetStanding {
  return {
    model: "mimo-vl",
    budgetUsd: 3000,
    projectedMonthUsd: 0,
    monthToDateUsd: 0,
    modelsWithUnknownCmu: [],
    ...over,
  };
}

describe("budgetLevel", () => {
  it.each([
    [0, "within"],
    [0.7999, "within"],
    [0.8, "near"],
    [0.9999, "near"],
    [1, "over"],
    [3.4, "over"],
  ])("%f of a budget is %s", (ratio, level) => {
    expect(budgetLevel(ratio)).toBe(level);
  });

  it.each([
    [0.996, "99% near"],
    [1, "100% OVER"],
    [0.8, "80% near"],
    [0.2399, "23%"],
    [0.58, "58%"],
    [1.13, "113% OVER"],
  ])("prints %f as %s", (ratio, text) => {
    expect(formatBudgetShare(ratio)).toBe(text);
  });
});

describe("budgetReachedAt", () => {
  it("spreads the rest of an always-on December evenly: a $10,000 budget is reached on the 31st", () => {
    const start = at("2026-12-01T00:00Z");
    const projected = projectRestOfMonth(
      cfg,
      alwaysOn,
      v1Units(4),
      start,
      0,
      initialTimings(alwaysOn),
    );
    expect(projected).toBeCloseTo(10_217.86, 2);
    const t = budgetReachedAt(10_000, 0, projected, start) as number;
    // 31 days x 10,000 / 10,217.86 = 30.339 days after the 1st.
    expect((t - start) / DAY).toBeCloseTo((31 * 10_000) / projected, 6);
    expect(budgetReachedOn(10_000, 0, projected, start)).toBe("2026-12-31");
    expect(budgetReachedOn(5_000, 0, projected, start)).toBe("2026-12-16");
  });

  it("takes month to date as spent and the rest at the rate of what is left", () => {
    // Mid-month: $4,000 spent, $6,000 more planned over the 16 days left.
    const now = at("2026-12-16T00:00Z");
    expect(budgetReachedAt(7_000, 4_000, 10_000, now)).toBe(now + 8 * DAY);
    expect(budgetReachedOn(7_000, 4_000, 10_000, now)).toBe("2026-12-24");
  });

  it("is now when month to date has already reached the budget", () => {
    const now = at("2026-12-20T13:00Z");
    expect(budgetReachedAt(3_000, 3_000.01, 4_000, now)).toBe(now);
  });

  it("is undefined when the projection stays below the budget (business hours $2,848.50 < $3,000)", () => {
    const month = projectMonth(
      cfgBusiness,
      businessHours,
      v1Units(4),
      "2026-12",
      initialTimings(businessHours),
    );
    expect(month.computeUsd).toBeGreaterThanOrEqual(2_840.7);
    const now = at("2026-12-01T00:00Z");
    const projected = projectRestOfMonth(
      cfgBusiness,
      businessHours,
      v1Units(4),
      now,
      0,
      initialTimings(businessHours),
    );
    expect(budgetReachedAt(3_000, 0, 2_848.5, now)).toBeUndefined();
    expect(budgetReachedOn(projected + 0.01, 0, projected, now)).toBeNull();
  });

  it("never falls after the month's last instant", () => {
    const now = at("2026-12-31T23:59Z");
    const t = budgetReachedAt(100, 0, 100, now) as number;
    expect(t).toBeLessThan(at("2027-01-01T00:00Z"));
    expect(budgetReachedOn(100, 0, 100, now)).toBe("2026-12-31");
  });
});

describe("dueCrossings", () => {
  const now = at("2026-12-07T03:00Z");

  it("announces nothing below 80%", () => {
    expect(dueCrossings(standing({ projectedMonthUsd: 2_399.99 }), [], now)).toEqual([]);
  });

  it("announces 80% for business hours against $3,000, with no date as $2,848.50 stays below", () => {
    const due = dueCrossings(
      standing({ projectedMonthUsd: 2_848.5, monthToDateUsd: 500 }),
      [],
      now,
    );
    expect(due).toEqual([
      {
        model: "mimo-vl",
        month: "2026-12",
        threshold: 80,
        at: now,
        budgetUsd: 3000,
        projectedMonthUsd: 2_848.5,
        monthToDateUsd: 500,
        reachedOn: null,
        modelsWithUnknownCmu: [],
      },
    ]);
  });

  it("announces 80% and 100% at once when the first projection is already over", () => {
    const due = dueCrossings(standing({ projectedMonthUsd: 10_217.86 }), [], now);
    expect(due.map((c) => c.threshold)).toEqual([80, 100]);
    expect(due.every((c) => c.reachedOn === "2026-12-14")).toBe(true);
  });

  it("does not announce a threshold again in the same month, but does in the next", () => {
    const first = dueCrossings(standing({ projectedMonthUsd: 2_900 }), [], now);
    const again = dueCrossings(
      standing({ projectedMonthUsd: 3_100 }),
      first,
      at("2026-12-20T00:00Z"),
    );
    expect(again.map((c) => c.threshold)).toEqual([100]);
    const all: BudgetCrossing[] = [...first, ...again];
    expect(
      dueCrossings(standing({ projectedMonthUsd: 3_200 }), all, at("2026-12-31T23:59Z")),
    ).toEqual([]);
    const january = dueCrossings(
      standing({ projectedMonthUsd: 3_200 }),
      all,
      at("2027-01-01T00:00Z"),
    );
    expect(january.map((c) => [c.month, c.threshold])).toEqual([
      ["2027-01", 80],
      ["2027-01", 100],
    ]);
  });

  it("announces the thresholds of a budget changed to another amount afresh", () => {
    const first = dueCrossings(standing({ projectedMonthUsd: 2_900 }), [], now);
    expect(first.map((c) => c.threshold)).toEqual([80]);
    const raised = dueCrossings(
      standing({ budgetUsd: 3_500, projectedMonthUsd: 2_900 }),
      first,
      now,
    );
    expect(raised.map((c) => [c.budgetUsd, c.threshold])).toEqual([[3_500, 80]]);
    expect(dueCrossings(standing({ projectedMonthUsd: 2_900 }), first, now)).toEqual([]);
  });

  it("keeps budgets apart: a model's announcement is not the fleet's", () => {
    const model = dueCrossings(standing({ projectedMonthUsd: 2_900 }), [], now);
    const fleet = dueCrossings(
      standing({ model: null, budgetUsd: 3_000, projectedMonthUsd: 2_900 }),
      model,
      now,
    );
    expect(fleet.map((c) => [c.model, c.threshold])).toEqual([[null, 80]]);
  });

  it("announces nothing while the projection is unknown", () => {
    expect(dueCrossings(standing({ projectedMonthUsd: undefined }), [], now)).toEqual([]);
  });
});

describe("fleetSpend", () => {
  it("sums the models whose spend is known and names the others", () => {
    expect(
      fleetSpend([
        { name: "a", monthToDateUsd: 100, projectedMonthUsd: 2_848.5 },
        { name: "b", monthToDateUsd: undefined, projectedMonthUsd: undefined },
        { name: "c", monthToDateUsd: 50, projectedMonthUsd: 10_217.86 },
      ]),
    ).toEqual({
      monthToDateUsd: 150,
      projectedMonthUsd: 2_848.5 + 10_217.86,
      modelsWithUnknownCmu: ["b"],
    });
  });
});

describe("budgetStandings", () => {
  const budgets = { fleetUsd: 5_000, modelUsd: new Map([["a", 3_000]]) };
  const spend = [
    { name: "a", cmu: 4, monthToDateUsd: 100, projectedMonthUsd: 2_848.5 },
    { name: "b", cmu: undefined, monthToDateUsd: undefined, projectedMonthUsd: undefined },
  ];

  it("holds each model's budget against its own projection and the fleet's against the sum", () => {
    expect(budgetStandings(budgets, spend)).toEqual([
      {
        model: "a",
        budgetUsd: 3_000,
        projectedMonthUsd: 2_848.5,
        monthToDateUsd: 100,
        modelsWithUnknownCmu: [],
      },
      {
        model: null,
        budgetUsd: 5_000,
        projectedMonthUsd: 2_848.5,
        monthToDateUsd: 100,
        modelsWithUnknownCmu: ["b"],
      },
    ]);
  });

  it("has none without budgets", () => {
    expect(budgetStandings(undefined, spend)).toEqual([]);
    expect(budgetStandings({ fleetUsd: undefined, modelUsd: new Map() }, spend)).toEqual([]);
  });
});

describe("describeCrossing", () => {
  it("says whose budget, how far the projection goes and when the budget is reached", () => {
    // 80% was announced already: only 100% is due.
    const [over, ...more] = dueCrossings(
      standing({ budgetUsd: 10_000, projectedMonthUsd: 10_217.86 }),
      [crossingAt(80)],
      at("2026-12-01T00:00Z"),
    );
    expect(more).toEqual([]);
    expect(describeCrossing(over as BudgetCrossing)).toBe(
      "mimo-vl crossed 100% of its $10,000.00 2026-12 budget: projected $10,217.86 (102%), month to date $0.00, reached on 2026-12-31 at the current rate",
    );
  });

  it("names the fleet and the models left out of it", () => {
    const c = { ...crossingAt(80), model: null, modelsWithUnknownCmu: ["b", "c"] };
    expect(describeCrossing(c)).toBe(
      "the fleet crossed 80% of its $10,000.00 2026-12 budget: projected $8,500.00 (85%), month to date $0.00, not reached this month at the current rate (left out with CMU unknown: b, c)",
    );
  });
});

function crossingAt(threshold: 80 | 100): BudgetCrossing {
  return {
    model: "mimo-vl",
    month: "2026-12",
    threshold,
    at: at("2026-12-01T00:00Z"),
    budgetUsd: 10_000,
    projectedMonthUsd: 8_500,
    monthToDateUsd: 0,
    reachedOn: null,
    modelsWithUnknownCmu: [],
  };
}
