/**
 * The day's timeline on the status page: an SVG per model of its windows, planned warm
 * spans, observed ModelCopy minutes, cold starts and now; its row labels, text summary,
 * coverage caption, and the legend with the swatches the page's style draws it from.
 */
import type { Interval } from "../../domain/interval.js";
import type { DayTimeline } from "../keep/status.js";
import { escapeHtml, type LocalTimes } from "./pageText.js";
import { windowCoverage } from "./statusJson.js";

/** The timeline's fills; the legend's swatches are drawn from the same table. */
const COLORS = {
  window: "#1f4e99",
  planned: "#9cc0ea",
  warm: "#2e8b47",
  cold: "#dde8f3",
  unknown: "#cfcfcf",
  start: "#d1342f",
};

export const SWATCHES = Object.entries(COLORS)
  .map(([band, color]) => `.sw-${band}{background:${color}}`)
  .join("");

// The timeline's geometry in CSS pixels. Its chart has no viewBox: bars are placed in
// percent of its width, so it spans the card at any width while text keeps its size.
const LABEL_W = 78;
const ROWS = {
  window: { y: 6, h: 16, label: "window" },
  planned: { y: 26, h: 16, label: "planned" },
  observed: { y: 46, h: 24, label: "ModelCopy" },
} as const;
const AXIS_Y = 76;
export const TIMELINE_H = 96;

/** Percent of the chart's width, to 3 decimals: a thousandth of a percent is below a pixel. */
const pct = (v: number) => `${Number(v.toFixed(3))}%`;

/** The day's timeline: windows, planned warm, observed minutes, cold starts and now. */
export function renderTimeline(today: DayTimeline, times: LocalTimes): string {
  const { start, end } = today.range;
  const x = (t: number) => ((Math.min(Math.max(t, start), end) - start) * 100) / (end - start);
  const rects = (
    list: readonly Interval[],
    row: { y: number; h: number },
    band: keyof typeof COLORS,
    what: string,
  ) =>
    list
      .filter((i) => i.end > i.start)
      .map(
        (i) =>
          `<rect class="${band}" x="${pct(x(i.start))}" y="${row.y}" width="${pct(Math.max(x(i.end) - x(i.start), 0.15))}" height="${row.h}" fill="${COLORS[band]}"><title>${escapeHtml(`${what} ${times.span(i)}`)}</title></rect>`,
      )
      .join("");
  const past: Interval = { start, end: Math.min(times.now, end) };
  const out: string[] = [];
  for (const row of Object.values(ROWS)) {
    out.push(
      `<rect class="track" x="0%" y="${row.y}" width="100%" height="${row.h}" fill="#f1f1ef"/>`,
    );
  }
  out.push(rects(today.windows, ROWS.window, "window", "window"));
  out.push(rects(today.plannedWarm, ROWS.planned, "planned", "planned warm"));
  // The past without a datapoint is unknown; datapoints are cold unless they show a copy.
  out.push(rects(past.end > past.start ? [past] : [], ROWS.observed, "unknown", "no data"));
  out.push(rects(today.observed, ROWS.observed, "cold", "cold"));
  out.push(rects(today.observedWarm, ROWS.observed, "warm", "warm"));
  for (const t of today.coldStarts) {
    const cx = pct(x(t));
    const top = ROWS.observed.y;
    out.push(
      `<g class="cold-start" fill="${COLORS.start}" stroke="${COLORS.start}"><title>${escapeHtml(`cold start ${times.time(t)}`)}</title><line x1="${cx}" y1="${top}" x2="${cx}" y2="${top + ROWS.observed.h}" stroke-width="1.5"/><svg x="${cx}" y="${top - 7}" overflow="visible"><path d="M-4.5 0h9l-4.5 7z" stroke="none"/></svg></g>`,
    );
  }
  out.push(
    `<line x1="0%" y1="${AXIS_Y}" x2="100%" y2="${AXIS_Y}" stroke="#888" stroke-width="0.6"/>`,
  );
  // Local hours, so a DST day has 23 or 25 ticks; narrow screens label every third hour only.
  for (let h = times.at(start); h.toMillis() <= end; h = h.plus({ hours: 1 })) {
    const hx = pct(x(h.toMillis()));
    const major = h.hour % 3 === 0 || h.toMillis() === end;
    out.push(
      `<line class="tick" x1="${hx}" y1="${AXIS_Y}" x2="${hx}" y2="${AXIS_Y + (major ? 5 : 3)}" stroke="#888" stroke-width="0.8"/>`,
    );
    if (h.toMillis() < end) {
      out.push(
        `<text class="hour${major ? "" : " minor"}" x="${hx}" y="${AXIS_Y + 16}" text-anchor="middle" font-size="11" fill="#444">${h.toFormat("HH")}</text>`,
      );
    }
  }
  if (times.now >= start && times.now < end) {
    const nx = pct(x(times.now));
    out.push(
      `<line class="now" x1="${nx}" y1="1" x2="${nx}" y2="${AXIS_Y + 4}" stroke="#111" stroke-width="1.2" stroke-dasharray="3 2"><title>${escapeHtml(`now ${times.time(times.now)}`)}</title></line>`,
    );
  }
  return out.join("");
}

/** The row labels, beside the chart. */
export const TIMELINE_LABELS = `<svg class="labels" width="${LABEL_W}" height="${TIMELINE_H}" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">${Object.values(
  ROWS,
)
  .map(
    (row) =>
      `<text class="row-label" x="${LABEL_W - 6}" y="${row.y + row.h / 2 + 4}" text-anchor="end" font-size="12" fill="#444">${row.label}</text>`,
  )
  .join("")}</svg>`;

export function timelineSummary(today: DayTimeline, times: LocalTimes): string {
  const windows = today.windows.map((w) => times.span(w)).join(", ") || "none";
  const warm = today.observedWarm.map((w) => times.span(w)).join(", ") || "none";
  const starts = today.coldStarts.map((t) => times.time(t)).join(", ") || "none";
  return `Today: windows ${windows}; ModelCopy warm ${warm}; cold starts ${starts}`;
}

export function coverageText(today: DayTimeline, now: number): string {
  const c = windowCoverage(today, now);
  if (c.windowMinutes === 0) return "No window minutes yet today.";
  const unknown = c.windowMinutes - c.observedMinutes;
  const cold = c.observedMinutes - c.warmMinutes;
  const parts = [`${c.warmMinutes} of ${c.windowMinutes} window minutes so far warm`];
  if (cold > 0) parts.push(`${cold} cold`);
  if (unknown > 0) parts.push(`${unknown} without ModelCopy data`);
  return `${parts.join(", ")}.`;
}

export const LEGEND = `<ul class="legend" aria-label="Timeline legend">
<li><span class="sw sw-window"></span>window</li>
<li><span class="sw sw-planned"></span>planned warm (lead time, tail)</li>
<li><span class="sw sw-warm"></span>warm in ModelCopy</li>
<li><span class="sw sw-cold"></span>cold in ModelCopy</li>
<li><span class="sw sw-unknown"></span>no data</li>
<li><span class="sw sw-start"></span>cold start</li>
</ul>`;
