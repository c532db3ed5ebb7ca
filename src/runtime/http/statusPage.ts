import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import { formatBudgetShare } from "../../domain/budget.js";
import { describeDuration, formatUsd } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import type { Timing } from "../../domain/timings.js";
import type { DaemonStatus, DayTimeline, ModelStatus } from "../keep/status.js";
import { renderDemand } from "./demandView.js";
import { overheadText } from "./overheadView.js";
import { reconcileFacts } from "./reconcileView.js";
import { fleetTotals, windowCoverage } from "./statusJson.js";

/** How often the page reloads itself, without JavaScript. */
export const REFRESH_SECONDS = 30;

/** The timeline's fills; the legend's swatches are drawn from the same table. */
const COLORS = {
  window: "#1f4e99",
  planned: "#9cc0ea",
  warm: "#2e8b47",
  cold: "#dde8f3",
  unknown: "#cfcfcf",
  start: "#d1342f",
};

const SWATCHES = Object.entries(COLORS)
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
const TIMELINE_H = 96;

const STYLE = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.4;color:#1d1d1f;background:#f6f6f4}
body{margin:0 auto;max-width:60rem;padding:.75rem}
h1{font-size:1.4rem;margin:.2rem 0}
h2{font-size:1.15rem;margin:0 0 .3rem;display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;word-break:break-all}
.meta,.since,figcaption,footer{color:#555;font-size:.9rem;margin:.2rem 0}
section{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.75rem;margin:.75rem 0}
dl{display:grid;grid-template-columns:repeat(auto-fill,minmax(8.5rem,1fr));gap:.5rem .9rem;margin:.5rem 0 0}
dl div{min-width:0}
dt{font-size:.8rem;color:#555}
dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.wide{grid-column:1/-1}
.state{font-size:.85rem;font-weight:600;padding:.05rem .5rem;border-radius:1rem;color:#fff}
.warm{background:#2e8b47}.cold{background:#3a6ea5}.unknown{background:#777}
.state.idle{background:#e6eef5;color:#2c4a66;border:1px solid #b6c9db}
.bad{color:#b3261e;font-weight:600}
.src{color:#666;font-size:.8rem}
figure{margin:.4rem 0}
.timeline{display:flex;align-items:flex-start}
.timeline svg{display:block;flex:none;height:${TIMELINE_H}px;overflow:visible}
.timeline .chart{flex:1 1 auto;width:100%;min-width:0}
@media (max-width:40rem){.timeline .minor{display:none}}
.legend{display:flex;flex-wrap:wrap;gap:.2rem .8rem;list-style:none;padding:0;margin:.3rem 0}
.sw{display:inline-block;width:.8rem;height:.8rem;margin-right:.25rem;vertical-align:-.1rem;border-radius:2px}
${SWATCHES}.sw-cold{border:1px solid #9ab}
a{color:#1f4e99}
`;

const STYLE_HASH = createHash("sha256").update(STYLE).digest("base64");

/**
 * The page's Content-Security-Policy: nothing may load but its one inline style (by hash)
 * and the empty data: icon that keeps the browser from asking for /favicon.ico.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `style-src 'sha256-${STYLE_HASH}'`,
  "img-src data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text and attribute values for HTML and SVG alike. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] as string);
}

/** Local times and durations in a zone, relative to the status' `now`. */
class LocalTimes {
  constructor(
    readonly now: number,
    readonly zone: string,
  ) {}

  at(t: number): DateTime {
    return DateTime.fromMillis(t, { zone: this.zone }).setLocale("en-GB");
  }

  /** "13:05" today, "Mon 09:00" within a week, "7 Dec 09:00" otherwise. */
  time(t: number): string {
    const d = this.at(t);
    const today = this.at(this.now);
    if (d.hasSame(today, "day")) return d.toFormat("HH:mm");
    if (Math.abs(t - this.now) < 6 * 86_400_000) return d.toFormat("ccc HH:mm");
    return d.toFormat("d LLL HH:mm");
  }

  span(i: Interval): string {
    const end = this.at(i.end);
    const endText = end.hasSame(this.at(i.start), "day")
      ? end.toFormat("HH:mm")
      : end.toFormat("HH:mm") === "00:00"
        ? "24:00"
        : this.time(i.end);
    return `${this.time(i.start)}\u2013${endText}`;
  }
}

function fact(label: string, value: string, wide = false): string {
  return `<div${wide ? ' class="wide"' : ""}><dt>${escapeHtml(label)}</dt><dd>${value}</dd></div>`;
}

function timingText(t: Timing): string {
  return `${escapeHtml(describeDuration(t.ms))} <span class="src">(${escapeHtml(t.source)})</span>`;
}

/** How a model is shown: its ModelCopy state, or "cold, as planned" when idle by plan. */
type ShownState = "warm" | "cold" | "unknown" | "idle";

const SHOWN_TEXT: Record<ShownState, string> = {
  warm: "warm",
  cold: "cold",
  unknown: "unknown",
  idle: "cold, as planned",
};

/**
 * Cold, or without a datapoint (ModelCopy publishes nothing for an idle model), outside
 * every window and every planned warm span: what the plan wants, not a problem. A model
 * whose ModelCopy reads have gone stale stays unknown.
 */
function shownState(m: ModelStatus, now: number): ShownState {
  if (m.state === "warm" || m.stale !== undefined) return m.state;
  const plannedWarm = m.today.plannedWarm.some((w) => w.start <= now && now < w.end);
  return m.currentWindow === undefined && !plannedWarm ? "idle" : m.state;
}

/** The states of the fleet in words: "3: 1 warm, 2 cold as planned"; warm always, others when any. */
function fleetStates(status: DaemonStatus): string {
  const counts = new Map<ShownState, number>();
  for (const m of status.models) {
    const shown = shownState(m, status.now);
    counts.set(shown, (counts.get(shown) ?? 0) + 1);
  }
  const parts = (["warm", "idle", "cold", "unknown"] as const)
    .filter((s) => s === "warm" || (counts.get(s) ?? 0) > 0)
    .map((s) => `${counts.get(s) ?? 0} ${s === "idle" ? "cold as planned" : SHOWN_TEXT[s]}`);
  return `${status.models.length}: ${parts.join(", ")}`;
}

/** " (22:00–02:00 America/Los_Angeles)": a window in its policy's zone, where that is not the page's. */
function inPolicyZone(i: Interval, zone: string, times: LocalTimes): string {
  return zone === times.zone ? "" : ` (${new LocalTimes(times.now, zone).span(i)} ${zone})`;
}

function windowText(m: ModelStatus, times: LocalTimes): string {
  const parts: string[] = [];
  const current = m.currentWindow;
  const endless = (w: Interval) => w.end >= m.lookAheadEnd;
  if (current && endless(current)) {
    parts.push("always on: no close in the next 8 days");
  } else if (current) {
    parts.push(
      `open ${times.span(current)}${inPolicyZone(current, m.activePolicyTimezone, times)}, closes in ${describeDuration(current.end - times.now)}`,
    );
  } else {
    parts.push("none open");
  }
  const next = m.nextWindow;
  if (next && endless(next)) {
    parts.push(`next from ${times.time(next.start)}, always on from then`);
  } else if (next) {
    parts.push(`next ${times.span(next)}${inPolicyZone(next, m.policyTimezone, times)}`);
  } else if (!current || !endless(current)) {
    parts.push("none in the next 8 days");
  }
  return escapeHtml(parts.join("; "));
}

function lastPingText(m: ModelStatus, times: LocalTimes): string {
  if (!m.lastPing) return "none yet";
  const p = m.lastPing;
  const result = p.result === "ok" ? "ok" : `<span class="bad">${escapeHtml(p.result)}</span>`;
  const okNote =
    p.result !== "ok" && m.lastPingOkAt !== undefined
      ? `; last ok ${escapeHtml(times.time(m.lastPingOkAt))}`
      : "";
  return `${escapeHtml(times.time(p.at))} ${result} <span class="src">(${escapeHtml(p.reason)})</span>${okNote}`;
}

/** The budget and the projection's share of it: "$5,000.00; projection 62%", red when over. */
function budgetText(budget: number | undefined, projected: number | undefined): string {
  if (budget === undefined) return "none set";
  const share =
    projected === undefined
      ? "projection unknown"
      : `projection ${budget > 0 ? formatBudgetShare(projected / budget) : "OVER"}`;
  const text = escapeHtml(`${formatUsd(budget)}; ${share}`);
  const over = projected !== undefined && projected >= budget;
  return over ? `<span class="bad">${text}</span>` : text;
}

/** Why a model's money is unknown: its CMU, its CMU version's price, or a month not read from CloudWatch yet. */
function moneyText(m: ModelStatus, x: number | undefined): string {
  if (x !== undefined) return escapeHtml(formatUsd(x));
  const why =
    m.cmu === undefined
      ? "CMU unknown"
      : m.usdPerCmuMinute === undefined
        ? `no price for CMU ${m.cmuVersion ?? "version"}`
        : "CloudWatch not read yet";
  return `unknown <span class="src">(${why})</span>`;
}

/** " (America/Los_Angeles time)" where a policy's zone is not the page's. */
function zoneNote(zone: string, times: LocalTimes): string {
  return zone === times.zone ? "" : ` <span class="src">(${escapeHtml(zone)} time)</span>`;
}

function policyText(m: ModelStatus, times: LocalTimes): string {
  const own = `${escapeHtml(m.policy)}${zoneNote(m.policyTimezone, times)}`;
  if (m.activePolicy === m.policy) return own;
  return `${escapeHtml(m.activePolicy)}${zoneNote(m.activePolicyTimezone, times)} <span class="src">(override; own policy ${escapeHtml(m.policy)})</span>`;
}

/** Percent of the chart's width, to 3 decimals: a thousandth of a percent is below a pixel. */
const pct = (v: number) => `${Number(v.toFixed(3))}%`;

/** The day's timeline: windows, planned warm, observed minutes, cold starts and now. */
function renderTimeline(today: DayTimeline, times: LocalTimes): string {
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
const TIMELINE_LABELS = `<svg class="labels" width="${LABEL_W}" height="${TIMELINE_H}" aria-hidden="true" xmlns="http://www.w3.org/2000/svg">${Object.values(
  ROWS,
)
  .map(
    (row) =>
      `<text class="row-label" x="${LABEL_W - 6}" y="${row.y + row.h / 2 + 4}" text-anchor="end" font-size="12" fill="#444">${row.label}</text>`,
  )
  .join("")}</svg>`;

function timelineSummary(today: DayTimeline, times: LocalTimes): string {
  const windows = today.windows.map((w) => times.span(w)).join(", ") || "none";
  const warm = today.observedWarm.map((w) => times.span(w)).join(", ") || "none";
  const starts = today.coldStarts.map((t) => times.time(t)).join(", ") || "none";
  return `Today: windows ${windows}; ModelCopy warm ${warm}; cold starts ${starts}`;
}

function coverageText(today: DayTimeline, now: number): string {
  const c = windowCoverage(today, now);
  if (c.windowMinutes === 0) return "No window minutes yet today.";
  const unknown = c.windowMinutes - c.observedMinutes;
  const cold = c.observedMinutes - c.warmMinutes;
  const parts = [`${c.warmMinutes} of ${c.windowMinutes} window minutes so far warm`];
  if (cold > 0) parts.push(`${cold} cold`);
  if (unknown > 0) parts.push(`${unknown} without ModelCopy data`);
  return `${parts.join(", ")}.`;
}

function sinceText(m: ModelStatus, times: LocalTimes): string {
  if (m.stale) {
    return `ModelCopy not read since ${times.time(m.stale.asOf)} (${describeDuration(times.now - m.stale.asOf)}): ${m.stale.reason}`;
  }
  const since =
    m.stateSince === undefined
      ? "no ModelCopy datapoint yet"
      : `since ${times.time(m.stateSince)} (${describeDuration(times.now - m.stateSince)})`;
  const copies =
    m.copies === undefined ? "copies unknown" : `${m.copies} ${m.copies === 1 ? "copy" : "copies"}`;
  return `${since}; ${copies}`;
}

function renderModel(m: ModelStatus, times: LocalTimes): string {
  const name = escapeHtml(m.name);
  const shown = shownState(m, times.now);
  const restore =
    m.restoreSecondsMedian === undefined
      ? ""
      : `, median restore ${describeDuration(m.restoreSecondsMedian * 1000)}`;
  const facts = [
    fact("Window", windowText(m, times), true),
    fact("Last ping", lastPingText(m, times), true),
    fact("Policy", policyText(m, times)),
    fact(
      "Next ping",
      m.nextPingAt === undefined ? "none planned" : escapeHtml(times.time(m.nextPingAt)),
    ),
    fact("Cold starts since start-up", escapeHtml(`${m.counters.coldStarts}${restore}`)),
    fact("Cadence", timingText(m.timings.cadence)),
    fact("Lead time", timingText(m.timings.leadTime)),
    fact("Eviction delay", timingText(m.timings.evictionDelay)),
    fact("Restore", timingText(m.timings.restore)),
    fact("Month to date", moneyText(m, m.monthToDateUsd)),
    fact("Projection", moneyText(m, m.projectedMonthUsd)),
    fact("Always-on", moneyText(m, m.alwaysOnMonthUsd)),
    fact("Saving", moneyText(m, m.savingUsd)),
    fact("Budget", budgetText(m.budgetUsd, m.projectedMonthUsd)),
    fact("CMU per copy", m.cmu === undefined ? "unknown" : escapeHtml(String(m.cmu))),
  ];
  const summary = escapeHtml(timelineSummary(m.today, times));
  return `<section class="model" data-model="${name}" data-state="${escapeHtml(m.state)}">
<h2>${name} <span class="state ${shown}">${escapeHtml(SHOWN_TEXT[shown])}</span></h2>
<p class="since">${escapeHtml(sinceText(m, times))}</p>
<figure>
<div class="timeline">${TIMELINE_LABELS}<svg class="chart" height="${TIMELINE_H}" role="img" aria-label="${summary}" xmlns="http://www.w3.org/2000/svg"><title>${summary}</title>${renderTimeline(m.today, times)}</svg></div>
<figcaption>${escapeHtml(coverageText(m.today, times.now))}</figcaption>
</figure>
<dl>${facts.join("")}</dl>
</section>`;
}

const LEGEND = `<ul class="legend" aria-label="Timeline legend">
<li><span class="sw sw-window"></span>window</li>
<li><span class="sw sw-planned"></span>planned warm (lead time, tail)</li>
<li><span class="sw sw-warm"></span>warm in ModelCopy</li>
<li><span class="sw sw-cold"></span>cold in ModelCopy</li>
<li><span class="sw sw-unknown"></span>no data</li>
<li><span class="sw sw-start"></span>cold start</li>
</ul>`;

function renderFleet(status: DaemonStatus, times: LocalTimes): string {
  const t = fleetTotals(status);
  const left = [
    t.modelsWithoutCmu > 0 ? `${t.modelsWithoutCmu} without CMU or price` : undefined,
    t.modelsNotRead > 0 ? `${t.modelsNotRead} not read from CloudWatch yet` : undefined,
  ].filter((x) => x !== undefined);
  const partial = left.length > 0 ? ` (${left.join(", ")} left out)` : "";
  const sum = (x: number | undefined) =>
    x === undefined ? "unknown" : escapeHtml(`${formatUsd(x)}${partial}`);
  return `<section class="fleet" aria-label="Fleet">
<h2>Fleet</h2>
<dl>${[
    fact("Models", escapeHtml(fleetStates(status))),
    fact("Month to date", sum(t.monthToDateUsd)),
    fact("Projection", sum(t.projectedMonthUsd)),
    fact("Always-on", sum(t.alwaysOnMonthUsd)),
    fact("Saving", sum(t.savingUsd)),
    fact("Budget", budgetText(status.fleetBudgetUsd, t.projectedMonthUsd)),
    fact("keepwarm's AWS calls", escapeHtml(overheadText(status.overhead, (x) => times.time(x)))),
  ].join("")}</dl>
</section>`;
}

/** AWS's bill against keepwarm's figures, per usage type; nothing where no daemon reconciles. */
function renderReconciliation(status: DaemonStatus, times: LocalTimes): string {
  if (!status.reconciliation) return "";
  const facts = reconcileFacts(status.reconciliation, (t) => times.time(t)).map((f) =>
    fact(
      f.label,
      f.bad ? `<span class="bad">${escapeHtml(f.text)}</span>` : escapeHtml(f.text),
      f.wide,
    ),
  );
  return `<section class="reconciliation" aria-label="AWS's bill">
<h2>AWS's bill (Cost Explorer, final UTC days)</h2>
<dl>${facts.join("")}</dl>
</section>`;
}

/** The status page: one self-contained HTML document, no script, no external asset. */
export function renderStatusPage(status: DaemonStatus): string {
  const times = new LocalTimes(status.now, status.timezone);
  const flags = [
    status.simulated ? "SIMULATED: no AWS is called" : undefined,
    status.ready
      ? "ready"
      : status.configLoaded
        ? "starting: first reconcile not done"
        : "no valid configuration",
  ].filter((f) => f !== undefined);
  const title = `keepwarm: ${fleetStates(status).replace(/^\d+: /, "")}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>keepwarm</h1>
<p class="meta">${escapeHtml([`${times.at(status.now).toFormat("ccc d LLL yyyy HH:mm:ss")} ${status.timezone}`, ...flags].join(" \u00b7 "))}</p>
</header>
${renderFleet(status, times)}
${renderReconciliation(status, times)}
${LEGEND}
${status.models.map((m) => renderModel(m, times)).join("\n")}
${renderDemand(status.demand ?? [], (t) => times.time(t))}
<footer>Refreshes every ${REFRESH_SECONDS} s. Times in ${escapeHtml(status.timezone)} unless marked. Money: this UTC month. <a href="/api/status">JSON</a> \u00b7 <a href="/metrics">metrics</a></footer>
</body>
</html>
`;
}
