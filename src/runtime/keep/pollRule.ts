import type { Interval } from "../../domain/interval.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { WarmState } from "../infra/observer.js";

/**
 * How often ModelCopy is read: every minute while something can change for the model,
 * every `slowMs` otherwise, and every `idleMs` while it is cold with nothing planned.
 */
export interface PollTiming {
  readonly slowMs: number;
  readonly idleMs: number;
}

export const DEFAULT_POLL_TIMING: PollTiming = Object.freeze({
  slowMs: 5 * MINUTE_MS,
  idleMs: 15 * MINUTE_MS,
});

/** Read every minute for this long after a start or a reload. */
export const FAST_AFTER_START_MS = 5 * MINUTE_MS;
/** A window or planned warm run that opens or closes this soon is read every minute... */
export const EDGE_BEFORE_MS = 2 * MINUTE_MS;
/**
 * ...and until this long after its edge plus the publish delay: a window's first minute is
 * read for the opening check, and zeros after a closing are the eviction being measured.
 */
export const EDGE_AFTER_MS = 3 * MINUTE_MS;
/** After a ping met a cold model (or a restore ended), every minute until its ModelCopy shows. */
export const AFTER_COLD_MS = 3 * MINUTE_MS;
/**
 * An eviction is awaited every minute from the expected one (the last success plus the
 * eviction delay) until this long past it plus the publish delay.
 */
export const EVICTION_WAIT_MS = 5 * MINUTE_MS;

/** Why a model is read as often as it is (docs/costs.md lists the cases). */
export type PollReason =
  | "start"
  | "warm-up"
  | "cold-start"
  | "window-edge"
  | "eviction"
  | "cold-in-window"
  | "steady"
  | "idle";

export interface PollDecision {
  readonly ms: number;
  readonly reason: PollReason;
}

/** What the rule reads of one model at one minute. */
export interface PollFacts {
  readonly now: number;
  /** When the model joined the fleet or the config was last applied. */
  readonly since: number;
  /** A ping is being sent, waits for the rate or is retried. */
  readonly attemptInProgress: boolean;
  /** The latest instant a ping met a cold model or a restore ended. */
  readonly lastColdAt: number | undefined;
  /** A successful ping whose eviction ModelCopy has not shown yet. */
  readonly awaitingCool: boolean;
  readonly lastOkAt: number | undefined;
  /** The plan wants the model warm now (window, lead time, the last ping's cadence). */
  readonly planWarm: boolean;
  /** Windows and planned warm runs around `now`: lists of spans (the plan's, any order). */
  readonly spans: readonly (readonly Interval[])[];
  /** What ModelCopy showed last. */
  readonly state: WarmState;
  readonly evictionDelayMs: number;
  readonly publishDelayMs: number;
}

const FAST: PollDecision = { ms: MINUTE_MS, reason: "start" };

/**
 * The interval ModelCopy of one model is read at, now. Every minute while something can
 * change: just after a start or reload, a warm-up or restore under way, a ping that met a
 * cold model, a window or warm run opening or closing within minutes, an eviction due after
 * the last success (the closing ping's, or a cadence longer than the eviction), a model seen
 * cold while the plan wants it warm (a recovery is due). Every `idleMs` while the model is
 * cold with nothing planned for longer than that; every `slowMs` otherwise (a warm model
 * inside its window).
 */
export function pollInterval(f: PollFacts, timing: PollTiming): PollDecision {
  const { now } = f;
  if (now - f.since < FAST_AFTER_START_MS) return FAST;
  // A keep-alive of a warm model (queued for the rate, or retried after throttling) changes
  // nothing until it meets a cold model, which `lastColdAt` then says.
  if (f.attemptInProgress && f.state !== "warm") return { ms: MINUTE_MS, reason: "warm-up" };
  if (f.lastColdAt !== undefined && now - f.lastColdAt <= f.publishDelayMs + AFTER_COLD_MS) {
    return { ms: MINUTE_MS, reason: "cold-start" };
  }
  // Edges from EDGE_BEFORE_MS ahead to `after` behind; spans reaching into the idle horizon.
  const edgeFrom = now - f.publishDelayMs - EDGE_AFTER_MS;
  const edgeTo = now + EDGE_BEFORE_MS;
  const idleHorizon = now + timing.idleMs + EDGE_BEFORE_MS;
  let planned = false;
  for (const list of f.spans) {
    for (const s of list) {
      if ((s.start >= edgeFrom && s.start <= edgeTo) || (s.end >= edgeFrom && s.end <= edgeTo)) {
        return { ms: MINUTE_MS, reason: "window-edge" };
      }
      if (s.end > now && s.start <= idleHorizon) planned = true;
    }
  }
  if (f.awaitingCool && f.lastOkAt !== undefined) {
    const expected = f.lastOkAt + f.evictionDelayMs;
    if (now >= expected && now <= expected + f.publishDelayMs + EVICTION_WAIT_MS) {
      return { ms: MINUTE_MS, reason: "eviction" };
    }
  }
  if (f.planWarm && f.state === "cold") return { ms: MINUTE_MS, reason: "cold-in-window" };
  const quiet = !f.planWarm && f.state !== "warm" && !planned;
  if (quiet && timing.idleMs > timing.slowMs) return { ms: timing.idleMs, reason: "idle" };
  return { ms: timing.slowMs, reason: "steady" };
}

/**
 * Whether a model read through `readThrough` is due at `now` under `intervalMs`: never read,
 * its interval run out, a wall clock stepped back past its last read, or a minute on the
 * interval's grid (multiples of it since the epoch), where the models of a region that read
 * at that interval share one GetMetricData call.
 */
export function pollDue(readThrough: number | undefined, intervalMs: number, now: number): boolean {
  if (readThrough === undefined || readThrough > now) return true;
  // Minute jobs run a few ms late on a real clock: half a minute of slack.
  if (now - readThrough >= intervalMs - MINUTE_MS / 2) return true;
  const minutes = Math.round(intervalMs / MINUTE_MS);
  return minutes <= 1 || Math.round(now / MINUTE_MS) % minutes === 0;
}
