import { IANAZone } from "luxon";
import { DAY_MS, MINUTE_MS } from "./units.js";

/**
 * Local calendar arithmetic in IANA zones. Days are counted as "civil day numbers": days
 * since 1970-01-01 of the local calendar, so stepping a day never meets a DST change.
 * Only the conversion between a local wall time and an instant asks the zone (Luxon).
 */

function zoneOf(name: string): IANAZone {
  const zone = IANAZone.create(name);
  if (!zone.isValid) throw new RangeError(`unknown time zone "${name}"`);
  return zone;
}

function rawOffsetMs(zone: string, t: number): number {
  return zoneOf(zone).offset(t) * MINUTE_MS;
}

/** The local civil day number of instant `t` in `zone`. */
export function localDayOf(zone: string, t: number): number {
  return Math.floor((t + zoneOffsetMs(zone, t)) / DAY_MS);
}

/** ISO weekday (1 = Monday ... 7 = Sunday) of a civil day number; day 0 was a Thursday. */
export function weekdayOfDay(day: number): 1 | 2 | 3 | 4 | 5 | 6 | 7 {
  return (((((day + 3) % 7) + 7) % 7) + 1) as 1 | 2 | 3 | 4 | 5 | 6 | 7;
}

/** The civil day number of a `yyyy-MM-dd` date. */
export function dayOfIsoDate(date: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (m === null) throw new RangeError(`"${date}" is not a yyyy-MM-dd date`);
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / DAY_MS;
}

/**
 * The instant at which the local wall clock of `zone` shows `minute` minutes after the
 * midnight that starts civil day `day` (`minute` may be 1440 or more: it rolls into the
 * next days). DST: an ambiguous fall-back time takes its first occurrence; a time skipped
 * by a spring-forward gap maps to the first instant after the gap (Luxon would shift it
 * by the size of the gap instead, so 02:30 would become 03:30 rather than 03:00).
 */
export function localToInstant(zone: string, day: number, minute: number): number {
  const wall = day * DAY_MS + Math.round(minute * MINUTE_MS);
  let instants = instantCache.get(zone);
  if (instants === undefined) {
    instants = new Map();
    instantCache.set(zone, instants);
  }
  const cached = instants.get(wall);
  if (cached !== undefined) return cached;
  const t = wallToInstant(zoneOf(zone), wall);
  if (instants.size >= INSTANT_CACHE_LIMIT) instants.clear();
  instants.set(wall, t);
  return t;
}

// Policies, plans and projections ask for the same few wall times of the same days again
// and again (every candidate schedule of `suggest`, every month of a projection), and each
// answer costs three zone lookups: answers are kept, by zone and wall time.
const instantCache = new Map<string, Map<number, number>>();
const INSTANT_CACHE_LIMIT = 200_000;

function wallToInstant(z: IANAZone, wall: number): number {
  // Transitions are never closer than days apart, so the offsets a day either side are
  // the only two candidates.
  const before = z.offset(wall - DAY_MS) * MINUTE_MS;
  const after = z.offset(wall + DAY_MS) * MINUTE_MS;
  // The larger offset gives the earlier instant: try it first for the first occurrence.
  for (const offset of before >= after ? [before, after] : [after, before]) {
    const t = wall - offset;
    if (z.offset(t) * MINUTE_MS === offset) return t;
  }
  // In a gap: wall - after < transition <= wall - before. Find the first instant on the
  // later offset; zone transitions fall on whole minutes.
  let lo = Math.floor((wall - after) / MINUTE_MS);
  let hi = Math.ceil((wall - before) / MINUTE_MS);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (z.offset(mid * MINUTE_MS) * MINUTE_MS === after) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE_MS;
}

// Zone offsets are constant within any aligned quarter hour (offsets and transitions fall on
// whole quarter hours; every transition of tzdata's zones from 2024 to 2030 does), so
// planning and formatting many instants ask the zone once per quarter hour. A quarter whose
// two ends disagree is never cached.
const QUARTER_HOUR_MS = 15 * MINUTE_MS;
const offsetCache = new Map<string, Map<number, number>>();
const OFFSET_CACHE_LIMIT = 200_000;

/** The zone's offset from UTC at instant `t`, in milliseconds. */
export function zoneOffsetMs(zone: string, t: number): number {
  const bucket = Math.floor(t / QUARTER_HOUR_MS);
  let buckets = offsetCache.get(zone);
  if (buckets === undefined) {
    zoneOf(zone);
    buckets = new Map();
    offsetCache.set(zone, buckets);
  }
  const cached = buckets.get(bucket);
  if (cached !== undefined) return cached;
  const offset = rawOffsetMs(zone, bucket * QUARTER_HOUR_MS);
  if (offset !== rawOffsetMs(zone, (bucket + 1) * QUARTER_HOUR_MS - 1)) return rawOffsetMs(zone, t);
  if (buckets.size >= OFFSET_CACHE_LIMIT) buckets.clear();
  buckets.set(bucket, offset);
  return offset;
}

function formatOffset(offsetMs: number): string {
  const minutes = Math.abs(offsetMs) / MINUTE_MS;
  const hh = String(Math.floor(minutes / 60)).padStart(2, "0");
  const mm = String(minutes % 60).padStart(2, "0");
  return `${offsetMs < 0 ? "-" : "+"}${hh}:${mm}`;
}

/** The offset `zone` has at instant `t`, as `+08:00` or `-04:00`. */
export function offsetInZone(t: number, zone: string): string {
  return formatOffset(zoneOffsetMs(zone, t));
}

/**
 * Instant `t` as ISO 8601 with the offset `zone` has at that instant, as Luxon's
 * `toISO({ suppressMilliseconds: true })` writes it ("2026-12-07T09:00:00+08:00"; "Z" in
 * UTC), at a fraction of its cost for the million instants of a month's plan.
 */
export function isoInZone(t: number, zone: string): string {
  const offset = zoneOffsetMs(zone, t);
  const local = new Date(t + offset).toISOString();
  const time = t % 1000 === 0 ? local.slice(0, 19) : local.slice(0, 23);
  return `${time}${zone === "UTC" || zone === "GMT" ? "Z" : formatOffset(offset)}`;
}
