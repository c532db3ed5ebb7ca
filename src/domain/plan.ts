import { KeepwarmError } from "./errors.js";
import { containsInstant, type Interval, intersectInterval, mergeIntervals } from "./interval.js";
import { closingOffsetFor, type ModelTimings } from "./timings.js";
import type { ModelConfig, Policy, ResolvedConfig } from "./types.js";
import { DAY_MS } from "./units.js";
import { expandWindows } from "./windows.js";

export type { Interval } from "./interval.js";

/** A planned warm run: [first ping, closing ping + eviction delay). */
export interface WarmRun extends Interval {
  /**
   * Its first successful call, where billing starts: a restore after the first ping, as a
   * run begins cold; the run's start where the plan does not know how it began.
   */
  readonly billedFrom: number;
  /**
   * Where billing starts under each restore recently measured (`restoreSamplesMs`), when
   * the run's start is known; the projection averages the run's bill over them.
   */
  readonly billedFromSamples?: readonly number[];
  /**
   * Where the run's warm tail ends under each eviction recently measured
   * (`evictionSamplesMs`), when its end is known; the projection averages the run's bill
   * over them. `end` itself is the shortest, which the pings are planned from.
   */
  readonly endSamples?: readonly number[];
}

/** A span of time during which a model follows `policy`. */
export interface PolicySpan extends Interval {
  readonly policy: string;
}

/**
 * What keepwarm intends for one model over a range. Windows and warm runs are those that
 * overlap the range, not clipped to it, except where one reaches beyond the planning
 * horizon (10 days before and 2 days after the range, e.g. always-on): that side is cut at
 * the range bound.
 */
export interface ModelPlan {
  readonly model: string;
  /** The model's own policy; `overrides` lists where another one applies. */
  readonly policy: string;
  /** Zone of the model's own policy. */
  readonly timezone: string;
  /** Desired-warm windows (policy + overrides + holidays, merged), sorted and disjoint. */
  readonly windows: Interval[];
  /** Planned ping instants within [range.start, range.end), ascending. */
  readonly pings: number[];
  /** Each bridged run of pings as [first ping, last ping + evictionDelay), sorted. */
  readonly warm: WarmRun[];
  /** The timings the plan was made with. */
  readonly timings: ModelTimings;
  /** The model's overrides that overlap the range, in file order. */
  readonly overrides: PolicySpan[];
}

/** A config that references a policy it does not define (the loader should have refused it). */
export class PlanError extends KeepwarmError {
  override readonly name = "PlanError";
}

// Pings are computed one UTC day ("chunk") at a time, and a chunk's pings depend only on
// the windows within LOOKAROUND_MS of it. That is what makes a ping instant the same
// whatever range it is asked through. A run that began more than LOOKAROUND_MS before a
// chunk (always-on, or a policy warm for more than a week) is pinged on the grid anchored
// at the epoch in that chunk instead of on its own grid.
const CHUNK_MS = DAY_MS;
const LOOKAROUND_MS = 8 * DAY_MS;

/** The policy `model` follows at instant `t`: the last override in file order covering it. */
export function activePolicyAt(config: ResolvedConfig, model: ModelConfig, t: number): string {
  let policy = model.policy;
  for (const o of config.overrides) {
    if (t >= o.from && t < o.until && o.models.includes(model.name)) policy = o.policy;
  }
  return policy;
}

/** The policies `model` follows over all time, as adjacent spans from -Infinity to Infinity. */
export function policySpans(config: ResolvedConfig, model: ModelConfig): PolicySpan[] {
  const own = config.overrides.filter((o) => o.until > o.from && o.models.includes(model.name));
  const cuts = [...new Set([-Infinity, Infinity, ...own.flatMap((o) => [o.from, o.until])])].sort(
    (a, b) => a - b,
  );
  const spans: PolicySpan[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const start = cuts[i] as number;
    const end = cuts[i + 1] as number;
    const policy = activePolicyAt(config, model, start === -Infinity ? end - 1 : start);
    const last = spans[spans.length - 1];
    if (last !== undefined && last.policy === policy) {
      spans[spans.length - 1] = { start: last.start, end, policy };
    } else {
      spans.push({ start, end, policy });
    }
  }
  return spans;
}

