import { DateTime, IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import { isoInZone, zoneOffsetMs } from "../../src/domain/zone.js";

const MIN = 60_000;

describe("zoneOffsetMs", () => {
  // Offsets are cached per quarter hour of UTC; each of these zones changes offset in the
  // ranges, including Lord Howe's half-hour DST and Chatham's +12:45/+13:45.
  it.each([
    ["America/Los_Angeles", "2026-03-08T08:00:00Z", "2026-11-01T07:00:00Z"],
    ["Europe/London", "2026-03-29T00:00:00Z", "2026-10-25T00:00:00Z"],
    ["Australia/Lord_Howe", "2026-04-04T14:00:00Z", "2026-10-03T15:00:00Z"],
    ["Pacific/Chatham", "2026-04-04T13:00:00Z", "2026-09-26T13:00:00Z"],
  ])("agrees with Luxon minute by minute around both transitions of %s", (zone, a, b) => {
    const z = IANAZone.create(zone);
    for (const around of [Date.parse(a), Date.parse(b)]) {
      const before = z.offset(around - 6 * 60 * MIN);
      const after = z.offset(around + 6 * 60 * MIN);
      expect(before).not.toBe(after);
      for (let t = around - 3 * 60 * MIN; t < around + 3 * 60 * MIN; t += 7 * 1_000) {
        expect(zoneOffsetMs(zone, t)).toBe(z.offset(t) * MIN);
      }
    }
  });

  it("gives the same instants to isoInZone as Luxon", () => {
    const t = Date.parse("2026-11-01T09:30:00Z");
    expect(isoInZone(t, "America/Los_Angeles")).toBe(
      DateTime.fromMillis(t, { zone: "America/Los_Angeles" }).toISO({ suppressMilliseconds: true }),
    );
  });

  it("rejects an unknown zone", () => {
    expect(() => zoneOffsetMs("Mars/Olympus_Mons", 0)).toThrow(
      /unknown time zone "Mars\/Olympus_Mons"/,
    );
  });
});
