import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import type { CopyPoint } from "../../../src/aws/metrics.js";
import { parseConfigText } from "../../../src/config/load.js";
import { planModel } from "../../../src/domain/plan.js";
import { initialTimings } from "../../../src/domain/timings.js";
import type { ModelConfig } from "../../../src/domain/types.js";
import { type PlanView, SpendBook, type SpendUnits } from "../../../src/runtime/spend/spendBook.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
const MIN = 60_000;
const DEC_7_1000 = Date.UTC(2026, 11, 7, 2, 0); // 10:00 in Shanghai, a Monday

/** The plan view of one 4-CMU model in us-west-2 ($0.05718 per CMU-minute) on `policy`. */
function viewOf(policy: string, version = 0): PlanView {
  const loaded = parseConfigText(
    `timezone: Asia/Shanghai\nmodels:\n  - name: m\n    modelArn: ${ARN}\n    policy: ${policy}\n    customModelUnits: 4\n`,
    "test.yaml",
    { stateDir: tmpdir() },
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const model = loaded.config.models[0] as ModelConfig;
  const timings = initialTimings(model);
  return {
    config: loaded.config,
    model,
    timings,
    timingsVersion: version,
    planAround: (t) =>
      planModel(loaded.config, model, { start: t - 60 * MIN, end: t + 24 * 60 * MIN }, timings),
  };
}

/** 4 CMU v1.0 at us-west-2's table price. */
const UNITS: SpendUnits = {
  cmu: 4,
  cmuVersion: "v1.0",
  priced: {
    cmu: 4,
    price: { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95, source: "test" },
  },
};

/** `minutes` minutes of `copies` copies from `start`. */
function run(start: number, minutes: number, copies = 1): CopyPoint[] {
  return Array.from({ length: minutes }, (_, i) => ({ t: start + i * MIN, copies }));
}

describe("SpendBook", () => {
  describe("figures", () => {
    it("bills month to date in 5-minute windows at the model's price and CMU", () => {
      const book = new SpendBook();
      const now = DEC_7_1000 + 60 * MIN;
      book.open("m", now);
      book.rebuild("m", [], now);
      // 32 warm minutes bill as 35: the run is rounded up to whole 5-minute windows.
      book.record("m", [...run(DEC_7_1000, 32), ...run(DEC_7_1000 + 32 * MIN, 5, 0)], now);
      const f = book.figures("m", viewOf("business-hours"), UNITS, now);
      expect(book.billedCopyMinutes("m", now)).toBe(35);
      expect(f.monthToDateUsd).toBeCloseTo(35 * 4 * 0.05718, 10);
      expect(f.usdPerCmuMinute).toBe(0.05718);
      expect(f.projectedMonthUsd).toBeGreaterThan(f.monthToDateUsd as number);
      expect(f.savingUsd).toBeCloseTo(
        (f.alwaysOnMonthUsd as number) - (f.projectedMonthUsd as number),
        10,
      );
    });

    it("reports every figure as unknown while the CMU is unknown", () => {
      const book = new SpendBook();
      book.open("m", DEC_7_1000);
      book.rebuild("m", [], DEC_7_1000);
      book.record("m", run(DEC_7_1000 - 10 * MIN, 10), DEC_7_1000);
      expect(
        book.figures(
          "m",
          viewOf("business-hours"),
          { cmu: undefined, priced: undefined },
          DEC_7_1000,
        ),
      ).toEqual({
        cmu: undefined,
        cmuVersion: undefined,
        usdPerCmuMinute: undefined,
        monthToDateUsd: undefined,
        projectedMonthUsd: undefined,
        alwaysOnMonthUsd: undefined,
        savingUsd: undefined,
      });
    });

    it("projects an always-on model's month as the always-on price (the worked figure)", () => {
      const book = new SpendBook();
      const start = Date.UTC(2026, 10, 1); // November: 30 days
      book.open("m", start);
      book.rebuild("m", [], start);
      const f = book.figures("m", viewOf("always-on"), UNITS, start);
      // 4 x 0.05718 x 60 x 24 x 30 = $9,880.70 of compute, + 4 x $1.95 storage.
      expect(f.alwaysOnMonthUsd).toBeCloseTo(9880.7 + 7.8, 1);
      expect(f.projectedMonthUsd).toBeCloseTo(9880.7 + 7.8, 0);
    });

    it("is a query: asking twice changes nothing, also past the month's end before the roll", () => {
      const book = new SpendBook();
      const lastDay = Date.UTC(2026, 11, 31, 23, 0);
      book.open("m", lastDay);
      book.rebuild("m", [], lastDay);
      book.record("m", run(lastDay, 60), lastDay + 59 * MIN);
      const afterMidnight = Date.UTC(2027, 0, 1, 0, 3);
      book.record("m", run(Date.UTC(2027, 0, 1), 3), afterMidnight);
      const view = viewOf("always-on");
      // The month ended and the minute job has not rolled the book: January's minutes only.
      expect(book.billedCopyMinutes("m", afterMidnight)).toBe(5);
      const first = book.figures("m", view, UNITS, afterMidnight);
      expect(book.figures("m", view, UNITS, afterMidnight)).toEqual(first);
      expect(first.monthToDateUsd).toBeCloseTo(5 * 4 * 0.05718, 10);
      // December is still the book's month until the roll.
      expect(book.billedCopyMinutes("m", lastDay + 59 * MIN)).toBe(60);
    });
  });

  describe("rollMonth", () => {
    it("starts January's bill with the January points already read, and keeps the last two days", () => {
      const book = new SpendBook();
      const lastDay = Date.UTC(2026, 11, 31, 23, 30);
      book.open("m", lastDay);
      book.rebuild("m", [], lastDay);
      const now = Date.UTC(2027, 0, 1, 0, 10);
      book.record("m", [...run(lastDay, 30), ...run(Date.UTC(2027, 0, 1), 10)], now);
      book.rollMonth(now);
      expect(book.billedCopyMinutes("m", now)).toBe(10);
      // Yesterday's points stay for the daily summary of the 31st.
      expect(book.pointsIn("m", { start: lastDay, end: lastDay + 30 * MIN })).toHaveLength(30);
    });
  });

  describe("rebuild", () => {
    it("replaces the month with a read of all of it", () => {
      const book = new SpendBook();
      const now = DEC_7_1000 + 120 * MIN;
      book.open("m", now);
      book.rebuild("m", [], now);
      book.record("m", run(DEC_7_1000, 60), now);
      book.rebuild("m", run(DEC_7_1000, 20), now);
      expect(book.billedCopyMinutes("m", now)).toBe(20);
    });
  });

  describe("the rest of the month", () => {
    it("is planned again after replan or new timings, and not before", () => {
      const book = new SpendBook();
      const now = DEC_7_1000;
      book.open("m", now);
      book.rebuild("m", [], now);
      const business = book.figures("m", viewOf("business-hours"), UNITS, now);
      // Same timings version, no replan: the memoised rest of the month still answers.
      expect(book.figures("m", viewOf("always-on"), UNITS, now)).toEqual(business);
      // A fresh projection plans again without keeping it.
      const fresh = book.figures("m", viewOf("always-on"), UNITS, now, { fresh: true });
      expect(fresh.projectedMonthUsd).toBeGreaterThan(business.projectedMonthUsd as number);
      expect(book.figures("m", viewOf("always-on"), UNITS, now)).toEqual(business);
      book.replan("m");
      expect(book.figures("m", viewOf("always-on"), UNITS, now)).toEqual(fresh);
      expect(book.figures("m", viewOf("business-hours", 1), UNITS, now)).toEqual(business);
    });
  });

  it("leaves month to date and the projection unknown until the month has been read whole", () => {
    const book = new SpendBook();
    book.open("m", DEC_7_1000);
    book.record("m", run(DEC_7_1000 - 10 * MIN, 10), DEC_7_1000);
    const before = book.figures("m", viewOf("business-hours"), UNITS, DEC_7_1000);
    expect(book.monthRead("m")).toBe(false);
    expect(before.monthToDateUsd).toBeUndefined();
    expect(before.projectedMonthUsd).toBeUndefined();
    expect(before.alwaysOnMonthUsd).toBeGreaterThan(0);
    book.rebuild("m", run(DEC_7_1000 - 10 * MIN, 10), DEC_7_1000);
    expect(
      book.figures("m", viewOf("business-hours"), UNITS, DEC_7_1000).monthToDateUsd,
    ).toBeCloseTo(10 * 4 * 0.05718, 10);
  });

  it("projects nothing beyond month to date for a model AWS says is gone", () => {
    const book = new SpendBook();
    book.open("m", DEC_7_1000);
    book.rebuild("m", run(DEC_7_1000 - 10 * MIN, 10), DEC_7_1000);
    const gone = book.figures("m", viewOf("business-hours"), UNITS, DEC_7_1000, { gone: true });
    expect(gone.projectedMonthUsd).toBe(gone.monthToDateUsd);
  });

  it("refuses a model it has no account for", () => {
    const book = new SpendBook();
    expect(() => book.record("ghost", [], DEC_7_1000)).toThrow(
      /no spend account for model "ghost"/,
    );
  });
});
