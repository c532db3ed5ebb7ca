import type { AwsFailureKind } from "../../aws/errors.js";
import type { CopyPoint } from "../../aws/metrics.js";
import type { Interval } from "../../domain/interval.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { PingResult, WarmState } from "../infra/observer.js";
import type { ControllerTiming } from "./loopTiming.js";

/** What the latest ModelCopy datapoints say, read against the last successful ping. */
export interface Observation {
  readonly state: WarmState;
  /** The latest datapoint's value; undefined when there is none. */
  readonly copies: number | undefined;
  /** Start of the latest datapoint's minute. */
  readonly latestAt: number | undefined;
  /**
   * Start of the run of zero datapoints that reaches the latest one, counted only after the
   * last warm datapoint and after the minute of the last successful ping (zeros from before
   * the model was woken say nothing about an eviction).
   */
  readonly zeroSince: number | undefined;
}

export const NO_OBSERVATION: Observation = Object.freeze({
  state: "unknown",
  copies: undefined,
  latestAt: undefined,
  zeroSince: undefined,
});

/** The last ping that ended (success, or a failure that ended its attempt or a request). */
export interface LastPing {
  readonly at: number;
  readonly result: PingResult;
  readonly reason: string;
}

/**
 * A model's warm state as its controller holds it: one record, replaced whole by the
 * decisions and transitions below, never written field by field from outside.
 */
export interface WarmRecord {
  readonly observation: Observation;
  /** Since when `observation.state` has been what it is. */
  readonly stateSince: number | undefined;
  readonly lastOkAt: number | undefined;
  readonly lastPing: LastPing | undefined;
  readonly lastRecoveryAt: number | undefined;
  /** A successful ping whose eviction ModelCopy has not shown yet. */
  readonly awaitingCool: boolean;
  /** Copies outside the plan were reported since the model was last planned warm or cold. */
  readonly outsideReported: boolean;
  /** A ping was rejected (IAM, request) since the last planned one: recovering would only repeat it. */
  readonly rejectedSincePlannedPing: boolean;
  /**
   * A request failed for another reason than a cold model (rejected, throttled, a fault)
   * since the last success: a cold start after such a gap says nothing about the idle rule.
   */
  readonly failedSinceOk: boolean;
  /** AWS said the model does not exist (deleted, or a wrong ARN): the plan's warmth will not happen. */
  readonly modelMissing: boolean;
  /** The latest restore ridden out: from its first ModelNotReadyException to the success. */
  readonly lastRestore: Interval | undefined;
}

export const INITIAL_WARM_RECORD: WarmRecord = Object.freeze({
  observation: NO_OBSERVATION,
  stateSince: undefined,
  lastOkAt: undefined,
  lastPing: undefined,
  lastRecoveryAt: undefined,
  awaitingCool: false,
  outsideReported: false,
  rejectedSincePlannedPing: false,
  failedSinceOk: false,
  modelMissing: false,
  lastRestore: undefined,
});

/** A step the controller decided to take, with the reason its log line prints. */
export type Decision =
  | { readonly action: "ping"; readonly reason: string }
  | { readonly action: "skip"; readonly reason: string }
  | { readonly action: "recover"; readonly reason: string; readonly minutesAtZero: number }
  | { readonly action: "cooled"; readonly reason: string; readonly minutesSinceLastPing: number }
  | { readonly action: "warm-outside-window"; readonly reason: string };

/** Decisions with the record they leave behind; carrying them out only performs effects. */
export interface Decided {
  readonly next: WarmRecord;
  readonly decisions: readonly Decision[];
}

/**
 * What to do when planned ping instants have come due. A suspend or a clock jump can make
 * several due at once: one ping goes out, never a burst, and only while the last of them
 * still has a duty (its cadence has not run out) or a window is open. A planned ping clears
 * an earlier rejection: it is the retry the rejection waited for.
 */
