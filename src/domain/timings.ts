import { formatDuration } from "./format.js";
import { DAY_MS, MINUTE_MS, SECOND_MS } from "./units.js";
/**
 * The four durations a model's plan is built from, and how they follow from what has been
 * measured on the model. Bedrock's idle rule is undocumented (AWS has said 5 minutes, 10-15
 * and "typically one hour"), so keepwarm measures each model's eviction and restore and
 * plans from the shortest eviction and the longest restore it has recently seen.
 *
 * Each timing says where it comes from: measured on this model (`learned`), fixed in the
 * YAML (`configured`), or the starting assumption used until something is measured
 * (`assumed`).
 */
export type TimingSource = "learned" | "configured" | "assumed";

export interface Timing {
  readonly ms: number;
  readonly source: TimingSource;
}

export interface ModelTimings {
  /** Keep-alive interval inside a window. */
  readonly cadence: Timing;
  /** How long before a window opens the first ping goes out. */
  readonly leadTime: Timing;
  /** Idle time after the last successful call before Bedrock unloads the model. */
  readonly evictionDelay: Timing;
  /**
   * How long a cold model takes to answer after the first call that wakes it: the longest
   * recently measured, which the lead time is built from.
   */
  readonly restore: Timing;
  /**
   * The restores recently measured, oldest first. The projection bills each run as the
   * average over them: a restore shorter than the longest starts the bill earlier, by up to
   * a 5-minute window. Absent while none is measured (`restore.ms` is billed from).
   */
  readonly restoreSamplesMs?: readonly number[];
  /**
   * The idle evictions recently measured (ModelCopy fell to 0), oldest first. The
   * projection bills each run's warm tail as the average over them: a rule whose delay
   * varies keeps a copy longer than the shortest on most days. Absent while none is
   * measured (`evictionDelay.ms` is billed from).
   */
  readonly evictionSamplesMs?: readonly number[];
}

/** The four timings a model is planned with, each with its source. */
export type TimingName = "cadence" | "leadTime" | "evictionDelay" | "restore";

/** A timing in the YAML: `auto` (learned) or a fixed duration that is obeyed. */
export type TimingSetting =
  | { readonly mode: "auto" }
  | { readonly mode: "fixed"; readonly ms: number };

export interface TimingSettings {
  readonly cadence: TimingSetting;
  readonly leadTime: TimingSetting;
  readonly evictionDelay: TimingSetting;
}

/** The rules that turn measurements into timings; each figure is documented in docs/plan.md. */
export const TIMING_RULES = Object.freeze({
  /** An `auto` cadence is never longer than this: the interval of the cron it replaces. */
  cadenceCeilingMs: 14 * MINUTE_MS,
  /** Nor shorter than this, whatever was measured. */
  cadenceFloorMs: MINUTE_MS,
  /**
   * A ping goes out this long before the shortest eviction measured runs out: ModelCopy
   * resolves to a minute, and a ping can be late by a retry or a slow answer.
   */
  cadenceMarginMs: MINUTE_MS,
  /** Before any eviction is measured: the shortest idle time AWS has stated (5 minutes). */
  assumedEvictionMs: 5 * MINUTE_MS,
  /** Before any restore is measured: AWS says an imported model is "served within 5 minutes". */
  assumedRestoreMs: 5 * MINUTE_MS,
  /** The last ping of a run leaves the model warm this long past closing time. */
  closingMarginMs: 2 * MINUTE_MS,
  /** The lead time is the longest restore measured plus this and `leadMarginFraction` of it. */
  leadMarginMs: 30 * SECOND_MS,
  leadMarginFraction: 0.1,
  /** The lead time is capped like a configured one. */
  leadTimeCeilingMs: 30 * MINUTE_MS,
  /** Measurements older than this are forgotten, so a change in Bedrock's rule is followed. */
  recentMs: 14 * DAY_MS,
  /** An eviction bound from a cold start inside a warm span is forgotten after this. */
  atMostRecentMs: 60 * DAY_MS,
  /** At most this many measurements of each kind are kept per model. */
  keepSamples: 20,
  /**
   * An eviction this soon after a call is no idle rule (AWS's shortest stated is 5 minutes):
   * a copy moved or replaced by Bedrock. It is logged and kept, but not planned from, or one
   * such event would make a model pinged every minute for weeks.
   */
  minIdleEvictionMs: 2 * MINUTE_MS,
});

