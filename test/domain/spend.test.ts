import { describe, expect, it } from "vitest";
import { formatUsd } from "../../src/domain/format.js";
import { planModel } from "../../src/domain/plan.js";
import {
  BILLING_WINDOW_MS,
  billCopySeries,
  billedMinutes,
  monthOf,
  monthRange,
  planMonthMinutes,
  projectMonth,
  projectRestOfMonth,
  SpendError,
} from "../../src/domain/spend.js";
import { initialTimings, resolveTimings } from "../../src/domain/timings.js";
import { at, config, holiday, MIN, model, rule, v1Units, windowsPolicy } from "./builders.js";

const cents = (x: number) => Math.round(x * 100) / 100;

describe("billedMinutes", () => {
  it.each([
    [0, 0],
    [1, 5],
    [5 * MIN, 5],
    [7 * MIN, 10],
    [10 * MIN, 10],
    [547 * MIN, 550],
  ])("bills a %i ms run as %i minutes", (ms, minutes) => {
    expect(billedMinutes(ms)).toBe(minutes);
  });
  it("bills in 5-minute windows", () => {
    expect(BILLING_WINDOW_MS).toBe(300_000);
  });
});

describe("billCopySeries", () => {
  const t0 = at("2026-12-01T00:00:00Z");
  const series = (copies: number[]) => copies.map((c, i) => ({ t: t0 + i * MIN, copies: c }));
  it.each([
    ["nothing warm", [0, 0, 0], 0],
    ["7 minutes of one copy", [1, 1, 1, 1, 1, 1, 1, 0], 10],
    ["two runs of one copy", [1, 1, 0, 1, 0], 10],
    ["a second copy for 3 of 7 minutes", [1, 2, 2, 2, 1, 1, 1], 15],
    ["a second copy in two bursts", [2, 1, 2, 1, 1], 15],
    ["6 minutes of three copies", [3, 3, 3, 3, 3, 3], 30],
  ])("bills %s", (_name, copies, billed) => {
    expect(billCopySeries(series(copies))).toBe(billed);
  });
  it("ends a run at a missing minute and accepts points out of order", () => {
    const points = [
      { t: t0 + 3 * MIN, copies: 1 },
      { t: t0, copies: 1 },
      { t: t0 + MIN, copies: 1 },
    ];
    expect(billCopySeries(points)).toBe(10);
  });
});

describe("monthOf", () => {
  it.each([
    ["2026-12-31T23:59:59.999Z", "2026-12"],
    ["2027-01-01T07:59:00+08:00", "2026-12"],
    ["2028-02-29T12:00:00Z", "2028-02"],
  ])("puts %s in %s (UTC)", (t, month) => {
    expect(monthOf(at(t))).toBe(month);
  });
});

describe("monthRange", () => {
  it.each([
    ["2026-11", 30],
    ["2026-12", 31],
    ["2027-02", 28],
    ["2028-02", 29],
  ])("makes %s %i days long from the 1st 00:00 UTC", (month, days) => {
    const r = monthRange(month);
    expect(new Date(r.start).toISOString()).toBe(`${month}-01T00:00:00.000Z`);
    expect((r.end - r.start) / 86_400_000).toBe(days);
  });
  it.each(["2026-13", "2026-1", "december"])("rejects %s", (month) => {
    expect(() => monthRange(month)).toThrow(SpendError);
  });
});

