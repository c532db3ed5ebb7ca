import { describe, expect, it } from "vitest";
import {
  activePolicyAt,
  isInWindow,
  isPlannedWarm,
  type ModelPlan,
  planModel,
  policySpans,
} from "../../src/domain/plan.js";
import { initialTimings } from "../../src/domain/timings.js";
import type { ModelConfig, Override, ResolvedConfig } from "../../src/domain/types.js";
import { at, config, fixed, holiday, MIN, model, rule, windowsPolicy } from "./builders.js";

const shanghaiHours = windowsPolicy("business-hours", "Asia/Shanghai", [
  rule("mon-fri", "09:00", "18:00"),
]);

function localTimes(plan: ModelPlan, offset: string): string[] {
  const hours = Number(offset.slice(0, 3));
  return plan.pings.map((t) => new Date(t + hours * 3_600_000).toISOString().slice(11, 16));
}

function day(date: string, offset: string) {
  return {
    start: at(`${date}T00:00:00${offset}`),
    end: at(`${date}T24:00:00${offset}`.replace("T24:00:00", "T23:59:59.999")) + 1,
  };
}

describe("planModel", () => {
  describe("pings in a window", () => {
    it("pings Asia/Shanghai business hours from 08:55 to 17:47 every 14 minutes", () => {
      const m = model("mimo-vl", "business-hours");
      const plan = planModel(
        config([shanghaiHours], [m]),
        m,
        day("2026-12-07", "+08:00"),
        initialTimings(m),
      );
      const times = localTimes(plan, "+08:00");
      expect(times[0]).toBe("08:55");
      expect(times.at(-1)).toBe("17:47");
      expect(plan.pings).toHaveLength(39);
      expect(plan.pings.slice(1).map((t, i) => t - (plan.pings[i] as number))).toEqual(
        Array(38).fill(14 * MIN),
      );
      expect(plan.windows).toEqual([
        { start: at("2026-12-07T09:00:00+08:00"), end: at("2026-12-07T18:00:00+08:00") },
      ]);
      // The closing ping at 17:47 (15m eviction less the 2m margin) falls on the grid.
      expect(plan.warm).toEqual([
        {
          start: at("2026-12-07T08:55:00+08:00"),
          end: at("2026-12-07T18:02:00+08:00"),
          billedFrom: at("2026-12-07T09:00:00+08:00"),
        },
      ]);
      expect(plan).toMatchObject({
        model: "mimo-vl",
        policy: "business-hours",
        timezone: "Asia/Shanghai",
      });
    });

    it.each([
      // [zone, policy day, offset of that day, first ping, last ping]
      ["America/New_York", "2026-03-09", "-04:00", "08:55", "17:47"],
      ["America/New_York", "2026-11-02", "-05:00", "08:55", "17:47"],
      ["Europe/Berlin", "2026-03-30", "+02:00", "08:55", "17:47"],
      ["Europe/Berlin", "2026-10-26", "+01:00", "08:55", "17:47"],
    ])(
      "keeps local times on the Monday after a DST change in %s (%s)",
      (zone, date, offset, first, last) => {
        const policy = windowsPolicy("business-hours", zone, [rule("mon-fri", "09:00", "18:00")]);
        const m = model("m", "business-hours");
        const plan = planModel(config([policy], [m]), m, day(date, offset), initialTimings(m));
        const times = localTimes(plan, offset);
        expect([times[0], times.at(-1), times.length]).toEqual([first, last, 39]);
      },
    );

    it.each([
      // Windows across the moved hour, [zone, from, to, day, first ping UTC, last ping UTC, count]
      [
        "America/New_York",
        "01:00",
        "04:00",
        "2026-03-08",
        "2026-03-08T05:55:00.000Z",
        "2026-03-08T07:47:00.000Z",
        9,
      ],
      [
        "America/New_York",
        "01:00",
        "04:00",
        "2026-11-01",
        "2026-11-01T04:55:00.000Z",
        "2026-11-01T08:47:00.000Z",
        18,
      ],
      [
        "Europe/Berlin",
        "01:00",
        "04:00",
        "2026-03-29",
        "2026-03-28T23:55:00.000Z",
        "2026-03-29T01:47:00.000Z",
        9,
      ],
      [
        "Europe/Berlin",
        "01:00",
        "04:00",
        "2026-10-25",
        "2026-10-24T22:55:00.000Z",
        "2026-10-25T02:47:00.000Z",
        18,
      ],
    ])("pings %s %s-%s on %s by real elapsed time", (zone, from, to, date, first, last, count) => {
      const policy = windowsPolicy("night", zone, [rule("daily", from, to)]);
      const m = model("m", "night");
      const range = {
        start: at(`${date}T00:00:00Z`) - 6 * 3_600_000,
        end: at(`${date}T12:00:00Z`),
      };
      const plan = planModel(config([policy], [m]), m, range, initialTimings(m));
      expect(new Date(plan.pings[0] as number).toISOString()).toBe(first);
      expect(new Date(plan.pings.at(-1) as number).toISOString()).toBe(last);
      expect(plan.pings).toHaveLength(count);
    });

    it("pings an overnight window across a month end into the next month", () => {
      const policy = windowsPolicy("night-batch", "America/Los_Angeles", [
        rule("daily", "22:00", "02:00"),
      ]);
      const m = model("batch", "night-batch");
      const range = {
        start: at("2026-11-30T12:00:00-08:00"),
        end: at("2026-12-01T12:00:00-08:00"),
      };
      const plan = planModel(config([policy], [m]), m, range, initialTimings(m));
      expect(plan.pings[0]).toBe(at("2026-11-30T21:55:00-08:00"));
      // Grid pings to 01:39, then the closing ping 13 minutes before 02:00.
      expect(plan.pings.at(-1)).toBe(at("2026-12-01T01:47:00-08:00"));
      expect(plan.pings).toHaveLength(18);
      expect(plan.warm).toEqual([
        {
          start: at("2026-11-30T21:55:00-08:00"),
          end: at("2026-12-01T02:02:00-08:00"),
          billedFrom: at("2026-11-30T22:00:00-08:00"),
        },
      ]);
    });

    it("plans no ping on a holiday but finishes the window begun the day before", () => {
      const policy = windowsPolicy(
        "night",
        "UTC",
        [rule("daily", "22:00", "02:00")],
        [holiday("2026-12-25")],
      );
      const m = model("m", "night");
      const plan = planModel(config([policy], [m]), m, day("2026-12-25", "Z"), initialTimings(m));
      // The Dec 24 window's grid runs on from 21:55: 00:01 is its first ping of Dec 25.
      expect(plan.pings[0]).toBe(at("2026-12-25T00:01:00Z"));
      expect(plan.pings.at(-1)).toBe(at("2026-12-25T01:47:00Z"));
      expect(plan.pings).toHaveLength(9);
    });
  });

  describe("bridging", () => {
    it.each([
      ["12:10", 1, "17:47"],
      ["12:20", 2, "17:47"],
    ])("with the second window at %s makes %i run(s)", (secondFrom, runs, lastPing) => {
      const policy = windowsPolicy("split", "UTC", [
        rule("daily", "09:00", "12:00"),
        rule("daily", secondFrom, "18:00"),
      ]);
      const m = model("m", "split");
      const plan = planModel(config([policy], [m]), m, day("2026-12-07", "Z"), initialTimings(m));
      expect(plan.warm).toHaveLength(runs);
      expect(plan.windows).toHaveLength(2);
      expect(new Date(plan.pings.at(-1) as number).toISOString().slice(11, 16)).toBe(lastPing);
    });

    it("pings straight through a gap shorter than the model's eviction delay", () => {
      const policy = windowsPolicy("split", "UTC", [
        rule("daily", "09:00", "12:00"),
        rule("daily", "12:40", "18:00"),
      ]);
      const m = model("m", "split", { timing: fixed({ eviction: 60 * MIN }) });
      const plan = planModel(config([policy], [m]), m, day("2026-12-07", "Z"), initialTimings(m));
      expect(plan.warm).toHaveLength(1);
      const gaps = plan.pings.slice(1).map((t, i) => t - (plan.pings[i] as number));
      expect(gaps.slice(0, -1).every((g) => g === 14 * MIN)).toBe(true);
      // The closing ping goes out 58 minutes (60m eviction less the margin) before 18:00.
      expect(new Date(plan.pings.at(-1) as number).toISOString().slice(11, 16)).toBe("17:02");
    });
  });

  describe("always-on and off", () => {
    it("pings always-on every cadence on a grid anchored at the epoch", () => {
      const m = model("m", "always-on");
      const plan = planModel(
        config([], [m]),
        m,
        {
          start: at("2026-12-01T00:00:00Z"),
          end: at("2027-01-01T00:00:00Z"),
        },
        initialTimings(m),
      );
      expect(plan.pings.every((t) => t % (14 * MIN) === 0)).toBe(true);
      expect(plan.pings).toHaveLength(
        Math.ceil((31 * 1440) / 14) - (plan.pings[0] === at("2026-12-01T00:00:00Z") ? 0 : 1),
      );
      expect(plan.windows).toEqual([
        { start: at("2026-12-01T00:00:00Z"), end: at("2027-01-01T00:00:00Z") },
      ]);
      expect(isPlannedWarm(plan, at("2026-12-15T03:00:00Z"))).toBe(true);
    });

    it("never pings off", () => {
      const m = model("m", "off");
      const plan = planModel(
        config([], [m]),
        m,
        {
          start: at("2026-12-01T00:00:00Z"),
          end: at("2027-01-01T00:00:00Z"),
        },
        initialTimings(m),
      );
      expect([plan.pings, plan.windows, plan.warm]).toEqual([[], [], []]);
    });
  });

  describe("overrides", () => {
    const m = model("mimo-vl", "business-hours");
    const from = (local: string) => at(`2026-12-07T${local}:00+08:00`);
    const cases: [string, Override[], [string, string][], string[]][] = [
      [
        "off from 12:00 to 14:00 cuts the window twice",
        [{ models: ["mimo-vl"], policy: "off", from: from("12:00"), until: from("14:00") }],
        [
          ["09:00", "12:00"],
          ["14:00", "18:00"],
        ],
        ["08:55", "13:55"],
      ],
      [
        "always-on from 20:00 to 22:00 adds a window pinged from 19:55",
        [{ models: ["mimo-vl"], policy: "always-on", from: from("20:00"), until: from("22:00") }],
        [
          ["09:00", "18:00"],
          ["20:00", "22:00"],
        ],
        ["08:55", "19:55"],
      ],
      [
        "a later override wins over an earlier one",
        [
          { models: ["mimo-vl"], policy: "always-on", from: from("06:00"), until: from("16:00") },
          { models: ["mimo-vl"], policy: "off", from: from("12:00"), until: from("13:00") },
        ],
        [
          ["06:00", "12:00"],
          ["13:00", "18:00"],
        ],
        ["05:55", "12:55"],
      ],
      [
        "an override for another model changes nothing",
        [{ models: ["other"], policy: "off", from: from("00:00"), until: from("23:00") }],
        [["09:00", "18:00"]],
        ["08:55"],
      ],
    ];
    it.each(cases)("%s", (_name, overrides, windows, runStarts) => {
      const plan = planModel(
        config([shanghaiHours], [m], overrides, "Asia/Shanghai"),
        m,
        day("2026-12-07", "+08:00"),
        initialTimings(m),
      );
      expect(plan.windows).toEqual(windows.map(([s, e]) => ({ start: from(s), end: from(e) })));
      expect(plan.warm.map((w) => w.start)).toEqual(runStarts.map(from));
    });
  });

  describe("range independence", () => {
    // A small seeded generator keeps the property test reproducible.
    function random(seed: number): () => number {
      let s = seed >>> 0;
      return () => {
        s = (s + 0x6d2b79f5) >>> 0;
        let x = Math.imul(s ^ (s >>> 15), 1 | s);
        x ^= x + Math.imul(x ^ (x >>> 7), 61 | x);
        return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
      };
    }
    const base = at("2026-10-20T00:00:00Z");
    const span = 45 * 86_400_000;
    const policies = [
      windowsPolicy(
        "business-hours",
        "America/New_York",
        [rule("mon-fri", "09:00", "18:00")],
        [holiday("2026-11-26")],
      ),
      windowsPolicy("night", "Europe/Berlin", [rule("daily", "22:00", "02:30")]),
      windowsPolicy("weekend", "Asia/Shanghai", [rule("sat-sun", "00:00", "24:00")]),
      windowsPolicy("week", "UTC", [rule("daily", "00:00", "24:00")], [holiday("2026-11-10")]),
      windowsPolicy("split", "UTC", [
        rule("mon-fri", "09:00", "12:00"),
        rule("mon-fri", "12:10", "17:30"),
      ]),
    ];
    const models: ModelConfig[] = [
      model("bh", "business-hours", { timing: fixed({ cadence: 13 * MIN, lead: 7 * MIN }) }),
      model("night", "night"),
      model("weekend", "weekend", { timing: fixed({ cadence: 11 * MIN }) }),
      model("week", "week"),
      model("week-13", "week", { timing: fixed({ cadence: 13 * MIN, lead: 3 * MIN }) }),
      model("week-12", "week", { timing: fixed({ cadence: 12 * MIN, lead: 1 * MIN }) }),
      model("week-11", "week", { timing: fixed({ cadence: 11 * MIN, lead: 2 * MIN }) }),
      model("split", "split", { timing: fixed({ lead: 0 }) }),
      model("ao", "always-on", { timing: fixed({ cadence: 90_000 * 9 }) }),
      model("ov", "business-hours"),
    ];
    const overrides: Override[] = [
      {
        models: ["ov"],
        policy: "always-on",
        from: at("2026-11-03T14:07:00Z"),
        until: at("2026-11-05T03:00:00Z"),
      },
      {
        models: ["ov", "bh"],
        policy: "off",
        from: at("2026-11-04T15:00:00Z"),
        until: at("2026-11-12T20:00:00Z"),
      },
    ];
    const cfg: ResolvedConfig = config(policies, models, overrides);

    it.each(models.map((m) => [m.name, m] as const))(
      "gives %s the same pings through 300 random sub-ranges",
      (_name, m) => {
        const full = planModel(cfg, m, { start: base, end: base + span }, initialTimings(m));
        expect(full.pings.length).toBeGreaterThan(0);
        // Inside a warm run no interval exceeds the cadence, so the model never cools early.
        for (const [i, t] of full.pings.entries()) {
          const previous = full.pings[i - 1];
          const sameRun = full.warm.some(
            (w) =>
              previous !== undefined &&
              w.start <= previous &&
              t < w.end - initialTimings(m).evictionDelay.ms,
          );
          if (previous !== undefined && sameRun)
            expect(t - previous).toBeLessThanOrEqual(initialTimings(m).cadence.ms);
        }
        const next = random(m.name.length * 7919);
        for (let i = 0; i < 300; i++) {
          const start = base + Math.floor(next() * span);
          const length =
            next() < 0.5
              ? Math.floor(next() * 3 * 3_600_000)
              : Math.floor(next() * 20 * 86_400_000);
          const end = Math.min(base + span, start + length + 1);
          const sub = planModel(cfg, m, { start, end }, initialTimings(m));
          expect(sub.pings).toEqual(full.pings.filter((t) => t >= start && t < end));
          for (const t of [start, Math.floor((start + end) / 2)]) {
            expect(isInWindow(sub, t)).toBe(isInWindow(full, t));
            expect(isPlannedWarm(sub, t)).toBe(isPlannedWarm(full, t));
          }
        }
      },
    );
  });
});

