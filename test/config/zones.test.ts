import { IANAZone } from "luxon";
import { describe, expect, it } from "vitest";
import {
  describeZoneProblem,
  isIanaZoneName,
  knownZoneNames,
  ZONE_ABBREVIATIONS,
} from "../../src/config/zones.js";

describe("isIanaZoneName", () => {
  it.each([
    "UTC",
    "Etc/UTC",
    "Etc/GMT+5",
    "Asia/Shanghai",
    "America/Argentina/Buenos_Aires",
    "Asia/Kolkata",
    "Asia/Calcutta",
  ])("accepts %s", (name) => {
    expect(isIanaZoneName(name)).toBe(true);
  });

  // Each of these is a zone to the runtime's ICU, with one meaning that is often not the one
  // meant: BST is Asia/Dhaka to it, EST a UTC-5 without daylight saving time.
  it.each([
    "CST",
    "EST",
    "PST",
    "CET",
    "BST",
    "GMT",
    "EST5EDT",
    "US/Eastern",
    "Japan",
    "Zulu",
    "utc",
  ])("refuses %s, which luxon accepts", (name) => {
    expect(IANAZone.isValidZone(name)).toBe(true);
    expect(isIanaZoneName(name)).toBe(false);
  });

  it("refuses what is no zone at all", () => {
    expect(isIanaZoneName("Asia/Shangai")).toBe(false);
    expect(isIanaZoneName("Mars/Olympus_Mons")).toBe(false);
  });
});

describe("ZONE_ABBREVIATIONS", () => {
  it("offers only zones the config accepts", () => {
    const offered = Object.values(ZONE_ABBREVIATIONS).flat();
    expect(offered.filter((zone) => !isIanaZoneName(zone))).toEqual([]);
  });
});

describe("knownZoneNames", () => {
  it("lists UTC and only names the config accepts", () => {
    expect(knownZoneNames()).toContain("UTC");
    expect(knownZoneNames().filter((zone) => !isIanaZoneName(zone))).toEqual([]);
  });
});

describe("describeZoneProblem", () => {
  it.each([
    ["CST", "CST: ambiguous; did you mean America/Chicago or Asia/Shanghai?"],
    ["ist", "ist: ambiguous; did you mean Asia/Kolkata, Europe/Dublin or Asia/Jerusalem?"],
    ["GMT", "GMT: ambiguous; did you mean UTC or Europe/London?"],
    ["KST", "KST: an abbreviation, not a zone name; did you mean Asia/Seoul?"],
    [
      "US/Pacific",
      'is "US/Pacific", an old alias, not an IANA zone name; did you mean "America/Los_Angeles"? allowed: an IANA zone name such as Europe/Berlin, America/New_York or UTC',
    ],
    [
      "europe/berlin",
      'is "europe/berlin"; zone names are case-sensitive: did you mean "Europe/Berlin"?',
    ],
    [
      "Europe/Berln",
      'is "Europe/Berln", not a known time zone; did you mean "Europe/Berlin"? allowed: an IANA zone name such as Europe/Berlin, America/New_York or UTC',
    ],
    [
      "somewhere",
      'is "somewhere", not a known time zone; allowed: an IANA zone name such as Europe/Berlin, America/New_York or UTC',
    ],
  ])("%s: %s", (input, message) => {
    expect(describeZoneProblem(input)).toBe(message);
  });
});
