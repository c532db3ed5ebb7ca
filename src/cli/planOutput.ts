/**
 * The output of `keepwarm plan`: the per-model report it renders (pings, warm minutes and
 * costs for each UTC month of the range) as JSON or as text tables with budget marks.
 */
import { DateTime } from "luxon";
import { type BudgetLevel, budgetLevel, formatBudgetShare } from "../domain/budget.js";
import { cents, formatUsd } from "../domain/format.js";
import type { Interval, ModelPlan } from "../domain/plan.js";
import { configuredUnits, DEFAULT_CMU_VERSION } from "../domain/price.js";
import { type MonthCost, type MonthMinutes, monthOf, monthRange } from "../domain/spend.js";
import { describeTiming, type ModelTimings, timingFields } from "../domain/timings.js";
import type { Budgets, ModelConfig } from "../domain/types.js";
import { dayOfIsoDate, isoInZone as iso, offsetInZone, weekdayOfDay } from "../domain/zone.js";

/** The UTC calendar months that [start, end) touches, in order. */
export function monthsTouched(range: Interval): string[] {
  const months: string[] = [];
  for (let t = range.start; t < range.end; t = monthRange(monthOf(t)).end) months.push(monthOf(t));
  return months;
}

/** One model's plan over the range, with its minutes and costs for each month of `monthsTouched`. */
export interface ModelReport {
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
  readonly plan: ModelPlan;
  readonly minutes: MonthMinutes[];
  /** Undefined when the config gives no customModelUnits: plan never asks AWS. */
  readonly costs: MonthCost[] | undefined;
}

const minutesOf = (x: number) => Math.round(x * 1000) / 1000;

/** The CMU version a model's configured units have and its price; null while plan cannot know them. */
function unitsJson(model: ModelConfig) {
  const units = configuredUnits(model);
  return {
    customModelUnitsVersion:
      model.customModelUnits === undefined ? null : (model.cmuVersion ?? DEFAULT_CMU_VERSION),
    usdPerCmuMinute: units?.price.usdPerCmuMinute ?? null,
    priceSource: units?.price.source ?? null,
  };
}

/** A month's cost against a monthly budget; the ratio is null while the cost is unknown. */
interface BudgetMark {
  readonly budgetUsd: number;
  readonly ratio: number | null;
  readonly level: BudgetLevel | null;
}

function markBudget(
  budgetUsd: number | undefined,
  totalUsd: number | undefined,
): BudgetMark | null {
  if (budgetUsd === undefined) return null;
  if (totalUsd === undefined) return { budgetUsd, ratio: null, level: null };
  const ratio = totalUsd / budgetUsd;
  return { budgetUsd, ratio: Math.round(ratio * 1000) / 1000, level: budgetLevel(ratio) };
}

function describeMark(mark: BudgetMark | null): string {
  if (mark === null) return "";
  return mark.ratio === null ? "unknown" : formatBudgetShare(mark.ratio);
}

export function planJson(
  range: Interval,
  reports: readonly ModelReport[],
  budgets: Budgets | undefined,
) {
  const months = monthsTouched(range);
  const totals = months.map((month, i) => {
    const known = reports.flatMap((r) => (r.costs ? [r.costs[i] as MonthCost] : []));
    const sum = (pick: (c: MonthCost) => number) => cents(known.reduce((s, c) => s + pick(c), 0));
    return {
      month,
      computeUsd: sum((c) => c.computeUsd),
      storageUsd: sum((c) => c.storageUsd),
      totalUsd: sum((c) => c.totalUsd),
      alwaysOnUsd: sum((c) => c.alwaysOnUsd),
      savingUsd: sum((c) => c.alwaysOnUsd - c.totalUsd),
      modelsWithUnknownCmu: reports.filter((r) => r.costs === undefined).map((r) => r.model.name),
      fleetBudget: markBudget(
        budgets?.fleetUsd,
        known.reduce((s, c) => s + c.totalUsd, 0),
      ),
    };
  });
  return {
    range: { start: iso(range.start, "UTC"), end: iso(range.end, "UTC") },
    models: reports.map(({ model, plan, minutes, costs }) => {
      const at = (t: number) => iso(t, plan.timezone);
      const span = (i: Interval) => ({ start: at(i.start), end: at(i.end) });
      return {
        name: model.name,
        policy: plan.policy,
        timezone: plan.timezone,
        customModelUnits: model.customModelUnits ?? null,
        ...unitsJson(model),
        timings: timingFields(plan.timings),
        overrides: plan.overrides.map((o) => ({ policy: o.policy, ...span(o) })),
        windows: plan.windows.map(span),
        pings: plan.pings.map(at),
        warm: plan.warm.map(span),
        months: minutes.map((m, i) => {
          const cost = costs?.[i];
          return {
            month: m.month,
            warmMinutes: minutesOf(m.warmMinutes),
            billedMinutes: minutesOf(m.billedMinutes),
            computeUsd: cost ? cents(cost.computeUsd) : null,
            storageUsd: cost ? cents(cost.storageUsd) : null,
            totalUsd: cost ? cents(cost.totalUsd) : null,
            alwaysOnUsd: cost ? cents(cost.alwaysOnUsd) : null,
            budget: markBudget(budgets?.modelUsd.get(model.name), cost?.totalUsd),
          };
        }),
      };
    }),
    months: totals,
    totalUsd: cents(totals.reduce((s, t) => s + t.totalUsd, 0)),
    alwaysOnUsd: cents(totals.reduce((s, t) => s + t.alwaysOnUsd, 0)),
  };
}

