import type { Interval } from "./interval.js";
import { planModel } from "./plan.js";
import type { ModelTimings } from "./timings.js";
import type { ModelConfig, ResolvedConfig } from "./types.js";
import { DAY_MS, SECOND_MS } from "./units.js";
import { isoInZone } from "./zone.js";

/**
 * The InvokeModel rate a fleet needs, said before it is short. Every model warm at an
 * instant needs a ping per cadence; a run that begins cold needs one request more, the one
 * that finds the restore done, within its lead time. On top of both, `RATE_MARGIN` of the
 * sum is left for what cannot be planned: restore retries every ~5 s, recoveries, backoffs.
 * The daemon's pacer holds the same line: keep-alives may use the rate less that margin
 * (`keepAliveCapacity`), and a model that would go past it is left cold.
 */
export const RATE_MARGIN = 0.1;

/** How far ahead the need is looked at: a week, every weekday and weekend of the policies. */
export const RATE_NEED_HORIZON_MS = 7 * DAY_MS;

/** The share of `ratePerSecond` keep-alives of warm models may take: the rest is the margin. */
export function keepAliveCapacity(ratePerSecond: number): number {
  return ratePerSecond / (1 + RATE_MARGIN);
}

/** A model and the timings it is planned with now (learned, configured or assumed). */
export interface ModelRate {
  readonly model: ModelConfig;
  readonly timings: ModelTimings;
}

/** The fleet at one instant. */
export interface RateAt {
  readonly at: number;
  /** Models with a keep-alive duty: from a run's first ping to its closing ping. */
  readonly warmModels: number;
  /** Their pings at their cadences, requests per second. */
  readonly keepAlivePerSecond: number;
  /** Runs beginning cold: one request more each within its lead time. */
  readonly wakePerSecond: number;
  /** Both, plus `RATE_MARGIN` for restore retries. */
  readonly perSecond: number;
}

export interface RateNeed {
  /** `daemon.invokeRatePerSecond`. */
  readonly ratePerSecond: number;
  readonly range: Interval;
  /** The instant needing the most requests; undefined when no model is ever warm. */
  readonly peak: RateAt | undefined;
  /** The instant with the most models warm at once (the first such). */
  readonly peakWarm: RateAt | undefined;
  /** The first instant the need is above the rate; undefined when it never is. */
  readonly shortFrom: number | undefined;
  /** Models the rate keeps warm when the most are wanted warm at once: all of them unless short. */
  readonly carried: number;
  /** Models warm in the week at the starting cadence, as nothing has been measured on them yet. */
  readonly assumedCadence: number;
}

interface Step {
  readonly at: number;
  readonly models: number;
  /** Request rate per model, 1/ms, as cadence or lead time: summed per distinct length. */
  readonly periodMs: number;
  readonly kind: "keep-alive" | "wake";
}

/**
 * The rate `models` need over [from, from + horizonMs), against `ratePerSecond`. Models
 * with the same policy, overrides and timings have the same plan: it is made once for them.
 */
