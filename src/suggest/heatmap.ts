import type { Policy } from "../domain/types.js";
import { QUARTER_MINUTES, QUARTERS_PER_DAY, WEEK_QUARTERS } from "./optimize.js";
import { DAYS_PER_WEEK, SLOTS_PER_DAY, type WeeklyProfile } from "./types.js";

/** Users' calls per week in each hour of the local week: [weekday 0 = Monday][hour]. */
export type HourGrid = readonly (readonly number[])[];

/** The profile's hours: users' calls per week in each hour of the local week. */
export function hourGrid(profile: WeeklyProfile): number[][] {
  const perHour = SLOTS_PER_DAY / 24;
  return Array.from({ length: DAYS_PER_WEEK }, (_, d) =>
    Array.from({ length: 24 }, (_, h) => {
      let calls = 0;
      const first = d * SLOTS_PER_DAY + h * perHour;
      for (let i = first; i < first + perHour; i++) calls += profile[i] as number;
      return calls;
    }),
  );
}

/** The quarter-hours of the local week (Monday 00:00 first) inside the policy's windows. */
export function policyQuarters(policy: Policy): Uint8Array {
  const marks = new Uint8Array(WEEK_QUARTERS);
  if (policy.kind === "always-on") return marks.fill(1);
  for (const rule of policy.windows) {
    const length =
      rule.toMinute > rule.fromMinute
        ? rule.toMinute - rule.fromMinute
        : rule.toMinute + 24 * 60 - rule.fromMinute;
    const from = Math.floor(rule.fromMinute / QUARTER_MINUTES);
    const to = Math.ceil((rule.fromMinute + length) / QUARTER_MINUTES);
    for (const day of rule.days) {
      for (let q = from; q < to; q++) marks[((day - 1) * QUARTERS_PER_DAY + q) % WEEK_QUARTERS] = 1;
    }
  }
  return marks;
}

/** Quarter-hours of each hour of the week inside the windows, 0..4: [weekday][hour]. */
export function windowHours(policy: Policy): number[][] {
  const marks = policyQuarters(policy);
  return Array.from({ length: DAYS_PER_WEEK }, (_, d) =>
    Array.from({ length: 24 }, (_, h) => {
      let n = 0;
      for (let k = 0; k < 4; k++) n += marks[d * QUARTERS_PER_DAY + h * 4 + k] as number;
      return n;
    }),
  );
}

export const WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** Shades from no calls to the busiest hour; the second character is the first's. */
const SHADES = ["  ", "..", "░░", "▒▒", "▓▓", "██"] as const;
/** A 256-colour ramp for the shades on a terminal: grey, then yellow to red. */
const SHADE_COLOURS = [238, 244, 226, 214, 202, 196] as const;

/** Which shade an hour takes: 0 without calls, else 1..5 by its share of the busiest hour. */
export function shadeOf(calls: number, busiest: number): number {
  if (calls <= 0 || busiest <= 0) return 0;
  return Math.min(5, 1 + Math.floor((calls / busiest) * 4.999));
}

/**
 * The week as a terminal heatmap: a row per weekday, two characters per hour shaded by its
 * calls, and under each day the policy's windows (`━━` a whole hour, `╺━`/`━╸` part of one).
 * With `colour`, the shades are coloured and the windows' hours underlined.
 */
export function renderHeatmap(
  profile: WeeklyProfile,
  policy: Policy,
  options: { readonly colour: boolean; readonly zone: string },
): string[] {
  const grid = hourGrid(profile);
  const windows = windowHours(policy);
  const busiest = Math.max(0, ...grid.flat());
  const lines = [
    `     ${Array.from({ length: 12 }, (_, i) =>
      String(i * 2)
        .padStart(2, "0")
        .padEnd(4),
    )
      .join("")
      .trimEnd()}`,
  ];
  grid.forEach((hours, d) => {
    const row = hours.map((calls, h) => {
      const shade = shadeOf(calls, busiest);
      const cell = SHADES[shade] as string;
      if (!options.colour) return cell;
      const underline = (windows[d]?.[h] ?? 0) > 0 ? "\x1b[4m" : "";
      return `\x1b[38;5;${SHADE_COLOURS[shade]}m${underline}${shade === 0 ? "··" : cell}\x1b[0m`;
    });
    lines.push(`${WEEKDAY_NAMES[d]}  ${row.join("")}`.trimEnd());
    const marks = (windows[d] ?? []).map((n) =>
      n === 4 ? "━━" : n >= 2 ? "━╸" : n === 1 ? "╺╸" : "  ",
    );
    lines.push(`     ${marks.join("")}`.trimEnd());
  });
  const bounds = SHADES.slice(1).map(
    (shade, i) => `${shade} ${Math.round(((i + 1) / 5) * busiest)}`,
  );
  lines.push(
    `     calls an hour in an average week, up to: ${bounds.join(", ")}`,
    `     ━━ the windows of ${policy.name} (${options.zone})`,
  );
  return lines;
}
