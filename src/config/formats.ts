import { DateTime } from "luxon";
import type { IsoWeekday } from "../domain/types.js";
import { MINUTE_MS } from "../domain/units.js";
import { dayOfIsoDate, localToInstant } from "../domain/zone.js";

/**
 * The string formats of the config file. Each has one regular expression, used both by the
 * schema (and so by the published JSON Schema) and by the parser that gives it meaning here.
 */

/** `90s`, `14m`, `1h`, `1h30m`: whole hours, minutes and seconds, at least one of them. */
export const DURATION_PATTERN = /^(?=\d)(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** A window start: `00:00`..`23:59`. */
export const CLOCK_FROM_PATTERN = /^(?:[01]\d|2[0-3]):[0-5]\d$/;

/** A window end: `00:00`..`23:59` or `24:00`. */
export const CLOCK_TO_PATTERN = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;

const DAY = "(?:mon|tue|wed|thu|fri|sat|sun)";
const DAY_ITEM = `(?:daily|weekdays|weekends|${DAY}(?:-${DAY})?)`;

/** One `days` item: `daily`, `weekdays`, `weekends`, `mon`, `mon-fri`, `fri-mon`. */
export const DAY_ITEM_PATTERN = new RegExp(`^${DAY_ITEM}$`);

/** A `days` string: one item or several separated by commas, e.g. `mon-wed, fri`. */
export const DAYS_PATTERN = new RegExp(`^${DAY_ITEM}(?:\\s*,\\s*${DAY_ITEM})*$`);

/** A calendar date, `2026-12-25`. */
export const DATE_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** A holiday: a date or an inclusive range `2027-02-16..2027-02-18`. */
export const HOLIDAY_PATTERN = /^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?$/;

/** A local or offset date-time: `2026-12-01`, `2026-12-01T08:30`, `2026-12-01T08:30:00+08:00`. */
export const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** `arn:aws:bedrock:<region>:<12 digits>:imported-model/<12 of [a-z0-9]>`. */
export const IMPORTED_MODEL_ARN_PATTERN =
  /^arn:aws:bedrock:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):imported-model\/([a-z0-9]{12})$/;

/** An AWS region name such as `us-east-1`. */
export const REGION_PATTERN = /^[a-z]{2}(?:-[a-z]+)+-\d$/;

/** Policy and model names: they appear in logs, metrics labels and file names. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function parseDurationMs(text: string): number | undefined {
  const m = DURATION_PATTERN.exec(text);
  if (!m) return undefined;
  const [, h = "0", min = "0", s = "0"] = m;
  return ((Number(h) * 60 + Number(min)) * 60 + Number(s)) * 1000;
}

/** `09:30` -> 570; `24:00` -> 1440. */
export function parseClockMinutes(text: string): number | undefined {
  if (!CLOCK_TO_PATTERN.test(text)) return undefined;
  const [h, m] = text.split(":").map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

const DAY_NUMBERS: Record<string, IsoWeekday> = {
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
  sun: 7,
};

/** The weekdays a `days` value names; undefined when any item is malformed. */
export function parseDays(value: string | readonly string[]): Set<IsoWeekday> | undefined {
  const items = typeof value === "string" ? value.split(",") : value;
  const days = new Set<IsoWeekday>();
  for (const raw of items) {
    const item = raw.trim();
    if (!DAY_ITEM_PATTERN.test(item)) return undefined;
    if (item === "daily") for (const d of [1, 2, 3, 4, 5, 6, 7] as const) days.add(d);
    else if (item === "weekdays") for (const d of [1, 2, 3, 4, 5] as const) days.add(d);
    else if (item === "weekends") for (const d of [6, 7] as const) days.add(d);
    else {
      const [first, last = first] = item.split("-") as [string, string?];
      const a = DAY_NUMBERS[first] ?? 1;
      const b = DAY_NUMBERS[last] ?? a;
      // `fri-mon` wraps over the weekend.
      for (let i = 0; i <= (b - a + 7) % 7; i++) days.add((((a - 1 + i) % 7) + 1) as IsoWeekday);
    }
  }
  return days;
}

export function isValidDate(text: string): boolean {
  return DATE_PATTERN.test(text) && DateTime.fromISO(text, { zone: "UTC" }).isValid;
}

export type DateTimeParse =
  | { ok: true; instant: number }
  | { ok: false; reason: "format" | "date" | "time" | "offset" };

/** UTC offsets in use run from -12:00 to +14:00; anything beyond is a typo. */
const MAX_OFFSET_MINUTES = 14 * 60;

/** Minutes east of UTC of `Z`, `+08:00` or `-0500`; undefined when no zone could have it. */
export function parseOffsetMinutes(offset: string): number | undefined {
  if (/^z$/i.test(offset)) return 0;
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(offset);
  if (!m) return undefined;
  const minutes = Number(m[3]);
  const total = (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + minutes);
  return minutes > 59 || Math.abs(total) > MAX_OFFSET_MINUTES ? undefined : total;
}

/**
 * An override's `from`/`until`: local to `zone` unless it carries `Z` or an offset. Local
 * times follow the domain's DST rule: a time in a spring-forward gap is the first instant
 * after it, an ambiguous time its first occurrence.
 */
export function parseDateTime(text: string, zone: string): DateTimeParse {
  const m = DATE_TIME_PATTERN.exec(text);
  if (!m) return { ok: false, reason: "format" };
  const [, y, mo, d, h = "00", mi = "00", s = "00", offset] = m;
  if (!isValidDate(`${y}-${mo}-${d}`)) return { ok: false, reason: "date" };
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return { ok: false, reason: "time" };
  const minuteOfDay = Number(h) * 60 + Number(mi);
  if (offset === undefined) {
    return {
      ok: true,
      instant: localToInstant(zone, dayOfIsoDate(`${y}-${mo}-${d}`), minuteOfDay + Number(s) / 60),
    };
  }
  const offsetMinutes = parseOffsetMinutes(offset);
  if (offsetMinutes === undefined) return { ok: false, reason: "offset" };
  return {
    ok: true,
    instant:
      Date.UTC(Number(y), Number(mo) - 1, Number(d), 0, minuteOfDay, Number(s)) -
      offsetMinutes * MINUTE_MS,
  };
}