export function rateNeed(
  config: ResolvedConfig,
  models: readonly ModelRate[],
  ratePerSecond: number,
  from: number,
  horizonMs: number = RATE_NEED_HORIZON_MS,
): RateNeed {
  const range: Interval = { start: from, end: from + horizonMs };
  const steps: Step[] = [];
  let assumedCadence = 0;
  for (const { model, timings, count } of groupByPlan(config, models)) {
    const plan = planModel(config, model, range, timings);
    if (plan.warm.length > 0 && timings.cadence.source === "assumed") assumedCadence += count;
    const { cadence, leadTime, evictionDelay } = timings;
    for (const run of plan.warm) {
      const start = Math.max(run.start, range.start);
      // The closing ping is the eviction delay before the run's end; a run cut by the
      // range's end pings on to it.
      const closing = run.end >= range.end ? range.end : run.end - evictionDelay.ms;
      const end = Math.min(range.end, Math.max(closing, start + cadence.ms));
      if (end <= start) continue;
      steps.push({ at: start, models: count, periodMs: cadence.ms, kind: "keep-alive" });
      steps.push({ at: end, models: -count, periodMs: cadence.ms, kind: "keep-alive" });
      if (run.start > range.start && leadTime.ms > 0) {
        const wakeEnd = Math.min(range.end, run.start + leadTime.ms);
        steps.push({ at: run.start, models: count, periodMs: leadTime.ms, kind: "wake" });
        steps.push({ at: wakeEnd, models: -count, periodMs: leadTime.ms, kind: "wake" });
      }
    }
  }
  steps.sort((a, b) => a.at - b.at);
  const keepAlive = new Map<number, number>();
  const wake = new Map<number, number>();
  let warmModels = 0;
  let peak: RateAt | undefined;
  let peakWarm: RateAt | undefined;
  let shortFrom: number | undefined;
  for (let i = 0; i < steps.length; ) {
    const at = (steps[i] as Step).at;
    for (; i < steps.length && (steps[i] as Step).at === at; i++) {
      const s = steps[i] as Step;
      const counts = s.kind === "keep-alive" ? keepAlive : wake;
      counts.set(s.periodMs, (counts.get(s.periodMs) ?? 0) + s.models);
      if (s.kind === "keep-alive") warmModels += s.models;
    }
    if (at >= range.end) break;
    const keepAlivePerSecond = perSecond(keepAlive);
    const wakePerSecond = perSecond(wake);
    const now: RateAt = {
      at,
      warmModels,
      keepAlivePerSecond,
      wakePerSecond,
      perSecond: (keepAlivePerSecond + wakePerSecond) * (1 + RATE_MARGIN),
    };
    if (peak === undefined || now.perSecond > peak.perSecond) peak = now;
    if (peakWarm === undefined || now.warmModels > peakWarm.warmModels) peakWarm = now;
    if (shortFrom === undefined && now.perSecond > ratePerSecond) shortFrom = at;
  }
  return {
    ratePerSecond,
    range,
    peak,
    peakWarm,
    shortFrom,
    carried: carriedAt(peakWarm, ratePerSecond),
    assumedCadence,
  };
}

/** Requests per second of counts of models per period. */
function perSecond(counts: ReadonlyMap<number, number>): number {
  let sum = 0;
  for (const [periodMs, n] of counts) sum += (n * SECOND_MS) / periodMs;
  return sum;
}

/**
 * Models kept warm at the busiest instant: as many as their keep-alives fit in the rate
 * less the margin, at their average cadence there.
 */
function carriedAt(at: RateAt | undefined, ratePerSecond: number): number {
  if (at === undefined || at.warmModels <= 0) return 0;
  if (at.keepAlivePerSecond <= keepAliveCapacity(ratePerSecond)) return at.warmModels;
  const perModel = at.keepAlivePerSecond / at.warmModels;
  // A hair under whole numbers would otherwise round a fit model away.
  return Math.min(at.warmModels, Math.floor(keepAliveCapacity(ratePerSecond) / perModel + 1e-9));
}

/** Models that plan alike, each group once with how many it stands for. */
function groupByPlan(
  config: ResolvedConfig,
  models: readonly ModelRate[],
): { model: ModelConfig; timings: ModelTimings; count: number }[] {
  const groups = new Map<string, { model: ModelConfig; timings: ModelTimings; count: number }>();
  for (const { model, timings } of models) {
    const overrides = config.overrides
      .flatMap((o, i) => (o.models.includes(model.name) ? [i] : []))
      .join(",");
    const t = timings;
    const key = `${model.policy}|${overrides}|${t.cadence.ms}|${t.leadTime.ms}|${t.evictionDelay.ms}|${t.restore.ms}`;
    const group = groups.get(key);
    if (group) group.count++;
    else groups.set(key, { model, timings, count: 1 });
  }
  return [...groups.values()];
}