const count = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** "Tue 2026-12-01 09:00" in `zone`. */
function local(t: number, zone: string): string {
  const text = iso(t, zone);
  const weekday = WEEKDAYS[weekdayOfDay(dayOfIsoDate(text.slice(0, 10))) - 1];
  return `${weekday} ${text.slice(0, 10)} ${text.slice(11, 16)}`;
}

function describeSpan(i: Interval, zone: string): string {
  const [start, end] = [local(i.start, zone), local(i.end, zone)];
  return `${start} -> ${start.slice(0, 14) === end.slice(0, 14) ? end.slice(15) : end}`;
}

/** Pads each column to its widest cell; the first column is left-aligned, the rest right. */
function table(rows: readonly (readonly string[])[], ruleBefore: ReadonlySet<number>): string[] {
  const widths = (rows[0] ?? []).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  const lines: string[] = [];
  rows.forEach((row, i) => {
    if (ruleBefore.has(i)) lines.push(` ${"-".repeat(widths.reduce((s, w) => s + w + 2, -2))}`);
    const cells = row.map((cell, c) =>
      c < 2 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0),
    );
    lines.push(` ${cells.join("  ")}`.trimEnd());
  });
  return lines;
}

export function planText(
  range: Interval,
  reports: readonly ModelReport[],
  budgets: Budgets | undefined,
): string[] {
  const utc = (t: number) =>
    DateTime.fromMillis(t, { zone: "UTC" }).toFormat("yyyy-MM-dd HH:mm 'UTC'");
  const lines = [`Plan from ${utc(range.start)} to ${utc(range.end)}`, ""];
  for (const { model, plan, timings } of reports) {
    const zone = plan.timezone;
    const units = configuredUnits(model);
    const cmu =
      units === undefined
        ? "CMU unknown (not in the config)"
        : `${units.cmu} CMU ${model.cmuVersion ?? DEFAULT_CMU_VERSION} at $${units.price.usdPerCmuMinute}/CMU-minute (${units.price.source})`;
    // Offsets at the window edges show a DST change without formatting every ping.
    const edges = plan.windows.flatMap((w) => [w.start, w.end - 1]);
    const offsets = [...new Set(edges.map((t) => offsetInZone(t, zone)))];
    const rows: string[][] = [
      ["policy", `${plan.policy} (${zone}${offsets.length ? ` ${offsets.join(", ")}` : ""})`],
      ["model", cmu],
      [
        "timings",
        `cadence ${describeTiming(timings.cadence)}, lead ${describeTiming(timings.leadTime)}, eviction ${describeTiming(timings.evictionDelay)}, restore ${describeTiming(timings.restore)}`,
      ],
      ...plan.overrides.map((o) => ["override", `${o.policy}  ${describeSpan(o, zone)}`]),
      ["windows", `${plan.windows.length}`],
    ];
    const [firstWindow, lastWindow] = [plan.windows[0], plan.windows[plan.windows.length - 1]];
    if (firstWindow) rows.push(["  first", describeSpan(firstWindow, zone)]);
    if (lastWindow && plan.windows.length > 1)
      rows.push(["  last", describeSpan(lastWindow, zone)]);
    rows.push(["pings", count.format(plan.pings.length)]);
    const [firstPing, lastPing] = [plan.pings[0], plan.pings[plan.pings.length - 1]];
    if (firstPing !== undefined) rows.push(["  first", local(firstPing, zone)]);
    if (lastPing !== undefined && plan.pings.length > 1)
      rows.push(["  last", local(lastPing, zone)]);
    lines.push(model.name, ...rows.map(([k, v]) => `  ${(k ?? "").padEnd(10)}${v}`), "");
  }
  lines.push(...costTable(range, reports, budgets));
  return lines;
}

