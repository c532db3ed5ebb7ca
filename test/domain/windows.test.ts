import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import type { Interval } from "../../src/domain/interval.js";
import { expandWindows } from "../../src/domain/windows.js";
import { dayOfIsoDate, isoInZone, localToInstant } from "../../src/domain/zone.js";
import { at, holiday, rule, windowsPolicy } from "./builders.js";

function iso(i: Interval): [string, string] {
  return [new Date(i.start).toISOString(), new Date(i.end).toISOString()];
}

describe("localToInstant", () => {
  it.each([
    ["Asia/Shanghai", "2026-12-07", "09:00", "2026-12-07T01:00:00.000Z"],
    ["America/New_York", "2026-03-08", "01:30", "2026-03-08T06:30:00.000Z"],
    // 02:00-03:00 does not exist: the first instant after the gap is 03:00 EDT.
    ["America/New_York", "2026-03-08", "02:00", "2026-03-08T07:00:00.000Z"],
    ["America/New_York", "2026-03-08", "02:30", "2026-03-08T07:00:00.000Z"],
    ["America/New_York", "2026-03-08", "03:00", "2026-03-08T07:00:00.000Z"],
    // 01:30 happens twice: the first occurrence is still on EDT.
    ["America/New_York", "2026-11-01", "01:30", "2026-11-01T05:30:00.000Z"],
    ["America/New_York", "2026-11-01", "02:00", "2026-11-01T07:00:00.000Z"],
    ["Europe/Berlin", "2026-03-29", "02:30", "2026-03-29T01:00:00.000Z"],
    ["Europe/Berlin", "2026-03-29", "03:15", "2026-03-29T01:15:00.000Z"],
    ["Europe/Berlin", "2026-10-25", "02:30", "2026-10-25T00:30:00.000Z"],
    ["Europe/Berlin", "2026-10-25", "03:00", "2026-10-25T02:00:00.000Z"],
    ["UTC", "2028-02-29", "24:00", "2028-03-01T00:00:00.000Z"],
  ])("%s %s %s is %s", (zone, date, time, expected) => {
    const [h, m] = time.split(":").map(Number);
    const t = localToInstant(zone, dayOfIsoDate(date), (h ?? 0) * 60 + (m ?? 0));
    expect(new Date(t).toISOString()).toBe(expected);
  });
});