/** Requests per second for people, to 3 significant digits: "0.0455", "0.23", "28.4", "5"; rounded up where it is a need. */
export function formatRate(perSecond: number, up = false): string {
  if (!(perSecond > 0)) return "0";
  const digits = Math.max(0, 2 - Math.floor(Math.log10(perSecond)));
  const f = 10 ** digits;
  const x = (up ? Math.ceil(perSecond * f - 1e-6) : Math.round(perSecond * f)) / f;
  return String(Number(x.toFixed(digits)));
}

const count = new Intl.NumberFormat("en-US");

/** "2026-12-07 08:54" in `zone`. */
function localMinute(t: number, zone: string): string {
  return isoInZone(t, zone).slice(0, 16).replace("T", " ");
}

/**
 * One line for people: what the fleet needs at its busiest against the rate, and when
 * short, from when, how many models the rate keeps warm and what to set.
 */
export function describeRateNeed(need: RateNeed, zone: string): string {
  const rate = `daemon.invokeRatePerSecond ${formatRate(need.ratePerSecond)}/s`;
  const { peak, peakWarm } = need;
  if (peak === undefined || peakWarm === undefined) {
    return `InvokeModel rate: no model is planned warm in the coming week (${rate})`;
  }
  const needed = formatRate(peak.perSecond, true);
  const starting =
    need.assumedCadence > 0
      ? `; ${count.format(need.assumedCadence)} at the starting cadence until an eviction is measured`
      : "";
  const busiest = `${count.format(peak.warmModels)} model(s) warm at ${localMinute(peak.at, zone)}: ${formatRate(peak.keepAlivePerSecond)}/s of keep-alives at their cadences and ${formatRate(peak.wakePerSecond)}/s to wake, plus ${RATE_MARGIN * 100}% for restore retries${starting}`;
  if (need.shortFrom === undefined) {
    return `InvokeModel rate: the fleet needs at most ${needed}/s in the coming week, within ${rate} (${busiest})`;
  }
  const left = peakWarm.warmModels - need.carried;
  const when = peakWarm.at === peak.at ? "" : ` (at ${localMinute(peakWarm.at, zone)})`;
  const kept =
    left > 0
      ? `At ${formatRate(need.ratePerSecond)}/s about ${count.format(need.carried)} of the ${count.format(peakWarm.warmModels)} model(s) warm at once${when} are kept warm and ${count.format(left)} left cold.`
      : "Models are kept warm, but windows may open late while they wake.";
  return `${rate} is short from ${localMinute(need.shortFrom, zone)} (${zone}): the fleet needs ${needed}/s (${busiest}). ${kept} Raise daemon.invokeRatePerSecond to ${needed} or more, within the account's InvokeModel quota.`;
}

/** The figures of a need for a log line or JSON. */
export function rateNeedFields(need: RateNeed): Record<string, unknown> {
  const at = (r: RateAt | undefined) =>
    r === undefined
      ? null
      : {
          at: new Date(r.at).toISOString(),
          warmModels: r.warmModels,
          keepAlivePerSecond: Number(formatRate(r.keepAlivePerSecond)),
          wakePerSecond: Number(formatRate(r.wakePerSecond)),
          perSecond: Number(formatRate(r.perSecond, true)),
        };
  return {
    ratePerSecond: need.ratePerSecond,
    neededPerSecond: need.peak === undefined ? 0 : Number(formatRate(need.peak.perSecond, true)),
    short: need.shortFrom !== undefined,
    shortFrom: need.shortFrom === undefined ? null : new Date(need.shortFrom).toISOString(),
    peak: at(need.peak),
    peakWarm: at(need.peakWarm),
    carried: need.carried,
    assumedCadence: need.assumedCadence,
    horizonDays: (need.range.end - need.range.start) / DAY_MS,
  };
}