describe("projectMonth", () => {
  const alwaysOn = model("mimo-vl", "always-on");
  const cfg = config([], [alwaysOn]);

  it.each([
    // The worked numbers of bedrock-facts.md §2.
    ["2026-11", 43_200, 9_880.7, 9_888.5],
    ["2026-12", 44_640, 10_210.06, 10_217.86],
    ["2027-02", 40_320, 9_221.99, 9_229.79],
    ["2028-02", 41_760, 9_551.35, 9_559.15],
  ])(
    "costs always-on 4 CMU in %s: %i minutes, compute %d, total %d",
    (month, minutes, compute, total) => {
      const cost = projectMonth(cfg, alwaysOn, v1Units(4), month, initialTimings(alwaysOn));
      expect(cost.warmMinutes).toBe(minutes);
      expect(cost.billedMinutes).toBe(minutes);
      expect(cents(cost.computeUsd)).toBe(compute);
      expect(cents(cost.storageUsd)).toBe(7.8);
      expect(cents(cost.totalUsd)).toBe(total);
      expect(cents(cost.alwaysOnUsd)).toBe(total);
    },
  );

  it("formats the December 2026 always-on total as $10,217.86", () => {
    expect(
      formatUsd(
        projectMonth(cfg, alwaysOn, v1Units(4), "2026-12", initialTimings(alwaysOn)).totalUsd,
      ),
    ).toBe("$10,217.86");
  });

  describe("business hours Mon-Fri 09:00-18:00, December 2026", () => {
    const hours = windowsPolicy("business-hours", "Asia/Shanghai", [
      rule("mon-fri", "09:00", "18:00"),
    ]);
    const m = model("mimo-vl", "business-hours");
    const hoursCfg = config([hours], [m]);

    it("has 23 x 540 window minutes, $2,840.70 at 4 CMU", () => {
      const december = monthRange("2026-12");
      const windowMinutes = planModel(hoursCfg, m, december, initialTimings(m)).windows.reduce(
        (sum, w) => sum + (w.end - w.start) / MIN,
        0,
      );
      expect(windowMinutes).toBe(23 * 540);
      expect(formatUsd(windowMinutes * 4 * 0.05718)).toBe("$2,840.70");
    });

    it("bills each run from its first success to its tail: 23 runs of 09:00-18:02, billed 545 minutes each", () => {
      // First ping 08:55 (lead 5m), answered after the assumed 5-minute restore at 09:00;
      // closing ping 17:47 (eviction 15m less the 2m margin), cold at 18:02.
      const cost = projectMonth(hoursCfg, m, v1Units(4), "2026-12", initialTimings(m));
      expect(cost.warmMinutes).toBe(23 * 542);
      expect(cost.billedMinutes).toBe(23 * 545);
      expect(cents(cost.computeUsd)).toBe(2_867.01);
      expect(cents(cost.totalUsd)).toBe(2_874.81);
      expect(cents(cost.alwaysOnUsd - cost.totalUsd)).toBe(7_343.06);
    });

    it("drops a holiday: Christmas leaves 22 runs", () => {
      const withHoliday = windowsPolicy(
        "business-hours",
        "Asia/Shanghai",
        [rule("mon-fri", "09:00", "18:00")],
        [holiday("2026-12-25")],
      );
      expect(
        planMonthMinutes(config([withHoliday], [m]), m, "2026-12", initialTimings(m)).billedMinutes,
      ).toBe(22 * 545);
    });
  });

  it("splits an overnight run across a month end by the billing windows that start in each month", () => {
    const night = windowsPolicy("night", "UTC", [rule("daily", "22:00", "02:00")]);
    const m = model("batch", "night");
    const cfg2 = config([night], [m]);
    const range = { start: at("2026-11-30T12:00:00Z"), end: at("2026-12-01T12:00:00Z") };
    const [run] = planModel(cfg2, m, range, initialTimings(m)).warm;
    expect(run).toEqual({
      start: at("2026-11-30T21:55:00Z"),
      end: at("2026-12-01T02:02:00Z"),
      billedFrom: at("2026-11-30T22:00:00Z"),
    });
    const nov = projectMonth(cfg2, m, v1Units(2), "2026-11", initialTimings(m), {
      from: at("2026-11-30T12:00:00Z"),
    });
    const dec = projectMonth(cfg2, m, v1Units(2), "2026-12", initialTimings(m), {
      to: at("2026-12-01T12:00:00Z"),
    });
    // Billing windows start at the first success, 22:00, every 5 minutes: 24 of them start
    // in November, 25 in December.
    expect([nov.warmMinutes, dec.warmMinutes]).toEqual([120, 122]);
    expect([nov.billedMinutes, dec.billedMinutes]).toEqual([120, 125]);
    expect(nov.billedMinutes + dec.billedMinutes).toBe(billedMinutes(242 * MIN));
  });
});

