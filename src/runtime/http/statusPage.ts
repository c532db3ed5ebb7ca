import { createHash } from "node:crypto";
import { formatBudgetShare } from "../../domain/budget.js";
import { describeDuration, formatUsd } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import type { Timing } from "../../domain/timings.js";
import type { DaemonStatus, ModelStatus } from "../keep/status.js";
import { renderDemand } from "./demandView.js";
import { overheadText } from "./overheadView.js";
import { escapeHtml, LocalTimes } from "./pageText.js";
import { reconcileFacts } from "./reconcileView.js";
import { fleetTotals } from "./statusJson.js";
import {
  coverageText,
  LEGEND,
  renderTimeline,
  SWATCHES,
  TIMELINE_H,
  TIMELINE_LABELS,
  timelineSummary,
} from "./timelineView.js";

export { escapeHtml } from "./pageText.js";

/** How often the page reloads itself, without JavaScript. */
export const REFRESH_SECONDS = 30;

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