/** How a measured eviction delay was obtained. */
export type EvictionBound =
  /** ModelCopy fell to 0: the copy was unloaded within the minute before that datapoint. */
  | "measured"
  /** A planned ping met a cold model: the eviction came at the latest this long after the last call. */
  | "at-most";

export interface EvictionSample {
  /** When it was measured. */
  readonly at: number;
  /** The last successful call before the eviction (keepwarm's own or from `Invocations`). */
  readonly lastCallAt: number;
  /** Eviction delay (the shortest one consistent with the observation). */
  readonly ms: number;
  readonly bound: EvictionBound;
}

export interface RestoreSample {
  readonly at: number;
  /** From the first ModelNotReadyException to the first successful call. */
  readonly ms: number;
}

/** What has been measured on one model. */
export interface ModelObservations {
  readonly evictions: readonly EvictionSample[];
  readonly restores: readonly RestoreSample[];
}

export const NO_OBSERVATIONS: ModelObservations = Object.freeze({ evictions: [], restores: [] });

/**
 * The measurements still recent at `now`, newest `keepSamples` of each kind. An at-most
 * bound is a cold start the plan let happen; closing-time measurements, all taken at the
 * same phase of a run, may never show so short an eviction again, so bounds are kept longer.
 */
export function recentObservations(o: ModelObservations, now: number): ModelObservations {
  const keep = <T extends { readonly at: number }>(list: readonly T[], recentMs: number) =>
    list.filter((s) => s.at > now - recentMs).slice(-TIMING_RULES.keepSamples);
  const measured = keep(
    o.evictions.filter((s) => s.bound === "measured"),
    TIMING_RULES.recentMs,
  );
  const bounds = keep(
    o.evictions.filter((s) => s.bound === "at-most"),
    TIMING_RULES.atMostRecentMs,
  );
  return {
    evictions: [...measured, ...bounds].sort((a, b) => a.at - b.at),
    restores: keep(o.restores, TIMING_RULES.recentMs),
  };
}

/** Whether an eviction is long enough after its call to be Bedrock's idle rule at work. */
export function isIdleEviction(s: EvictionSample): boolean {
  return s.ms >= TIMING_RULES.minIdleEvictionMs;
}

/** The shortest recent eviction and the longest recent restore, undefined while unmeasured. */
export function conservativeFigures(
  o: ModelObservations,
  now: number,
): {
  readonly evictionMs: number | undefined;
  readonly restoreMs: number | undefined;
  readonly restoreSamplesMs: readonly number[];
  readonly evictionSamplesMs: readonly number[];
  /**
   * The eviction an auto cadence holds the model under: the shortest, less the gap below it
   * that the spread of the recent ones suggests (`spreadBelow`; at-most bounds included:
   * each is a cold start the cadence let happen). Pings while a copy is up
   * cost nothing, so the cadence allows for a shorter eviction than seen; the closing ping,
   * which decides the bill, is planned from the shortest.
   */
  readonly holdEvictionMs: number | undefined;
} {
  const recent = recentObservations(o, now);
  const all = recent.evictions.filter(isIdleEviction);
  // An at-most bound at or above the shortest measured eviction is consistent with it and
  // says nothing about the rule: counted as spread it would pull the cadence down for weeks.
  const measuredMs = all.filter((s) => s.bound === "measured").map((s) => s.ms);
  const shortestMeasured = measuredMs.length > 0 ? Math.min(...measuredMs) : Infinity;
  const idle = all.filter((s) => s.bound === "measured" || s.ms < shortestMeasured);
  const evictionMs = idle.length > 0 ? Math.min(...idle.map((s) => s.ms)) : undefined;
  const restores = recent.restores.map((s) => s.ms);
  const restoreMs = restores.length > 0 ? Math.max(...restores) : undefined;
  // Bounds from a cold ping say only "at most": they decide the cadence, not the bill.
  const evictionSamplesMs = idle.filter((s) => s.bound === "measured").map((s) => s.ms);
  return {
    evictionMs,
    holdEvictionMs:
      evictionMs === undefined ? undefined : evictionMs - spreadBelow(idle.map((s) => s.ms)),
    restoreMs,
    restoreSamplesMs: restores,
    evictionSamplesMs,
  };
}