describe("planMonthMinutes with measured restores", () => {
  it("bills a run as the average over the recent restores, each starting the bill a restore after the first ping", () => {
    const night = windowsPolicy("night", "UTC", [rule("daily", "22:00", "02:00")]);
    const m = model("batch", "night");
    const cfg = config([night], [m]);
    const timings = resolveTimings(
      m.timing,
      {
        evictions: [],
        restores: [
          { at: at("2026-12-09T22:00:00Z"), ms: 60_000 },
          { at: at("2026-12-09T22:01:00Z"), ms: 240_000 },
        ],
      },
      at("2026-12-10T12:00:00Z"),
    );
    // Lead from the longest restore, 4 min x 1.1 + 30 s = 4m54s, puts the first ping on the minute at 21:55;
    // the assumed 5-minute eviction puts the closing ping at 01:57 and the run's end at 02:02.
    const [run] = planModel(
      cfg,
      m,
      { start: at("2026-12-10T12:00:00Z"), end: at("2026-12-11T12:00:00Z") },
      timings,
    ).warm;
    expect(run?.billedFromSamples).toEqual([
      at("2026-12-10T21:56:00Z"),
      at("2026-12-10T21:59:00Z"),
    ]);
    const day = planMonthMinutes(cfg, m, "2026-12", timings, {
      from: at("2026-12-10T12:00:00Z"),
      to: at("2026-12-11T12:00:00Z"),
    });
    // From 21:56, 246 min: 50 windows; from 21:59, 243 min: 49 windows. Their average.
    expect(day.billedMinutes).toBe((250 + 245) / 2);
    expect(day.warmMinutes).toBeCloseTo((246 + 243) / 2, 6);
  });

  it("bills a run's tail as the average over the recent evictions, planning from the shortest", () => {
    const night = windowsPolicy("night", "UTC", [rule("daily", "22:00", "02:00")]);
    const auto = { mode: "auto" } as const;
    const m = model("batch", "night", {
      timing: { cadence: auto, leadTime: auto, evictionDelay: auto },
    });
    const cfg = config([night], [m]);
    const measured = (ms: number, atIso: string) => ({
      at: at(atIso),
      lastCallAt: at(atIso) - ms,
      ms,
      bound: "measured" as const,
    });
    const timings = resolveTimings(
      m.timing,
      {
        // Bedrock kept the copy 10 minutes after the last call one night, 50 the next.
        evictions: [
          measured(10 * MIN, "2026-12-08T02:10:00Z"),
          measured(50 * MIN, "2026-12-09T02:50:00Z"),
        ],
        restores: [{ at: at("2026-12-09T22:00:00Z"), ms: 60_000 }],
      },
      at("2026-12-10T12:00:00Z"),
    );
    // Lead 60 s x 1.1 + 30 s = 96 s: first ping 21:58:24, billed from 21:59:24. The
    // shortest eviction puts the closing ping at 02:00 - (10 - 2) min = 01:52.
    const [run] = planModel(
      cfg,
      m,
      { start: at("2026-12-10T12:00:00Z"), end: at("2026-12-11T12:00:00Z") },
      timings,
    ).warm;
    expect(run?.end).toBe(at("2026-12-11T02:02:00Z"));
    expect(run?.endSamples).toEqual([at("2026-12-11T02:02:00Z"), at("2026-12-11T02:42:00Z")]);
    const day = planMonthMinutes(cfg, m, "2026-12", timings, {
      from: at("2026-12-10T12:00:00Z"),
      to: at("2026-12-11T12:00:00Z"),
    });
    // To 02:02, 242.6 min: 49 windows; to 02:42, 282.6 min: 57 windows. Their average.
    expect(day.billedMinutes).toBe((245 + 285) / 2);
    expect(day.warmMinutes).toBeCloseTo((242.6 + 282.6) / 2, 6);
  });
});

describe("projectRestOfMonth", () => {
  it("adds month to date, the plan from now to the month end and a full month of storage", () => {
    const m = model("mimo-vl", "always-on");
    const cfg = config([], [m]);
    const now = at("2026-12-16T00:00:00Z");
    const projected = projectRestOfMonth(cfg, m, v1Units(4), now, 5_000, initialTimings(m));
    expect(cents(projected)).toBe(cents(5_000 + 16 * 1440 * 4 * 0.05718 + 7.8));
  });
});

describe("formatUsd", () => {
  it.each([
    [10_217.8608, "$10,217.86"],
    [0, "$0.00"],
    [-0.001, "$0.00"],
    [-1.2, "-$1.20"],
    [1_234_567.891, "$1,234,567.89"],
    [0.005, "$0.01"],
  ])("formats %d as %s", (x, text) => {
    expect(formatUsd(x)).toBe(text);
  });
});