function costTable(
  range: Interval,
  reports: readonly ModelReport[],
  budgets: Budgets | undefined,
): string[] {
  // The column only appears when the config sets a budget.
  const withBudgets =
    budgets !== undefined && (budgets.fleetUsd !== undefined || budgets.modelUsd.size > 0);
  const budgetCell = (budgetUsd: number | undefined, totalUsd: number | undefined) =>
    withBudgets ? [describeMark(markBudget(budgetUsd, totalUsd))] : [];
  const months = monthsTouched(range);
  const header = [
    "Model",
    "Month",
    "Warm min",
    "Billed min",
    "Compute",
    "Storage",
    "Total",
    "Always-on",
    "Saving",
    ...(withBudgets ? ["Budget"] : []),
  ];
  const rows: string[][] = [header];
  const rules = new Set<number>([1]);
  const money = (c: MonthCost | undefined, pick: (c: MonthCost) => number) =>
    c ? formatUsd(pick(c)) : "unknown";
  let grand = 0;
  let grandAlwaysOn = 0;
  months.forEach((month, i) => {
    if (i > 0) rules.add(rows.length);
    let total = 0;
    let alwaysOn = 0;
    for (const r of reports) {
      const m = r.minutes[i] as MonthMinutes;
      const c = r.costs?.[i];
      total += c?.totalUsd ?? 0;
      alwaysOn += c?.alwaysOnUsd ?? 0;
      rows.push([
        r.model.name,
        month,
        count.format(m.warmMinutes),
        count.format(m.billedMinutes),
        money(c, (x) => x.computeUsd),
        money(c, (x) => x.storageUsd),
        money(c, (x) => x.totalUsd),
        money(c, (x) => x.alwaysOnUsd),
        money(c, (x) => x.alwaysOnUsd - x.totalUsd),
        ...budgetCell(budgets?.modelUsd.get(r.model.name), c?.totalUsd),
      ]);
    }
    rules.add(rows.length);
    rows.push([
      "Month total",
      month,
      "",
      "",
      "",
      "",
      formatUsd(total),
      formatUsd(alwaysOn),
      formatUsd(alwaysOn - total),
      ...budgetCell(budgets?.fleetUsd, total),
    ]);
    grand += total;
    grandAlwaysOn += alwaysOn;
  });
  rules.add(rows.length);
  rows.push([
    "Grand total",
    "",
    "",
    "",
    "",
    "",
    formatUsd(grand),
    formatUsd(grandAlwaysOn),
    formatUsd(grandAlwaysOn - grand),
  ]);
  const notes = [
    "",
    "Months are UTC calendar months, as AWS bills. A month only partly in the range is costed for that",
    "part; storage is always a full month. Always-on is the same span warm around the clock.",
  ];
  if (withBudgets) {
    notes.push(
      "Budget: the month's share of the model's budget (budgets.models), on a month total of the fleet's",
      "(budgets.fleet); near from 80%, OVER from 100%. A month only partly in the range is held against",
      "its budget for that part.",
    );
  }
  const unknown = reports.filter((r) => r.costs === undefined).map((r) => r.model.name);
  if (unknown.length > 0) {
    notes.push(
      `No customModelUnits in the config for ${unknown.join(", ")}: minutes only, left out of the totals.`,
    );
  }
  const first = monthRange(months[0] as string);
  const last = monthRange(months[months.length - 1] as string);
  if (range.start > first.start || range.end < last.end) {
    notes.push(`The range covers ${iso(range.start, "UTC")} -> ${iso(range.end, "UTC")} only.`);
  }
  return [...table(rows, rules), ...notes];
}