/**
 * How far below the shortest of `samples` the next one may fall: their range over their
 * count less one (the expected gap between the shortest of n draws and the least possible
 * value, when the draws are spread evenly), rounded up to half a minute so that each new
 * sample does not move the cadence by seconds. 0 for fewer than two samples or none apart:
 * a rule that evicts at the same delay every time is planned from that delay.
 */
export function spreadBelow(samples: readonly number[]): number {
  if (samples.length < 2) return 0;
  const gap = (Math.max(...samples) - Math.min(...samples)) / (samples.length - 1);
  return Math.ceil(gap / SPREAD_STEP_MS) * SPREAD_STEP_MS;
}

const SPREAD_STEP_MS = 30 * SECOND_MS;

/**
 * The timings a model is planned with at `now`: a fixed setting is obeyed; `auto` takes the
 * shortest eviction and the longest restore recently measured, or the starting assumptions.
 * - cadence: a ping before the shortest eviction can run out, with room below it when the
 *   measured evictions vary (`holdEvictionMs`), within [floor, ceiling];
 * - lead time: the longest restore plus a margin, so the model answers just before opening;
 * - eviction delay: decides the closing ping (plan.ts) and the warm tail the projection bills.
 */
export function resolveTimings(
  settings: TimingSettings,
  observations: ModelObservations,
  now: number,
): ModelTimings {
  const figures = conservativeFigures(observations, now);
  const measured = (ms: number | undefined, assumed: number): Timing =>
    ms === undefined ? { ms: assumed, source: "assumed" } : { ms, source: "learned" };
  const restore = measured(figures.restoreMs, TIMING_RULES.assumedRestoreMs);
  const evictionDelay: Timing =
    settings.evictionDelay.mode === "fixed"
      ? { ms: settings.evictionDelay.ms, source: "configured" }
      : measured(figures.evictionMs, TIMING_RULES.assumedEvictionMs);
  const cadence: Timing =
    settings.cadence.mode === "fixed"
      ? { ms: settings.cadence.ms, source: "configured" }
      : {
          // A learned eviction whose measurements vary is held with room below the shortest.
          ms: cadenceFor(
            evictionDelay.source === "learned"
              ? (figures.holdEvictionMs ?? evictionDelay.ms)
              : evictionDelay.ms,
          ),
          source: evictionDelay.source,
        };
  const leadTime: Timing =
    settings.leadTime.mode === "fixed"
      ? { ms: settings.leadTime.ms, source: "configured" }
      : { ms: leadTimeFor(restore.ms), source: restore.source };
  return {
    cadence,
    leadTime,
    evictionDelay,
    restore,
    ...(figures.restoreSamplesMs.length > 0 ? { restoreSamplesMs: figures.restoreSamplesMs } : {}),
    ...(figures.evictionSamplesMs.length > 0
      ? { evictionSamplesMs: figures.evictionSamplesMs }
      : {}),
  };
}

/** The longest keep-alive interval that still pings before `evictionMs` of idleness runs out. */
export function cadenceFor(evictionMs: number): number {
  const { cadenceCeilingMs, cadenceFloorMs, cadenceMarginMs } = TIMING_RULES;
  const ms = roundDownToSecond(evictionMs - cadenceMarginMs);
  return Math.min(cadenceCeilingMs, Math.max(cadenceFloorMs, ms));
}