function policyNamed(config: ResolvedConfig, name: string): Policy {
  const policy = config.policies.get(name);
  if (policy === undefined) throw new PlanError(`policy "${name}" is not defined`);
  return policy;
}

/** Desired-warm windows within `span`: each policy span contributes its windows, cut at its edges. */
function desiredWindows(
  config: ResolvedConfig,
  spans: readonly PolicySpan[],
  span: Interval,
): Interval[] {
  const parts: Interval[] = [];
  for (const s of spans) {
    const inside = intersectInterval(s, span);
    if (inside === undefined) continue;
    for (const w of expandWindows(policyNamed(config, s.policy), inside)) {
      const cut = intersectInterval(w, s);
      if (cut !== undefined) parts.push(cut);
    }
  }
  return mergeIntervals(parts);
}

/**
 * Appends the pings of one bridged run that fall in [from, to): a grid of `cadence` from
 * the run's first ping (start - leadTime) up to its closing ping, then the closing ping.
 * The closing ping goes out the eviction delay (less a margin) before the run ends, so the
 * model is still warm at closing time and cools soon after it, whatever the cadence.
 */
function appendRunPings(
  run: Interval,
  timings: ModelTimings,
  from: number,
  to: number,
  out: number[],
): void {
  const cadence = timings.cadence.ms;
  const first = run.start - timings.leadTime.ms;
  const closing = closingPing(run, timings);
  const ownGrid = (chunk: number) => run.start >= chunk - LOOKAROUND_MS;
  const lo = Math.max(first, from);
  const hi = Math.min(closing, to);
  for (let chunk = Math.floor(lo / CHUNK_MS) * CHUNK_MS; chunk < hi; chunk += CHUNK_MS) {
    const a = Math.max(lo, chunk);
    const b = Math.min(hi, chunk + CHUNK_MS);
    const anchor = ownGrid(chunk) ? first : 0;
    let p = anchor + Math.ceil((a - anchor) / cadence) * cadence;
    if (!ownGrid(chunk) && ownGrid(chunk - CHUNK_MS)) {
      // The run's own grid stops here and the epoch grid takes over: one extra ping keeps
      // every interval at most a cadence long.
      const lastOwn = first + Math.ceil((chunk - first) / cadence) * cadence - cadence;
      const bridge = lastOwn + cadence;
      const firstEpoch = Math.ceil(chunk / cadence) * cadence;
      if (bridge < firstEpoch && bridge >= a && bridge < b) out.push(bridge);
    }
    for (; p < b; p += cadence) out.push(p);
  }
  if (closing >= from && closing < to) out.push(closing);
}

/** The last ping of a run: the eviction delay less a margin before its end, never before its first. */
function closingPing(run: Interval, timings: ModelTimings): number {
  const first = run.start - timings.leadTime.ms;
  return Math.max(first, run.end - closingOffsetFor(timings.evictionDelay.ms));
}

/**
 * The windows, pings and warm runs of `model` over `range`, planned with `timings` (learned,
 * configured or assumed: domain/timings.ts). Pure: the same config, model, timings and
 * instant give the same ping whatever range it is asked through.
 */