export function decideDuePings(
  record: WarmRecord,
  input: {
    readonly due: readonly number[];
    readonly now: number;
    readonly cadenceMs: number;
    readonly inWindow: boolean;
    readonly attemptInProgress: boolean;
  },
): Decided {
  const { due, now, cadenceMs, inWindow, attemptInProgress } = input;
  const latest = due[due.length - 1];
  if (latest === undefined) {
    return { next: record, decisions: [{ action: "skip", reason: "no planned ping is due" }] };
  }
  const next = { ...record, rejectedSincePlannedPing: false };
  const one = (decision: Decision): Decided => ({ next, decisions: [decision] });
  if (attemptInProgress) {
    return one({
      action: "skip",
      reason: "an earlier ping is still retrying; one request at a time",
    });
  }
  const late = now - latest;
  if (due.length === 1 && late < cadenceMs) return one({ action: "ping", reason: "planned" });
  if (late >= cadenceMs && !inWindow) {
    return one({
      action: "skip",
      reason: `${due.length} planned ping(s) missed (clock jump or suspend); their warm span is over`,
    });
  }
  return one({
    action: "ping",
    reason: `${due.length} planned ping(s) missed (clock jump or suspend); sending one now`,
  });
}

export function readObservation(
  points: readonly CopyPoint[],
  lastOkAt: number | undefined,
): Observation {
  const latest = points[points.length - 1];
  if (!latest) return NO_OBSERVATION;
  const state: WarmState = latest.copies >= 1 ? "warm" : "cold";
  const after =
    lastOkAt === undefined ? -Infinity : Math.floor(lastOkAt / MINUTE_MS) * MINUTE_MS + MINUTE_MS;
  let zeroSince: number | undefined;
  for (let i = points.length - 1; i >= 0; i--) {
    const p = points[i] as CopyPoint;
    if (p.copies !== 0 || p.t < after) break;
    zeroSince = p.t;
  }
  return { state, copies: latest.copies, latestAt: latest.t, zeroSince };
}

/**
 * What an observation calls for. In a window, copies at 0 for longer than the publish delay
 * plus a restore means the model was evicted under us: recover. Outside the plan, a first 0
 * after the last ping is the eviction being measured; copies outside it are reported once.
 */
export function decideObservation(
  record: WarmRecord,
  input: {
    readonly now: number;
    readonly observation: Observation;
    readonly inWindow: boolean;
    /** Start of the window `now` is in: zeros from before it were no one's concern. */
    readonly windowStart?: number | undefined;
    /** Start of the next window, when none is open. */
    readonly nextWindowStart?: number | undefined;
    /** The plan wants the model warm now (window, lead time or the last ping's cadence). */
    readonly planWarm: boolean;
    readonly attemptInProgress: boolean;
    readonly evictionDelayMs: number;
    readonly publishDelayMs: number;
    readonly restoreMs: number;
  },
): Decided {
  const { now, observation: o } = input;
  const { lastOkAt } = record;
  const previous = record.observation;
  let next: WarmRecord = {
    ...record,
    observation: o,
    stateSince: o.state !== previous.state ? (o.latestAt ?? now) : record.stateSince,
    outsideReported: o.state !== "warm" || input.planWarm ? false : record.outsideReported,
  };
  const decisions: Decision[] = [];
  const grace = input.publishDelayMs + input.restoreMs;
  if (
    o.zeroSince !== undefined &&
    input.inWindow &&
    !input.attemptInProgress &&
    !record.rejectedSincePlannedPing
  ) {
    const atZero = now - Math.max(o.zeroSince, input.windowStart ?? -Infinity);
    const recentlyRecovered =
      record.lastRecoveryAt !== undefined && now - record.lastRecoveryAt <= grace;
    if (atZero > grace && !recentlyRecovered) {
      next = { ...next, lastRecoveryAt: now };
      decisions.push({
        action: "recover",
        minutesAtZero: atZero / MINUTE_MS,
        reason: `ModelCopy at 0 since ${new Date(o.zeroSince).toISOString()} inside a window, longer than the publish delay plus a restore`,
      });
    }
  }
  if (
    o.zeroSince !== undefined &&
    !input.planWarm &&
    record.awaitingCool &&
    lastOkAt !== undefined
  ) {
    next = { ...next, awaitingCool: false };
    decisions.push({
      action: "cooled",
      minutesSinceLastPing: (o.zeroSince - lastOkAt) / MINUTE_MS,
      reason: "ModelCopy reached 0 after the last ping",
    });
  }
  if (o.state === "warm" && !input.planWarm && !input.inWindow && !next.outsideReported) {
    next = { ...next, outsideReported: true };
    decisions.push({ action: "warm-outside-window", reason: outsideReason(record, input, grace) });
  }
  return { next, decisions };
}