describe("expandWindows", () => {
  describe("DST", () => {
    it.each([
      // [zone, from, to, day the window starts, expected UTC start, expected UTC end]
      [
        "America/New_York",
        "01:00",
        "03:00",
        "2026-03-08",
        "2026-03-08T06:00:00.000Z",
        "2026-03-08T07:00:00.000Z",
      ],
      [
        "America/New_York",
        "02:30",
        "04:00",
        "2026-03-08",
        "2026-03-08T07:00:00.000Z",
        "2026-03-08T08:00:00.000Z",
      ],
      [
        "America/New_York",
        "01:00",
        "02:00",
        "2026-11-01",
        "2026-11-01T05:00:00.000Z",
        "2026-11-01T07:00:00.000Z",
      ],
      [
        "America/New_York",
        "01:30",
        "01:45",
        "2026-11-01",
        "2026-11-01T05:30:00.000Z",
        "2026-11-01T05:45:00.000Z",
      ],
      [
        "America/New_York",
        "09:00",
        "18:00",
        "2026-03-09",
        "2026-03-09T13:00:00.000Z",
        "2026-03-09T22:00:00.000Z",
      ],
      [
        "America/New_York",
        "09:00",
        "18:00",
        "2026-03-06",
        "2026-03-06T14:00:00.000Z",
        "2026-03-06T23:00:00.000Z",
      ],
      [
        "Europe/Berlin",
        "01:00",
        "04:00",
        "2026-03-29",
        "2026-03-29T00:00:00.000Z",
        "2026-03-29T02:00:00.000Z",
      ],
      [
        "Europe/Berlin",
        "02:00",
        "04:00",
        "2026-10-25",
        "2026-10-25T00:00:00.000Z",
        "2026-10-25T03:00:00.000Z",
      ],
      // Overnight windows across the change: local times hold on both sides.
      [
        "Europe/Berlin",
        "22:00",
        "06:00",
        "2026-03-28",
        "2026-03-28T21:00:00.000Z",
        "2026-03-29T04:00:00.000Z",
      ],
      [
        "Europe/Berlin",
        "22:00",
        "06:00",
        "2026-10-24",
        "2026-10-24T20:00:00.000Z",
        "2026-10-25T05:00:00.000Z",
      ],
      [
        "America/Los_Angeles",
        "22:00",
        "02:00",
        "2026-03-07",
        "2026-03-08T06:00:00.000Z",
        "2026-03-08T10:00:00.000Z",
      ],
      [
        "America/Los_Angeles",
        "22:00",
        "02:00",
        "2026-10-31",
        "2026-11-01T05:00:00.000Z",
        "2026-11-01T10:00:00.000Z",
      ],
    ])("%s %s-%s starting %s is [%s, %s)", (zone, from, to, day, start, end) => {
      const policy = windowsPolicy("p", zone, [rule("daily", from, to)]);
      const dayStart = at(`${day}T12:00:00Z`);
      const found = expandWindows(policy, {
        start: dayStart - 86_400_000,
        end: dayStart + 2 * 86_400_000,
      })
        .map(iso)
        .find(([s]) => s === start);
      expect(found).toEqual([start, end]);
    });

    it("drops a window that lies wholly in a spring-forward gap", () => {
      const policy = windowsPolicy("p", "America/New_York", [rule("sun", "02:10", "02:50")]);
      const range = {
        start: at("2026-03-08T00:00:00-05:00"),
        end: at("2026-03-09T00:00:00-04:00"),
      };
      expect(expandWindows(policy, range)).toEqual([]);
    });
  });

  describe("days", () => {
    it("expands a wrapping range fri-mon and skips tue-thu", () => {
      const policy = windowsPolicy("p", "UTC", [rule("fri-mon", "10:00", "11:00")]);
      // 2026-12-04 is a Friday.
      const found = expandWindows(policy, {
        start: at("2026-12-03T00:00:00Z"),
        end: at("2026-12-10T00:00:00Z"),
      });
      expect(found.map((w) => new Date(w.start).toISOString().slice(0, 10))).toEqual([
        "2026-12-04",
        "2026-12-05",
        "2026-12-06",
        "2026-12-07",
      ]);
    });

    it("places a tue window on 2028-02-29 and no wed window on it", () => {
      const policy = windowsPolicy("p", "UTC", [
        rule("tue", "09:00", "10:00"),
        rule("wed", "11:00", "12:00"),
      ]);
      const found = expandWindows(policy, {
        start: at("2028-02-29T00:00:00Z"),
        end: at("2028-03-01T00:00:00Z"),
      });
      expect(found.map(iso)).toEqual([["2028-02-29T09:00:00.000Z", "2028-02-29T10:00:00.000Z"]]);
    });

    it("ends a 24:00 window at the next midnight", () => {
      const policy = windowsPolicy("p", "Asia/Shanghai", [rule("mon", "18:00", "24:00")]);
      const found = expandWindows(policy, {
        start: at("2026-12-07T00:00:00+08:00"),
        end: at("2026-12-08T00:00:00+08:00"),
      });
      expect(found).toEqual([
        { start: at("2026-12-07T18:00:00+08:00"), end: at("2026-12-08T00:00:00+08:00") },
      ]);
    });
  });

  describe("merging", () => {
    it.each([
      [
        "touching",
        [rule("daily", "09:00", "12:00"), rule("daily", "12:00", "18:00")],
        "09:00",
        "18:00",
      ],
      [
        "overlapping",
        [rule("daily", "09:00", "13:00"), rule("daily", "12:00", "18:00")],
        "09:00",
        "18:00",
      ],
      [
        "contained",
        [rule("daily", "09:00", "18:00"), rule("daily", "10:00", "11:00")],
        "09:00",
        "18:00",
      ],
    ])("merges %s windows", (_name, rules, from, to) => {
      const policy = windowsPolicy("p", "UTC", rules);
      const found = expandWindows(policy, {
        start: at("2026-12-07T00:00:00Z"),
        end: at("2026-12-07T23:59:00Z"),
      });
      expect(found.map(iso)).toEqual([[`2026-12-07T${from}:00.000Z`, `2026-12-07T${to}:00.000Z`]]);
    });

    it("merges 22:00-24:00 with the next day's 00:00-02:00 across midnight", () => {
      const policy = windowsPolicy("p", "UTC", [
        rule("daily", "22:00", "24:00"),
        rule("daily", "00:00", "02:00"),
      ]);
      const found = expandWindows(policy, {
        start: at("2026-12-07T12:00:00Z"),
        end: at("2026-12-08T12:00:00Z"),
      });
      expect(found.map(iso)).toEqual([["2026-12-07T22:00:00.000Z", "2026-12-08T02:00:00.000Z"]]);
    });
  });

  describe("holidays", () => {
    const range = { start: at("2026-12-23T12:00:00-08:00"), end: at("2026-12-27T12:00:00-08:00") };

    it("starts no window on a holiday, but lets the one begun the day before run to its end", () => {
      const policy = windowsPolicy(
        "night",
        "America/Los_Angeles",
        [rule("daily", "22:00", "02:00")],
        [holiday("2026-12-25")],
      );
      expect(expandWindows(policy, range)).toEqual([
        { start: at("2026-12-23T22:00:00-08:00"), end: at("2026-12-24T02:00:00-08:00") },
        { start: at("2026-12-24T22:00:00-08:00"), end: at("2026-12-25T02:00:00-08:00") },
        { start: at("2026-12-26T22:00:00-08:00"), end: at("2026-12-27T02:00:00-08:00") },
      ]);
    });

    it("skips every day of a holiday range", () => {
      const policy = windowsPolicy(
        "bh",
        "Asia/Shanghai",
        [rule("mon-fri", "09:00", "18:00")],
        [holiday("2027-02-16", "2027-02-18")],
      );
      const found = expandWindows(policy, {
        start: at("2027-02-15T00:00:00+08:00"),
        end: at("2027-02-20T00:00:00+08:00"),
      });
      expect(
        found.map((w) => new Date(w.start + 8 * 3_600_000).toISOString().slice(0, 10)),
      ).toEqual(["2027-02-15", "2027-02-19"]);
    });
  });

  describe("built-in kinds", () => {
    const range = { start: at("2026-12-01T00:00:00Z"), end: at("2026-12-02T00:00:00Z") };
    it("gives always-on one unbounded window", () => {
      const policy = {
        name: "always-on",
        kind: "always-on" as const,
        timezone: "UTC",
        windows: [],
        holidays: [],
      };
      expect(expandWindows(policy, range)).toEqual([{ start: -Infinity, end: Infinity }]);
    });
    it("gives off no window", () => {
      const policy = {
        name: "off",
        kind: "off" as const,
        timezone: "UTC",
        windows: [],
        holidays: [],
      };
      expect(expandWindows(policy, range)).toEqual([]);
    });
  });
});

describe("isoInZone", () => {
  it.each([
    "UTC",
    "Asia/Shanghai",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Etc/UTC",
  ])("writes what Luxon writes in %s, around DST changes too", (zone) => {
    const start = Date.parse("2026-03-01T00:00:00Z");
    for (let t = start; t < start + 400 * 86_400_000; t += 7 * 60_000 + 13_001) {
      const expected = DateTime.fromMillis(t, { zone }).toISO({ suppressMilliseconds: true });
      if (isoInZone(t, zone) !== expected) expect(isoInZone(t, zone)).toBe(expected);
    }
  });
});
