import { describe, expect, it } from "vitest";
import {
  parseClockMinutes,
  parseDateTime,
  parseDays,
  parseDurationMs,
} from "../../src/config/formats.js";
import { formatDuration } from "../../src/domain/format.js";

const utc = (iso: string) => Date.parse(iso);

describe("formats", () => {
  describe("parseDays", () => {
    it.each([
      ["daily", [1, 2, 3, 4, 5, 6, 7]],
      ["weekdays", [1, 2, 3, 4, 5]],
      ["weekends", [6, 7]],
      ["wed", [3]],
      ["mon-fri", [1, 2, 3, 4, 5]],
      ["fri-mon", [1, 5, 6, 7]],
      ["sat-tue", [1, 2, 6, 7]],
      ["sun-sun", [7]],
      ["mon, wed,fri", [1, 3, 5]],
      [
        ["mon", "thu-sat"],
        [1, 4, 5, 6],
      ],
      [
        ["weekends", "mon"],
        [1, 6, 7],
      ],
    ] as const)("%j starts windows on ISO days %j", (days, expected) => {
      expect([...(parseDays(days) ?? [])].sort()).toEqual(expected);
    });

    it.each(["", "mon-fry", "monday", "Mon", "mon-", "mon,,tue", "1-5"])("rejects %j", (days) => {
      expect(parseDays(days)).toBeUndefined();
    });
  });

  describe("parseDurationMs", () => {
    it.each([
      ["90s", 90_000],
      ["14m", 840_000],
      ["1h", 3_600_000],
      ["1h30m", 5_400_000],
      ["2m30s", 150_000],
      ["0s", 0],
    ])("%s is %i ms", (text, ms) => {
      expect(parseDurationMs(text)).toBe(ms);
    });

    it.each(["", "m", "1.5m", "10 minutes", "14", "1m1h", "-1m"])("rejects %j", (text) => {
      expect(parseDurationMs(text)).toBeUndefined();
    });
  });

  describe("formatDuration", () => {
    it.each([
      [840_000, "14m"],
      [90_000, "1m30s"],
      [5_400_000, "1h30m"],
      [0, "0s"],
    ])("%i ms is %s", (ms, text) => {
      expect(formatDuration(ms)).toBe(text);
    });
  });

  describe("parseClockMinutes", () => {
    it.each([
      ["00:00", 0],
      ["09:30", 570],
      ["23:59", 1439],
      ["24:00", 1440],
    ])("%s is minute %i", (text, minute) => {
      expect(parseClockMinutes(text)).toBe(minute);
    });

    it.each(["9:00", "24:01", "25:00", "12:60", "noon"])("rejects %s", (text) => {
      expect(parseClockMinutes(text)).toBeUndefined();
    });
  });

  describe("parseDateTime", () => {
    it.each([
      ["2026-12-01T00:00", "Asia/Shanghai", "2026-11-30T16:00:00Z"],
      ["2026-12-01", "Asia/Shanghai", "2026-11-30T16:00:00Z"],
      ["2026-12-01 08:15:30", "UTC", "2026-12-01T08:15:30Z"],
      ["2026-12-01T00:00+08:00", "America/New_York", "2026-11-30T16:00:00Z"],
      ["2026-12-01T00:00Z", "Asia/Shanghai", "2026-12-01T00:00:00Z"],
      ["2026-12-01T00:00:30-0500", "UTC", "2026-12-01T05:00:30Z"],
      ["2028-02-29T12:00", "UTC", "2028-02-29T12:00:00Z"],
      // DST: a time in a gap is the first instant after it; an ambiguous one its first occurrence.
      ["2026-03-08T01:59", "America/New_York", "2026-03-08T06:59:00Z"],
      ["2026-03-08T02:00", "America/New_York", "2026-03-08T07:00:00Z"],
      ["2026-03-08T02:30", "America/New_York", "2026-03-08T07:00:00Z"],
      ["2026-03-08T02:30:30", "America/New_York", "2026-03-08T07:00:00Z"],
      ["2026-03-08T03:00", "America/New_York", "2026-03-08T07:00:00Z"],
      ["2026-11-01T01:30", "America/New_York", "2026-11-01T05:30:00Z"],
      ["2026-11-01T02:00", "America/New_York", "2026-11-01T07:00:00Z"],
      ["2026-03-29T02:30", "Europe/Berlin", "2026-03-29T01:00:00Z"],
      ["2026-10-25T02:30", "Europe/Berlin", "2026-10-25T00:30:00Z"],
      ["2026-10-25T02:30:15", "Europe/Berlin", "2026-10-25T00:30:15Z"],
      ["2026-10-25T03:00", "Europe/Berlin", "2026-10-25T02:00:00Z"],
      ["2026-10-04T02:15", "Australia/Lord_Howe", "2026-10-03T15:30:00Z"],
    ])("%s in %s is %s", (text, zone, iso) => {
      expect(parseDateTime(text, zone)).toEqual({ ok: true, instant: utc(iso) });
    });

    it.each([
      ["tomorrow", "format"],
      ["2026-12-01T9:00", "format"],
      ["2026-02-30T00:00", "date"],
      ["2026-12-01T24:00", "time"],
      ["2026-12-01T12:60", "time"],
      // A typo for +08:00 would move the override by three days.
      ["2026-12-01T00:00+80:00", "offset"],
      ["2026-12-01T00:00+08:60", "offset"],
      ["2026-12-01T00:00-1500", "offset"],
    ])("rejects %s (%s)", (text, reason) => {
      expect(parseDateTime(text, "UTC")).toEqual({ ok: false, reason });
    });
  });
});