export function planModel(
  config: ResolvedConfig,
  model: ModelConfig,
  range: Interval,
  timings: ModelTimings,
): ModelPlan {
  const own = policyNamed(config, model.policy);
  const spans = policySpans(config, model);
  const lead = timings.leadTime.ms;
  const eviction = timings.evictionDelay.ms;
  const joinGap = Math.max(eviction, lead);
  // Windows are expanded far enough around the range that every run start a chunk's grid
  // depends on is a true start, and every run end near the range a true end.
  const margin = 2 * DAY_MS + joinGap + lead + timings.cadence.ms;
  const generated: Interval = {
    start: Math.floor(range.start / CHUNK_MS) * CHUNK_MS - LOOKAROUND_MS - margin,
    end: Math.ceil(range.end / CHUNK_MS) * CHUNK_MS + margin,
  };
  // Run and window edges closer than joinGap to the generated span may be cut there.
  const known: Interval = { start: generated.start + joinGap, end: generated.end - joinGap };
  const windows = desiredWindows(config, spans, generated);
  const runs = mergeIntervals(windows, joinGap);

  const pings: number[] = [];
  const warm: WarmRun[] = [];
  for (const run of runs) {
    const first = run.start - lead;
    if (first >= range.end || run.end + eviction <= range.start) continue;
    appendRunPings(run, timings, range.start, range.end, pings);
    const startKnown = run.start > known.start;
    const start = startKnown ? first : range.start;
    const endKnown = run.end < known.end;
    const closing = closingPing(run, timings);
    const end = endKnown ? closing + eviction : range.end;
    const endSamples = endKnown ? (timings.evictionSamplesMs ?? []).map((ms) => closing + ms) : [];
    const samples = startKnown ? (timings.restoreSamplesMs ?? []) : [];
    const billedFromSamples = samples.map((ms) => Math.min(end, first + ms));
    const meanRestoreMs =
      samples.length > 0 ? samples.reduce((n, ms) => n + ms, 0) / samples.length : undefined;
    const billedFrom = startKnown
      ? Math.min(end, first + Math.round(meanRestoreMs ?? timings.restore.ms))
      : start;
    if (end > range.start && start < range.end) {
      warm.push({
        start,
        end,
        billedFrom,
        ...(billedFromSamples.length > 0 ? { billedFromSamples } : {}),
        ...(endSamples.length > 0 ? { endSamples } : {}),
      });
    }
  }
  pings.sort((a, b) => a - b);

  return {
    model: model.name,
    policy: model.policy,
    timezone: own.timezone,
    windows: windows
      .filter((w) => w.end > range.start && w.start < range.end)
      .map((w) => ({
        start: w.start > known.start ? w.start : range.start,
        end: w.end < known.end ? w.end : range.end,
      })),
    pings: dedupeSorted(pings),
    warm: mergeWarm(warm),
    timings,
    overrides: config.overrides
      .filter((o) => o.models.includes(model.name) && o.until > range.start && o.from < range.end)
      .map((o) => ({ start: o.from, end: o.until, policy: o.policy })),
  };
}

/**
 * A run's warm tail can reach the next run's first ping (a gap just over the join gap):
 * they are one warm span, billed from the first.
 */
function mergeWarm(runs: readonly WarmRun[]): WarmRun[] {
  const merged: WarmRun[] = [];
  for (const run of runs) {
    const last = merged[merged.length - 1];
    if (last !== undefined && run.start <= last.end) {
      const later = run.end > last.end ? run : last;
      const { endSamples: _, ...rest } = last;
      merged[merged.length - 1] = {
        ...rest,
        end: later.end,
        ...(later.endSamples ? { endSamples: later.endSamples } : {}),
      };
    } else {
      merged.push(run);
    }
  }
  return merged;
}

/** A closing ping can fall on a grid point: one ping, not two. */
function dedupeSorted(sorted: number[]): number[] {
  return sorted.filter((t, i) => i === 0 || t !== sorted[i - 1]);
}

/** True when `t` lies in one of the plan's desired-warm windows (t must be in its range). */
export function isInWindow(plan: ModelPlan, t: number): boolean {
  return containsInstant(plan.windows, t);
}

/** True when the plan keeps the model warm at `t`: within [first ping, last ping + evictionDelay). */
export function isPlannedWarm(plan: ModelPlan, t: number): boolean {
  return containsInstant(plan.warm, t);
}