describe("activePolicyAt", () => {
  const m = model("mimo-vl", "business-hours");
  const overrides: Override[] = [
    {
      models: ["mimo-vl"],
      policy: "always-on",
      from: at("2026-12-01T00:00:00+08:00"),
      until: at("2026-12-03T00:00:00+08:00"),
    },
    {
      models: ["mimo-vl"],
      policy: "off",
      from: at("2026-12-02T00:00:00+08:00"),
      until: at("2026-12-02T12:00:00+08:00"),
    },
  ];
  const cfg = config([shanghaiHours], [m], overrides, "Asia/Shanghai");
  it.each([
    ["2026-11-30T23:59:59+08:00", "business-hours"],
    ["2026-12-01T00:00:00+08:00", "always-on"],
    ["2026-12-02T00:00:00+08:00", "off"],
    ["2026-12-02T12:00:00+08:00", "always-on"],
    ["2026-12-03T00:00:00+08:00", "business-hours"],
  ])("at %s is %s", (t, policy) => {
    expect(activePolicyAt(cfg, m, at(t))).toBe(policy);
  });

  it("agrees with policySpans", () => {
    expect(policySpans(cfg, m).map((s) => s.policy)).toEqual([
      "business-hours",
      "always-on",
      "off",
      "always-on",
      "business-hours",
    ]);
  });
});

describe("planModel's warm runs", () => {
  it("run from the lead ping to the closing ping's eviction, billed from the window's start", () => {
    const m = model("mimo-vl", "business-hours");
    const cfg = config([shanghaiHours], [m]);
    expect(planModel(cfg, m, day("2026-12-08", "+08:00"), initialTimings(m)).warm).toEqual([
      {
        start: at("2026-12-08T08:55:00+08:00"),
        end: at("2026-12-08T18:02:00+08:00"),
        billedFrom: at("2026-12-08T09:00:00+08:00"),
      },
    ]);
  });
});
