import type { DateRange, IsoWeekday, Policy, WindowRule } from "../domain/types.js";
import { QUARTER_MINUTES, QUARTERS_PER_DAY, WEEK_QUARTERS } from "./optimize.js";

/** A window as the YAML writes it. */
export interface WindowText {
  readonly days: string;
  readonly from: string;
  readonly to: string;
}

const DAY_NAMES = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const DAY_MINUTES = 24 * 60;

/**
 * The window rules of chosen quarter-hours (Monday 00:00 first, the week a cycle): a run
 * of quarters is a window starting on the day it starts (ending the next day when it
 * crosses midnight; one longer than a day is cut into days), and days with the same
 * windows share a rule.
 */
export function windowRulesOf(chosen: Uint8Array): WindowRule[] {
  const first = chosen.indexOf(0);
  if (first < 0) {
    return [
      { days: new Set<IsoWeekday>([1, 2, 3, 4, 5, 6, 7]), fromMinute: 0, toMinute: DAY_MINUTES },
    ];
  }
  const byDay: [number, number][][] = Array.from({ length: 7 }, () => []);
  let runStart: number | undefined;
  for (let k = 1; k <= WEEK_QUARTERS; k++) {
    const q = (first + k) % WEEK_QUARTERS;
    const on = chosen[q] === 1 && k < WEEK_QUARTERS;
    if (on && runStart === undefined) runStart = first + k;
    if (!on && runStart !== undefined) {
      for (let a = runStart; a < first + k; a += QUARTERS_PER_DAY) {
        const length = Math.min(QUARTERS_PER_DAY, first + k - a);
        const day = Math.floor((a % WEEK_QUARTERS) / QUARTERS_PER_DAY);
        const from = (a % QUARTERS_PER_DAY) * QUARTER_MINUTES;
        const end = from + length * QUARTER_MINUTES;
        (byDay[day] as [number, number][]).push([
          from,
          end > DAY_MINUTES ? end - DAY_MINUTES : end,
        ]);
      }
      runStart = undefined;
    }
  }
  const rules: WindowRule[] = [];
  const seen = new Map<string, Set<IsoWeekday>>();
  byDay.forEach((windows, d) => {
    for (const [from, to] of windows) {
      const key = `${from}-${to}`;
      let days = seen.get(key);
      if (!days) {
        days = new Set();
        seen.set(key, days);
        rules.push({ days, fromMinute: from, toMinute: to });
      }
      days.add((d + 1) as IsoWeekday);
    }
  });
  return rules.sort((a, b) => firstDay(a) - firstDay(b) || a.fromMinute - b.fromMinute);
}

function firstDay(rule: WindowRule): number {
  return Math.min(...rule.days);
}

/** `mon-fri`, `sat, sun`, `daily`: the days as a policy's YAML writes them. */
export function formatDays(days: ReadonlySet<IsoWeekday>): string {
  const sorted = [...days].sort((a, b) => a - b);
  if (sorted.length === 7) return "daily";
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && (sorted[j + 1] as number) === (sorted[j] as number) + 1) j++;
    const a = DAY_NAMES[(sorted[i] as number) - 1];
    const b = DAY_NAMES[(sorted[j] as number) - 1];
    parts.push(j === i ? `${a}` : j === i + 1 ? `${a}, ${b}` : `${a}-${b}`);
    i = j + 1;
  }
  return parts.join(", ");
}

/** `09:00`; 1440 is `24:00`. */
export function formatClock(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`;
}

export function windowTexts(rules: readonly WindowRule[]): WindowText[] {
  return rules.map((r) => ({
    days: formatDays(r.days),
    from: formatClock(r.fromMinute),
    to: formatClock(r.toMinute),
  }));
}

/**
 * A policy with `rules` in the zone and with the holidays of `like`; `off` when there are
 * no rules.
 */
export function policyOf(
  name: string,
  rules: readonly WindowRule[],
  like: Pick<Policy, "timezone" | "holidays">,
): Policy {
  return {
    name,
    kind: rules.length === 0 ? "off" : "windows",
    timezone: like.timezone,
    windows: rules,
    holidays: like.holidays,
  };
}

function holidayText(h: DateRange): string {
  return h.first === h.last ? h.first : `${h.first}..${h.last}`;
}

/**
 * The YAML to paste: the policy under `policies:` and the model's `policy:` line. A policy
 * without windows is the built-in `off`, always-on the built-in `always-on`.
 */
export function policyYaml(modelName: string, policy: Policy): string {
  if (policy.kind !== "windows") {
    return `models:\n  - name: ${modelName}\n    policy: ${policy.kind}\n`;
  }
  const lines = [
    "policies:",
    `  ${policy.name}:`,
    `    timezone: ${policy.timezone}`,
    "    windows:",
  ];
  for (const w of windowTexts(policy.windows)) {
    lines.push(`      - days: ${w.days}`, `        from: "${w.from}"`, `        to: "${w.to}"`);
  }
  if (policy.holidays.length > 0) {
    lines.push("    holidays:", ...policy.holidays.map((h) => `      - ${holidayText(h)}`));
  }
  lines.push("models:", `  - name: ${modelName}`, `    policy: ${policy.name}`);
  return `${lines.join("\n")}\n`;
}

/** The policy as the JSON output shows it. */
export function policyJson(policy: Policy): Record<string, unknown> {
  if (policy.kind !== "windows") return { name: policy.kind, windows: [] };
  return {
    name: policy.name,
    timezone: policy.timezone,
    windows: windowTexts(policy.windows),
    ...(policy.holidays.length > 0 ? { holidays: policy.holidays.map(holidayText) } : {}),
  };
}
