import { IANAZone } from "luxon";
import { describeValue } from "./issueMessages.js";
import { suggestClosest } from "./suggest.js";

/**
 * Which time zone names the config accepts: IANA names only. The runtime's ICU also takes
 * abbreviations and old aliases, each with one meaning that is often not the one meant
 * (`CST` is Chicago, `BST` is Dhaka, `EST` is UTC-5 all year without daylight saving time).
 */

const AREA = "Africa|America|Antarctica|Arctic|Asia|Atlantic|Australia|Europe|Indian|Pacific";

/** `Region/City` (`America/Argentina/Buenos_Aires` has two levels), `UTC` and `Etc/...`. */
export const IANA_ZONE_PATTERN = new RegExp(
  `^(?:UTC|Etc/[A-Za-z0-9+-]+|(?:${AREA})/[A-Za-z0-9_+-]+(?:/[A-Za-z0-9_+-]+)?)$`,
);

/**
 * Common abbreviations and the zones each may mean, where they differ (with or without
 * daylight saving time, other continents). Any city of the same zone works as well.
 */
export const ZONE_ABBREVIATIONS: Readonly<Record<string, readonly string[]>> = {
  EST: ["America/New_York", "America/Panama"],
  EDT: ["America/New_York"],
  CST: ["America/Chicago", "Asia/Shanghai"],
  CDT: ["America/Chicago"],
  MST: ["America/Denver", "America/Phoenix"],
  MDT: ["America/Denver"],
  PST: ["America/Los_Angeles", "Asia/Manila"],
  PDT: ["America/Los_Angeles"],
  AKST: ["America/Anchorage"],
  AKDT: ["America/Anchorage"],
  HST: ["Pacific/Honolulu"],
  AST: ["America/Halifax", "Asia/Riyadh"],
  ADT: ["America/Halifax"],
  NST: ["America/St_Johns"],
  EST5EDT: ["America/New_York"],
  CST6CDT: ["America/Chicago"],
  MST7MDT: ["America/Denver"],
  PST8PDT: ["America/Los_Angeles"],
  BRT: ["America/Sao_Paulo"],
  ART: ["America/Argentina/Buenos_Aires"],
  GMT: ["UTC", "Europe/London"],
  BST: ["Europe/London", "Asia/Dhaka"],
  IST: ["Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"],
  WET: ["Europe/Lisbon"],
  WEST: ["Europe/Lisbon"],
  CET: ["Europe/Berlin", "Africa/Algiers"],
  CEST: ["Europe/Berlin"],
  MET: ["Europe/Berlin"],
  EET: ["Europe/Athens", "Africa/Cairo"],
  EEST: ["Europe/Athens"],
  MSK: ["Europe/Moscow"],
  WAT: ["Africa/Lagos"],
  CAT: ["Africa/Maputo"],
  EAT: ["Africa/Nairobi"],
  SAST: ["Africa/Johannesburg"],
  GST: ["Asia/Dubai"],
  PKT: ["Asia/Karachi"],
  ICT: ["Asia/Bangkok"],
  WIB: ["Asia/Jakarta"],
  SGT: ["Asia/Singapore"],
  HKT: ["Asia/Hong_Kong"],
  PHT: ["Asia/Manila"],
  JST: ["Asia/Tokyo"],
  KST: ["Asia/Seoul"],
  AWST: ["Australia/Perth"],
  ACST: ["Australia/Adelaide", "Australia/Darwin"],
  ACDT: ["Australia/Adelaide"],
  AEST: ["Australia/Sydney", "Australia/Brisbane"],
  AEDT: ["Australia/Sydney"],
  NZST: ["Pacific/Auckland"],
  NZDT: ["Pacific/Auckland"],
};

const ALLOWED = "allowed: an IANA zone name such as Europe/Berlin, America/New_York or UTC";

/** True for an IANA zone name (Region/City, UTC, Etc/...) this runtime knows. */
export function isIanaZoneName(name: string): boolean {
  return IANA_ZONE_PATTERN.test(name) && IANAZone.isValidZone(name);
}

let known: readonly string[] | undefined;

/** Every IANA zone name the runtime knows, for "did you mean". */
export function knownZoneNames(): readonly string[] {
  known ??= ["UTC", ...Intl.supportedValuesOf("timeZone").filter(isIanaZoneName)];
  return known;
}

/** What is wrong with a zone `isIanaZoneName` refused, and what was likely meant. */
export function describeZoneProblem(input: unknown): string {
  if (typeof input !== "string") return `is ${describeValue(input)}; ${ALLOWED}`;
  const candidates = ZONE_ABBREVIATIONS[input.toUpperCase()];
  if (candidates) {
    const options = `${candidates.slice(0, -1).join(", ")}${candidates.length > 1 ? " or " : ""}${candidates.at(-1)}`;
    return candidates.length > 1
      ? `${input}: ambiguous; did you mean ${options}?`
      : `${input}: an abbreviation, not a zone name; did you mean ${options}?`;
  }
  const alias = canonicalZone(input);
  if (alias !== undefined && alias.toLowerCase() === input.toLowerCase()) {
    return `is ${describeValue(input)}; zone names are case-sensitive: did you mean "${alias}"?`;
  }
  if (alias !== undefined) {
    return `is ${describeValue(input)}, an old alias, not an IANA zone name; did you mean "${alias}"? ${ALLOWED}`;
  }
  const hint = suggestClosest(input, knownZoneNames());
  return `is ${describeValue(input)}, not a known time zone; ${hint ? `did you mean "${hint}"? ` : ""}${ALLOWED}`;
}

/** The IANA name ICU resolves an alias such as `US/Eastern` or `Japan` to, if it has one. */
function canonicalZone(name: string): string | undefined {
  if (!IANAZone.isValidZone(name)) return undefined;
  try {
    const resolved = new Intl.DateTimeFormat("en-US", { timeZone: name }).resolvedOptions()
      .timeZone;
    return resolved !== name && isIanaZoneName(resolved) ? resolved : undefined;
  } catch {
    return undefined;
  }
}
