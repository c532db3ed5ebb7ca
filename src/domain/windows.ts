import { type Interval, mergeIntervals } from "./interval.js";
import type { Policy } from "./types.js";
import { dayOfIsoDate, localDayOf, localToInstant, weekdayOfDay } from "./zone.js";

interface PolicyCalendar {
  readonly holidays: readonly (readonly [number, number])[];
  /** Window occurrences by the civil day they start on; filled lazily. */
  readonly byDay: Map<number, readonly Interval[]>;
}

// Policies are immutable, so the occurrences of a day never change; many models share a
// policy, and the daemon asks for the same days every tick.
const calendars = new WeakMap<Policy, PolicyCalendar>();

function calendarOf(policy: Policy): PolicyCalendar {
  let calendar = calendars.get(policy);
  if (calendar === undefined) {
    calendar = {
      holidays: policy.holidays.map((h) => [dayOfIsoDate(h.first), dayOfIsoDate(h.last)] as const),
      byDay: new Map(),
    };
    calendars.set(policy, calendar);
  }
  return calendar;
}

/** The windows of `policy` that start on local civil day `day` (none on a holiday). */
function windowsStartingOn(
  policy: Policy,
  calendar: PolicyCalendar,
  day: number,
): readonly Interval[] {
  const cached = calendar.byDay.get(day);
  if (cached !== undefined) return cached;
  const found: Interval[] = [];
  const holiday = calendar.holidays.some(([first, last]) => day >= first && day <= last);
  if (!holiday) {
    const weekday = weekdayOfDay(day);
    for (const rule of policy.windows) {
      if (!rule.days.has(weekday)) continue;
      const start = localToInstant(policy.timezone, day, rule.fromMinute);
      const endDay = rule.toMinute > rule.fromMinute ? day : day + 1;
      const end = localToInstant(policy.timezone, endDay, rule.toMinute);
      // A window wholly inside a spring-forward gap has no instants.
      if (end > start) found.push({ start, end });
    }
  }
  calendar.byDay.set(day, found);
  return found;
}

/**
 * The desired-warm windows of `policy` that overlap `span`, merged where they overlap or
 * touch, and not clipped to `span`. `always-on` is one window without bounds
 * (-Infinity, Infinity); `off` has none.
 */
export function expandWindows(policy: Policy, span: Interval): Interval[] {
  if (span.end <= span.start) return [];
  if (policy.kind === "always-on") return [{ start: -Infinity, end: Infinity }];
  if (policy.kind === "off" || policy.windows.length === 0) return [];
  const calendar = calendarOf(policy);
  // A window starting on day d ends by the end of day d + 1, so two days back suffice.
  const firstDay = localDayOf(policy.timezone, span.start) - 2;
  const lastDay = localDayOf(policy.timezone, span.end) + 1;
  const occurrences: Interval[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    for (const w of windowsStartingOn(policy, calendar, day)) {
      if (w.end > span.start && w.start < span.end) occurrences.push(w);
    }
  }
  return mergeIntervals(occurrences);
}