/** Copies outside the plan: the tail of keepwarm's own last ping, or someone else's calls. */
function outsideReason(
  record: WarmRecord,
  input: {
    readonly now: number;
    readonly evictionDelayMs: number;
    readonly nextWindowStart?: number | undefined;
  },
  grace: number,
): string {
  const { lastOkAt } = record;
  if (lastOkAt === undefined) {
    return "copies outside every window and before keepwarm's first ping: traffic from elsewhere";
  }
  const next = input.nextWindowStart;
  if (next !== undefined && lastOkAt < next && next - input.now <= input.evictionDelayMs) {
    return `the warm-up of the window opening at ${new Date(next).toISOString()}, sent earlier than the plan now has it (its timings changed): the copy stays up until the window opens`;
  }
  const tail = input.now - lastOkAt <= input.evictionDelayMs + grace + 5 * MINUTE_MS;
  return tail
    ? "the tail of the last ping: Bedrock keeps a copy until its idle eviction"
    : "copies outside every window and long after keepwarm's last ping: traffic from elsewhere";
}

/**
 * A ping that succeeded: the model is warm from `at`, and its eviction is to be measured;
 * `restoringSince` is the start of the restore it rode out, if any.
 */
export function afterPingOk(
  record: WarmRecord,
  at: number,
  reason: string,
  restoringSince: number | undefined,
): WarmRecord {
  return {
    ...record,
    lastOkAt: at,
    lastPing: { at, result: "ok", reason },
    awaitingCool: true,
    failedSinceOk: false,
    modelMissing: false,
    lastRestore:
      restoringSince === undefined ? record.lastRestore : { start: restoringSince, end: at },
  };
}

/** A request that failed, whatever follows from it; a cold model's answer is no failure of keepwarm's. */
export function afterPingFailure(
  record: WarmRecord,
  at: number,
  reason: string,
  result: PingResult,
): WarmRecord {
  return {
    ...record,
    lastPing: { at, result, reason },
    failedSinceOk: record.failedSinceOk || result !== "not-ready",
  };
}

/**
 * AWS rejected a ping for good: no recovery pings until the next planned one; `modelMissing`
 * when it said the model does not exist.
 */
export function afterRejection(record: WarmRecord, modelMissing = false): WarmRecord {
  return { ...record, rejectedSincePlannedPing: true, modelMissing };
}

/**
 * Delay before the next request of a retry loop. Cold starts are ridden out every ~5 s;
 * throttling and server faults back off exponentially (full jitter over the upper half).
 */
export function retryDelay(
  kind: AwsFailureKind,
  step: number,
  timing: ControllerTiming,
  random: () => number,
): number {
  if (kind === "not-ready") return Math.round(timing.coldRetryMs * (0.8 + 0.4 * random()));
  const ceiling = Math.min(timing.backoffCapMs, timing.backoffBaseMs * 2 ** Math.max(0, step - 1));
  return Math.round(ceiling * (0.5 + 0.5 * random()));
}

export function resultOf(kind: AwsFailureKind): PingResult {
  switch (kind) {
    case "not-ready":
    case "throttled":
    case "unavailable":
      return kind;
    default:
      return "rejected";
  }
}