/** The lead time that rides out a restore of `restoreMs` before a window opens. */
export function leadTimeFor(restoreMs: number): number {
  const { leadMarginMs, leadMarginFraction, leadTimeCeilingMs } = TIMING_RULES;
  const ms =
    Math.ceil((restoreMs * (1 + leadMarginFraction) + leadMarginMs) / SECOND_MS) * SECOND_MS;
  return Math.min(leadTimeCeilingMs, ms);
}

/**
 * How long before closing time a run's last ping goes out: the model stays warm the
 * eviction delay after it, so it is still warm at closing and cools `closingMarginMs` later.
 */
export function closingOffsetFor(evictionMs: number): number {
  return Math.max(0, evictionMs - TIMING_RULES.closingMarginMs);
}

/**
 * The eviction delay a ModelCopy fall shows: the first datapoint at 0 starts at `zeroAt`,
 * the minute before it still had a copy, so the copy went in (zeroAt - 1 min, zeroAt]. The
 * shorter end is taken. Undefined when the call came after the copy was already gone.
 */
export function evictionFromZero(lastCallAt: number, zeroAt: number): number | undefined {
  const ms = zeroAt - MINUTE_MS - lastCallAt;
  return ms > 0 ? ms : undefined;
}

/**
 * The last successful call on a model: keepwarm's own, or a later one that CloudWatch
 * `Invocations` shows (users, another replica). Invocations resolve to a minute, so a
 * minute that holds no call of keepwarm's counts at its end, which makes the eviction
 * measured from it shorter, never longer, than the truth.
 */
export function lastCallAt(
  ownLastOkAt: number | undefined,
  invocationMinutes: readonly number[],
  before: number,
): number | undefined {
  let last = ownLastOkAt;
  for (const minute of invocationMinutes) {
    if (minute >= before) continue;
    const ownInside =
      ownLastOkAt !== undefined && ownLastOkAt >= minute && ownLastOkAt < minute + MINUTE_MS;
    const candidate = ownInside ? (ownLastOkAt as number) : Math.min(minute + MINUTE_MS, before);
    if (last === undefined || candidate > last) last = candidate;
  }
  return last;
}

/** Equal timings: nothing to log or replan. */
export function sameTimings(a: ModelTimings, b: ModelTimings): boolean {
  const same = (x: Timing, y: Timing) => x.ms === y.ms && x.source === y.source;
  return (
    same(a.cadence, b.cadence) &&
    same(a.leadTime, b.leadTime) &&
    same(a.evictionDelay, b.evictionDelay) &&
    same(a.restore, b.restore)
  );
}

/**
 * Whether two timings bill runs from the same restores and evictions (see
 * `restoreSamplesMs`, `evictionSamplesMs`).
 */
export function sameBillingSamples(a: ModelTimings, b: ModelTimings): boolean {
  const same = (x: readonly number[] = [], y: readonly number[] = []) =>
    x.length === y.length && x.every((ms, i) => ms === y[i]);
  return (
    same(a.restoreSamplesMs, b.restoreSamplesMs) && same(a.evictionSamplesMs, b.evictionSamplesMs)
  );
}

function roundDownToSecond(ms: number): number {
  return Math.floor(ms / SECOND_MS) * SECOND_MS;
}

/** The timings of a model before anything has been measured on it. */
export function initialTimings(model: { readonly timing: TimingSettings }): ModelTimings {
  return resolveTimings(model.timing, NO_OBSERVATIONS, 0);
}

/** A model's timings for a log line or JSON: seconds and where each comes from. */
export function timingFields(
  t: ModelTimings,
): Record<TimingName, { seconds: number; source: TimingSource }> {
  const field = (x: Timing) => ({ seconds: Math.round(x.ms / 100) / 10, source: x.source });
  return {
    cadence: field(t.cadence),
    leadTime: field(t.leadTime),
    evictionDelay: field(t.evictionDelay),
    restore: field(t.restore),
  };
}

/** "4m30s (learned)" */
export function describeTiming(t: Timing): string {
  return `${formatDuration(t.ms)} (${t.source})`;
}
