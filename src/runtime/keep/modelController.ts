import type { RegionClients } from "../../aws/clients.js";
import {
  AwsCallError,
  type AwsFailureKind,
  isTransient,
  RequestTimeoutError,
} from "../../aws/errors.js";
import { INVOKE_ACTION, invokePing } from "../../aws/invoke.js";
import type { CopyPoint } from "../../aws/metrics.js";
import { formatDuration as minutes } from "../../domain/format.js";
import type { Interval } from "../../domain/interval.js";
import { isInWindow, type ModelPlan, planModel } from "../../domain/plan.js";
import {
  describeTiming,
  type EvictionSample,
  evictionFromZero,
  isIdleEviction,
  lastCallAt,
  type ModelObservations,
  type ModelTimings,
  resolveTimings,
  sameBillingSamples,
  sameTimings,
  timingFields,
} from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import { HOUR_MS, MINUTE_MS, SECOND_MS } from "../../domain/units.js";
import type { Cancel, RuntimeClock } from "../infra/clock.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver, PingResult, WarmState } from "../infra/observer.js";
import type { InvokePacer, RequestLimiter } from "../infra/rateLimiter.js";
import type { CopyHistory } from "../spend/copyHistory.js";
import type { LearnedTimings } from "../state/learnedTimings.js";
import type { LastPing } from "./status.js";

/** Timing of the controller's loops: cold-start retries every 5 s, capped backoff, hourly repeats. */
export interface ControllerTiming {
  /** Cold-start retry interval (jittered by +-20%). */
  readonly coldRetryMs: number;
  /** First step of the backoff after ThrottlingException or a server fault. */
  readonly backoffBaseMs: number;
  /** Longest backoff step. */
  readonly backoffCapMs: number;
  /** ModelCopy datapoints appear this long after their minute ends (facts §6). */
  readonly publishDelayMs: number;
  /** The same operator-facing problem is logged again after this long at the earliest. */
  readonly problemRepeatMs: number;
  /** How far ahead the plan is computed at once. */
  readonly planHorizonMs: number;
  /**
   * A ping unanswered after this long (real time: a stalled connection) is abandoned and
   * retried with backoff; without it the model's retry loop, and a request slot, would wait forever.
   */
  readonly pingTimeoutMs: number;
}

export const DEFAULT_TIMING: ControllerTiming = Object.freeze({
  coldRetryMs: 5 * SECOND_MS,
  backoffBaseMs: 2 * SECOND_MS,
  backoffCapMs: 2 * MINUTE_MS,
  publishDelayMs: 2 * MINUTE_MS,
  problemRepeatMs: HOUR_MS,
  planHorizonMs: 24 * HOUR_MS,
  pingTimeoutMs: MINUTE_MS,
});

/** A step the controller decided to take, with the reason its log line prints. */
export type Decision =
  | { readonly action: "ping"; readonly reason: string }
  | { readonly action: "skip"; readonly reason: string }
  | { readonly action: "recover"; readonly reason: string; readonly minutesAtZero: number }
  | { readonly action: "cooled"; readonly reason: string; readonly minutesSinceLastPing: number }
  | { readonly action: "warm-outside-window"; readonly reason: string };

/**
 * What to do when planned ping instants have come due. A suspend or a clock jump can make
 * several due at once: one ping goes out, never a burst, and only while the last of them
 * still has a duty (its cadence has not run out) or a window is open.
 */
export function decideDuePings(input: {
  readonly due: readonly number[];
  readonly now: number;
  readonly cadenceMs: number;
  readonly inWindow: boolean;
  readonly attemptInProgress: boolean;
}): Decision {
  const { due, now, cadenceMs, inWindow, attemptInProgress } = input;
  const latest = due[due.length - 1];
  if (latest === undefined) return { action: "skip", reason: "no planned ping is due" };
  if (attemptInProgress) {
    return { action: "skip", reason: "an earlier ping is still retrying; one request at a time" };
  }
  const late = now - latest;
  if (due.length === 1 && late < cadenceMs) return { action: "ping", reason: "planned" };
  if (late >= cadenceMs && !inWindow) {
    return {
      action: "skip",
      reason: `${due.length} planned ping(s) missed (clock jump or suspend); their warm span is over`,
    };
  }
  return {
    action: "ping",
    reason: `${due.length} planned ping(s) missed (clock jump or suspend); sending one now`,
  };
}

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

export function readObservation(
  points: readonly CopyPoint[],
  lastOkAt: number | undefined,
): Observation {
  const latest = points[points.length - 1];
  if (!latest)
    return { state: "unknown", copies: undefined, latestAt: undefined, zeroSince: undefined };
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
export function decideObservation(input: {
  readonly now: number;
  readonly observation: Observation;
  readonly inWindow: boolean;
  /** Start of the window `now` is in: zeros from before it were no one's concern. */
  readonly windowStart?: number | undefined;
  /** The plan wants the model warm now (window, lead time or the last ping's cadence). */
  readonly planWarm: boolean;
  readonly attemptInProgress: boolean;
  /** A ping was rejected (IAM, request) since the last planned one: recovering would only repeat it. */
  readonly rejectedSincePlannedPing?: boolean;
  readonly lastOkAt: number | undefined;
  readonly lastRecoveryAt: number | undefined;
  readonly awaitingCool: boolean;
  readonly outsideReported: boolean;
  readonly evictionDelayMs: number;
  readonly publishDelayMs: number;
  readonly restoreMs: number;
}): Decision[] {
  const { now, observation: o, lastOkAt } = input;
  const decisions: Decision[] = [];
  const grace = input.publishDelayMs + input.restoreMs;
  if (
    o.zeroSince !== undefined &&
    input.inWindow &&
    !input.attemptInProgress &&
    !input.rejectedSincePlannedPing
  ) {
    const atZero = now - Math.max(o.zeroSince, input.windowStart ?? -Infinity);
    const recentlyRecovered =
      input.lastRecoveryAt !== undefined && now - input.lastRecoveryAt <= grace;
    if (atZero > grace && !recentlyRecovered) {
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
    input.awaitingCool &&
    lastOkAt !== undefined
  ) {
    decisions.push({
      action: "cooled",
      minutesSinceLastPing: (o.zeroSince - lastOkAt) / MINUTE_MS,
      reason: "ModelCopy reached 0 after the last ping",
    });
  }
  if (o.state === "warm" && !input.planWarm && !input.inWindow && !input.outsideReported) {
    const tail =
      lastOkAt !== undefined && now - lastOkAt <= input.evictionDelayMs + grace + 5 * MINUTE_MS;
    decisions.push({
      action: "warm-outside-window",
      reason: tail
        ? "the tail of the last ping: Bedrock keeps a copy until its idle eviction"
        : "copies outside every window and long after keepwarm's last ping: traffic from elsewhere",
    });
  }
  return decisions;
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

/** Counters of one model, for the daily summary and `simulate`. */
export interface ModelCounters {
  pingsOk: number;
  pingsFailed: number;
  /** InvokeModel requests sent, retries included. */
  requests: number;
  coldStarts: number;
  /** Of those, the ones met inside a window: a user's call would have met them too. */
  coldStartsInWindow: number;
  /** Windows whose first minute ModelCopy showed with no copy up. */
  windowsOpenedCold: number;
  restoreSeconds: number[];
  evictionMinutes: number[];
  recoveries: number;
}

function emptyCounters(): ModelCounters {
  return {
    pingsOk: 0,
    pingsFailed: 0,
    requests: 0,
    coldStarts: 0,
    coldStartsInWindow: 0,
    windowsOpenedCold: 0,
    restoreSeconds: [],
    evictionMinutes: [],
    recoveries: 0,
  };
}

interface Attempt {
  readonly reason: string;
  readonly startedAt: number;
  requests: number;
  backoffStep: number;
  firstNotReadyAt: number | undefined;
  cancelRetry: Cancel | undefined;
}

export interface ControllerDeps {
  readonly limiter: RequestLimiter;
  /** Paces every InvokeModel request, retries included, on the monotonic clock. */
  readonly pacer: InvokePacer;
  readonly clock: RuntimeClock;
  readonly logger: Logger;
  readonly clients: RegionClients;
  readonly observer: DaemonObserver;
  readonly random: () => number;
  readonly timing: ControllerTiming;
  /** What has been measured on every model, persisted in the state directory. */
  readonly learned: LearnedTimings;
}

/**
 * Keeps one model warm: pings at the plan's instants, rides out cold starts, backs off
 * under throttling, and reconciles what ModelCopy shows with what the plan wants. Every
 * step is a Decision whose reason is logged.
 */
export class ModelController {
  #config: ResolvedConfig;
  #model: ModelConfig;
  readonly #deps: ControllerDeps;
  readonly log: Logger;

  /** Custom model units per copy; undefined while unknown (spend is then unknown). */
  cmu: number | undefined;
  cmuProblem: string | undefined;
  history: CopyHistory;
  readonly total: ModelCounters = emptyCounters();
  day: ModelCounters = emptyCounters();

  #timings: ModelTimings;
  /** The window whose opening is still to be checked against ModelCopy, by its start. */
  #openingToCheck: number | undefined;
  /** Successful-call minutes CloudWatch `Invocations` showed lately, ascending. */
  #invocationMinutes: number[] = [];
  /** The last call whose eviction ModelCopy has measured, and the one a cold ping has bounded. */
  #evictionMeasuredFor: number | undefined;
  #evictionBoundedFor: number | undefined;
  #plan: ModelPlan | undefined;
  #planRange: Interval | undefined;
  #lastDue: number;
  #cancelPing: Cancel | undefined;
  #cancelKeepAlive: Cancel | undefined;
  /** Monotonic reading at the last successful ping: keep-alive spacing ignores clock steps. */
  #lastOkMonotonic: number | undefined;
  #attempt: Attempt | undefined;
  /** The latest restore ridden out: from its first ModelNotReadyException to the success. */
  #lastRestore: { readonly from: number; readonly to: number } | undefined;
  #inFlight: Promise<void> | undefined;
  #abort = new AbortController();
  #stopped = false;

  lastOkAt: number | undefined;
  /** The last ping that ended (success or a failure that ended its attempt or a request). */
  lastPing: LastPing | undefined;
  /** Since when `observation.state` has been what it is. */
  stateSince: number | undefined;
  /** Instants of the cold starts of the last two days, ascending. */
  readonly coldStartsAt: number[] = [];
  #lastRecoveryAt: number | undefined;
  #awaitingCool = false;
  #outsideReported = false;
  #rejected = false;
  observation: Observation = {
    state: "unknown",
    copies: undefined,
    latestAt: undefined,
    zeroSince: undefined,
  };
  readonly #problemLoggedAt = new Map<string, number>();

  constructor(
    config: ResolvedConfig,
    model: ModelConfig,
    history: CopyHistory,
    deps: ControllerDeps,
  ) {
    this.#config = config;
    this.#model = model;
    this.#deps = deps;
    this.history = history;
    this.cmu = model.customModelUnits;
    this.#lastDue = deps.clock.now();
    this.log = deps.logger.child({ model: model.name, policy: model.policy });
    this.#timings = this.#resolveTimings();
  }

  get model(): ModelConfig {
    return this.#model;
  }

  get config(): ResolvedConfig {
    return this.#config;
  }

  /** The timings the model is planned with now (learned, configured or assumed). */
  get timings(): ModelTimings {
    return this.#timings;
  }

  /** What has been measured on this model (restores and evictions), for status and summaries. */
  get observations(): ModelObservations {
    return this.#deps.learned.observationsOf(this.#model.name, this.#model.modelArn);
  }

  get attemptInProgress(): boolean {
    return this.#attempt !== undefined;
  }

  /** The ping in flight, if any: shutdown waits for it. */
  get inFlight(): Promise<void> | undefined {
    return this.#inFlight;
  }

  /**
   * Starts scheduling. A start inside a planned warm span (the last planned ping's cadence
   * has not run out) sends one ping at once, so a restart mid-window heals without waiting.
   */
  start(): void {
    const now = this.#deps.clock.now();
    this.#deps.observer.timings?.(this.#model.name, timingSeconds(this.#timings));
    this.#logTimings("the daemon started", undefined);
    // A ping planned for this very instant counts as the one to send now.
    const previous = this.#pingsIn({ start: now - this.#timings.cadence.ms, end: now + 1 });
    this.#lastDue = now;
    if (previous.length > 0)
      this.#carryOut({ action: "ping", reason: "started inside a planned warm span" });
    this.#scheduleNext();
  }

  /** Takes a new config for this model from the next instant on; counters and history stay. */
  reconfigure(config: ResolvedConfig, model: ModelConfig): void {
    this.#config = config;
    this.#model = model;
    if (model.customModelUnits !== undefined) {
      this.cmu = model.customModelUnits;
      this.cmuProblem = undefined;
    }
    this.#plan = undefined;
    this.#planRange = undefined;
    this.#refreshTimings("the configuration changed", false);
    const attempt = this.#attempt;
    if (attempt && !this.planWarm(this.#deps.clock.now())) {
      // A retry loop for a warm span the new plan no longer has would keep waking the model.
      attempt.cancelRetry?.();
      this.#attempt = undefined;
      this.log.info(
        {
          event: "ping-skipped",
          reason: `${attempt.reason}: retries stopped, the new config does not want the model warm now`,
        },
        "ping skipped",
      );
    }
    // A ping the new plan has at this very instant still goes out, unless it just did.
    this.#lastDue = Math.max(this.#lastDue, this.#deps.clock.now() - 1);
    this.#cancelPing?.();
    this.#scheduleNext();
  }

  /** Stops scheduling; a request in flight runs on until `abort()`. */
  stop(): void {
    this.#stopped = true;
    this.#cancelPing?.();
    this.#cancelKeepAlive?.();
    this.#attempt?.cancelRetry?.();
  }

  abort(): void {
    this.#abort.abort();
  }

  /** The plan over an interval around `t`, cached for the plan horizon. */
  planAround(t: number): ModelPlan {
    const range = this.#planRange;
    const { cadence, evictionDelay } = this.#timings;
    if (!this.#plan || !range || t < range.start || t >= range.end - cadence.ms) {
      const start = t - cadence.ms - evictionDelay.ms;
      this.#planRange = { start, end: t + this.#deps.timing.planHorizonMs };
      this.#plan = planModel(this.#config, this.#model, this.#planRange, this.#timings);
    }
    return this.#plan;
  }

  inWindow(t: number): boolean {
    return isInWindow(this.planAround(t), t);
  }

  /** True while the plan wants the model warm: in a window, or within the last planned ping's cadence. */
  planWarm(t: number): boolean {
    if (this.inWindow(t)) return true;
    const plan = this.planAround(t);
    return plan.pings.some((p) => p <= t && t < p + this.#timings.cadence.ms);
  }

  /**
   * Takes the latest ModelCopy datapoints of this model (ascending), and the minutes with
   * successful calls that `Invocations` shows, and acts on them.
   */
  observe(points: readonly CopyPoint[], invocations: readonly CopyPoint[] = []): void {
    // A poll in flight when a reload removed the model must neither ping it nor revive its gauges.
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    this.history.merge(points, now);
    this.#noteInvocations(invocations, now);
    this.#refreshTimings("measurements aged out", true);
    // A cold, idle model has no datapoints at all: its last known 0 still holds.
    const lastKnown = this.history.latest();
    const seen = points.length === 0 && lastKnown?.copies === 0 ? [lastKnown] : points;
    const o = readObservation(seen, this.lastOkAt);
    const previous = this.observation;
    this.observation = o;
    if (o.state !== previous.state) {
      this.stateSince = o.latestAt ?? now;
      this.log.info(
        {
          event: "observed",
          state: o.state,
          previousState: previous.state,
          copies: o.copies ?? null,
          datapointAt: isoOrNull(o.latestAt),
        },
        `ModelCopy: ${o.state}${o.copies === undefined ? "" : ` (${o.copies} ${o.copies === 1 ? "copy" : "copies"})`}`,
      );
    }
    const { observer } = this.#deps;
    if (o.copies !== undefined) observer.modelCopies(this.#model.name, o.copies);
    if (o.latestAt !== undefined) observer.copyDatapointAt?.(this.#model.name, o.latestAt);
    observer.warmState(this.#model.name, o.state);
    this.#measureEvictionFromZero(o, now);
    const inWindow = this.inWindow(now);
    const planWarm = this.planWarm(now);
    observer.planState?.(this.#model.name, { inWindow, planWarm });
    this.#checkOpening(now);
    if (o.state !== "warm" || planWarm) this.#outsideReported = false;
    const decisions = decideObservation({
      now,
      observation: o,
      inWindow,
      windowStart: this.planAround(now).windows.find((w) => w.start <= now && now < w.end)?.start,
      planWarm,
      attemptInProgress: this.attemptInProgress,
      rejectedSincePlannedPing: this.#rejected,
      lastOkAt: this.lastOkAt,
      lastRecoveryAt: this.#lastRecoveryAt,
      awaitingCool: this.#awaitingCool,
      outsideReported: this.#outsideReported,
      evictionDelayMs: this.#timings.evictionDelay.ms,
      publishDelayMs: this.#deps.timing.publishDelayMs,
      restoreMs: this.#timings.restore.ms,
    });
    for (const d of decisions) this.#carryOut(d);
  }

  #resolveTimings(): ModelTimings {
    return resolveTimings(this.#model.timing, this.observations, this.#deps.clock.now());
  }

  /**
   * Re-derives the timings from what has been measured; when they change, logs the change
   * with the measurements behind it and replans from now on (the rest of a window included).
   */
  #refreshTimings(why: string, reschedule: boolean): void {
    const previous = this.#timings;
    const next = this.#resolveTimings();
    const same = sameTimings(previous, next);
    if (same && sameBillingSamples(previous, next)) return;
    this.#timings = next;
    this.#plan = undefined;
    this.#planRange = undefined;
    this.timingsVersion++;
    // New restore or eviction samples move only where the projection starts or ends each
    // run's bill.
    if (same) return;
    this.#logTimings(why, previous);
    this.#deps.observer.timings?.(this.#model.name, timingSeconds(next));
    this.#checkContradictions();
    if (reschedule && !this.#stopped) {
      // Planned instants already past on the new grid are not "missed": the next one counts.
      this.#lastDue = Math.max(this.#lastDue, this.#deps.clock.now());
      this.#cancelPing?.();
      this.#scheduleNext();
    }
  }

  /** The `timings` line: the timings now, those before, and the measurements behind them. */
  #logTimings(why: string, previous: ModelTimings | undefined): void {
    const next = this.#timings;
    const recent = this.observations;
    this.log.info(
      {
        event: "timings",
        reason: why,
        previous: previous === undefined ? null : timingFields(previous),
        timings: timingFields(next),
        evictions: recent.evictions.map((s) => ({
          minutes: round1(s.ms / MINUTE_MS),
          bound: s.bound,
          lastCallAt: new Date(s.lastCallAt).toISOString(),
          at: new Date(s.at).toISOString(),
        })),
        restoresSeconds: recent.restores.map((s) => round1(s.ms / SECOND_MS)),
      },
      `timings: cadence ${describeTiming(next.cadence)}, lead ${describeTiming(next.leadTime)}, eviction ${describeTiming(next.evictionDelay)}, restore ${describeTiming(next.restore)}`,
    );
  }

  /** Bumped whenever the timings change, so cached projections know to recompute. */
  timingsVersion = 0;

  /** A fixed setting that the measurements contradict is obeyed, and said so at most hourly. */
  #checkContradictions(): void {
    const setting = this.#model.timing;
    const learned = resolveTimings(
      { cadence: { mode: "auto" }, leadTime: { mode: "auto" }, evictionDelay: { mode: "auto" } },
      this.observations,
      this.#deps.clock.now(),
    );
    const problems: { setting: string; configured: number; measured: string; fix: string }[] = [];
    if (learned.evictionDelay.source === "learned") {
      const eviction = learned.evictionDelay.ms;
      if (setting.cadence.mode === "fixed" && setting.cadence.ms >= eviction) {
        problems.push({
          setting: "cadence",
          configured: setting.cadence.ms,
          measured: `evicted ${minutes(eviction)} after a call`,
          fix: `set cadence to ${minutes(learned.cadence.ms)} or auto`,
        });
      }
      if (
        setting.evictionDelay.mode === "fixed" &&
        Math.abs(setting.evictionDelay.ms - eviction) > 2 * MINUTE_MS
      ) {
        problems.push({
          setting: "evictionDelay",
          configured: setting.evictionDelay.ms,
          measured: `evicted ${minutes(eviction)} after a call`,
          fix: `set evictionDelay to ${minutes(eviction)} or auto`,
        });
      }
    }
    if (
      learned.restore.source === "learned" &&
      setting.leadTime.mode === "fixed" &&
      setting.leadTime.ms < learned.restore.ms
    ) {
      problems.push({
        setting: "leadTime",
        configured: setting.leadTime.ms,
        measured: `a restore took ${round1(learned.restore.ms / SECOND_MS)} s`,
        fix: `set leadTime to ${minutes(learned.leadTime.ms)} or auto`,
      });
    }
    for (const p of problems) {
      this.reportProblem(
        `timings:${p.setting}`,
        {
          event: "timings-contradicted",
          setting: p.setting,
          configured: minutes(p.configured),
          measured: p.measured,
          fix: p.fix,
          repeat: "at most hourly",
        },
        `${p.setting} ${minutes(p.configured)} is obeyed, but ${p.measured}: ${p.fix}`,
        "warn",
      );
    }
  }

  /** Keeps the minutes `Invocations` showed calls in over the last two hours. */
  #noteInvocations(points: readonly CopyPoint[], now: number): void {
    const keepFrom = now - 2 * HOUR_MS;
    const minutesWithCalls = new Set(this.#invocationMinutes.filter((t) => t >= keepFrom));
    for (const p of points) if (p.copies > 0 && p.t >= keepFrom) minutesWithCalls.add(p.t);
    this.#invocationMinutes = [...minutesWithCalls].sort((a, b) => a - b);
  }

  /** ModelCopy fell to 0 after a successful call: that is an eviction, measured to the minute. */
  #measureEvictionFromZero(o: Observation, now: number): void {
    if (o.zeroSince === undefined) return;
    const last = lastCallAt(this.lastOkAt, this.#invocationMinutes, o.zeroSince);
    if (last === undefined || last === this.#evictionMeasuredFor) return;
    const ms = evictionFromZero(last, o.zeroSince);
    if (ms === undefined) return;
    this.#evictionMeasuredFor = last;
    this.#addEviction(
      { at: now, lastCallAt: last, ms, bound: "measured" },
      {
        zeroSince: new Date(o.zeroSince).toISOString(),
        source: "ModelCopy fell to 0",
      },
    );
  }

  /** A ping met a cold model after a successful call: the eviction came at the latest by then. */
  #boundEvictionFromColdPing(sentAt: number): void {
    const last = lastCallAt(this.lastOkAt, this.#invocationMinutes, sentAt);
    if (
      last === undefined ||
      last === this.#evictionBoundedFor ||
      last === this.#evictionMeasuredFor
    )
      return;
    this.#evictionBoundedFor = last;
    this.#addEviction(
      { at: sentAt, lastCallAt: last, ms: sentAt - last, bound: "at-most" },
      {
        pingAt: new Date(sentAt).toISOString(),
        source: "a ping met ModelNotReadyException",
      },
    );
  }

  #addEviction(sample: EvictionSample, inputs: Record<string, unknown>): void {
    const { learned } = this.#deps;
    learned.addEviction(this.#model.name, this.#model.modelArn, sample);
    this.log.info(
      {
        event: "measured",
        measure: "eviction",
        bound: sample.bound,
        minutes: round1(sample.ms / MINUTE_MS),
        lastCallAt: new Date(sample.lastCallAt).toISOString(),
        lastPingOkAt: isoOrNull(this.lastOkAt),
        ...inputs,
        ...(isIdleEviction(sample)
          ? {}
          : {
              planned: false,
              why: "too soon after a call for an idle eviction (Bedrock moved or replaced the copy); not planned from",
            }),
      },
      `eviction ${sample.bound === "at-most" ? "at most " : ""}${round1(sample.ms / MINUTE_MS)} min after the last call`,
    );
    this.#refreshTimings(`eviction measured (${sample.bound})`, true);
  }

  /**
   * When a window has opened, ModelCopy's datapoint of its first minute says whether users
   * met a warm model; it is read once it is published.
   */
  #checkOpening(now: number): void {
    const plan = this.planAround(now);
    const open = plan.windows.find((w) => w.start <= now && now < w.end);
    if (open && open.start > now - HOUR_MS && open.start !== this.#openingChecked) {
      this.#openingToCheck = open.start;
    }
    const start = this.#openingToCheck;
    if (start === undefined) return;
    const minute = Math.floor(start / MINUTE_MS) * MINUTE_MS;
    const point = this.history.pointsIn({ start: minute, end: minute + MINUTE_MS })[0];
    if (point === undefined && now - start < 15 * MINUTE_MS) return;
    this.#openingToCheck = undefined;
    this.#openingChecked = start;
    if (point === undefined) return;
    this.#deps.observer.windowOpened?.(this.#model.name, point.copies >= 1);
    if (point.copies >= 1) return;
    this.total.windowsOpenedCold++;
    this.day.windowsOpenedCold++;
    // The warm-up's cold start was logged before opening (inWindow: false); this is the line
    // that says users met it.
    const lead = this.#timings.leadTime;
    const restoring = this.#attempt?.firstNotReadyAt;
    const done = this.#lastRestore;
    const restore =
      restoring !== undefined && restoring <= start
        ? { restoreBeganAt: new Date(restoring).toISOString(), restoreSeconds: null }
        : done && done.from <= start && start < done.to
          ? {
              restoreBeganAt: new Date(done.from).toISOString(),
              restoreSeconds: round1((done.to - done.from) / SECOND_MS),
            }
          : { restoreBeganAt: null, restoreSeconds: null };
    this.log.warn(
      {
        event: "opened-cold",
        windowStart: new Date(start).toISOString(),
        ...restore,
        leadTimeSeconds: round1(lead.ms / SECOND_MS),
        leadTimeSource: lead.source,
      },
      restore.restoreBeganAt === null
        ? "window opened cold: no copy was up in its first minute and keepwarm had no restore under way"
        : "window opened cold: the warm-up's restore outlasted the lead time, so the first users waited",
    );
  }

  #openingChecked: number | undefined;

  /** Logs `message` with `fields` unless the same problem was logged within the hour. */
  reportProblem(
    key: string,
    fields: Record<string, unknown>,
    message: string,
    level: "error" | "warn" = "error",
  ): void {
    const now = this.#deps.clock.now();
    const last = this.#problemLoggedAt.get(key);
    if (last !== undefined && now - last < this.#deps.timing.problemRepeatMs) return;
    this.#problemLoggedAt.set(key, now);
    this.log[level](fields, message);
  }

  /** Counters since the last daily summary, which the summary then resets. */
  takeDay(): ModelCounters {
    const day = this.day;
    this.day = emptyCounters();
    return day;
  }

  /** Planned pings in `range`: from the cached plan when it covers the range (it is the same function). */
  #pingsIn(range: Interval): number[] {
    if (range.end <= range.start) return [];
    const cached = this.#planRange;
    if (this.#plan && cached && range.start >= cached.start && range.end <= cached.end) {
      return this.#plan.pings.filter((p) => p >= range.start && p < range.end);
    }
    return planModel(this.#config, this.#model, range, this.#timings).pings;
  }

  #scheduleNext(): void {
    if (this.#stopped) return;
    // Either timer may have fired: the other must not fire a second series.
    this.#cancelPing?.();
    this.#armKeepAlive();
    const now = this.#deps.clock.now();
    const after = Math.max(now, this.#lastDue);
    const plan = this.planAround(after);
    const next = plan.pings.find((p) => p > this.#lastDue);
    const range = this.#planRange as Interval;
    // No ping within the horizon: look again when it runs out.
    const at = next ?? range.end - this.#timings.cadence.ms;
    this.#cancelPing = this.#deps.clock.setTimer(at, () => this.#onTimer(next !== undefined));
  }

  /**
   * Plan instants are wall-clock instants, so a step back would put the next one further
   * off than the cadence: a monotonic timer makes sure a warm span never waits longer.
   */
  #armKeepAlive(): void {
    this.#cancelKeepAlive?.();
    this.#cancelKeepAlive = undefined;
    const lastOk = this.#lastOkMonotonic;
    if (this.#stopped || lastOk === undefined) return;
    const { clock } = this.#deps;
    const wait = lastOk + this.#timings.cadence.ms - clock.monotonic();
    // Run out already: the caller has just judged it; the next success arms a new one.
    if (wait <= 0) return;
    this.#cancelKeepAlive = clock.after(wait, () => this.#onTimer(true));
  }

  /**
   * Whether the plan still has pings ahead in the warm run `now` is in. After a run's closing
   * ping there are none, although its window may still be open: the model is left to cool.
   */
  #pingsAheadInRun(now: number): boolean {
    const plan = this.planAround(now);
    const run = plan.warm.find((w) => w.start <= now && now < w.end);
    return run !== undefined && plan.pings.some((p) => p > now && p < run.end);
  }

  /** Minutes since the last successful ping when the cadence has run out inside a warm span. */
  #keepAliveOverdue(now: number): number | undefined {
    const lastOk = this.#lastOkMonotonic;
    if (lastOk === undefined || this.attemptInProgress) return undefined;
    const since = this.#deps.clock.monotonic() - lastOk;
    if (since < this.#timings.cadence.ms || !this.#pingsAheadInRun(now)) return undefined;
    return since / MINUTE_MS;
  }

  #onTimer(pingDue: boolean): void {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    const due = pingDue ? this.#pingsIn({ start: this.#lastDue + 1, end: now + 1 }) : [];
    const overdue = due.length === 0 ? this.#keepAliveOverdue(now) : undefined;
    if (due.length > 0) {
      this.#lastDue = due[due.length - 1] as number;
      this.#rejected = false;
      this.#carryOut(
        decideDuePings({
          due,
          now,
          cadenceMs: this.#timings.cadence.ms,
          inWindow: this.inWindow(now),
          attemptInProgress: this.attemptInProgress,
        }),
      );
    } else if (overdue !== undefined) {
      this.#carryOut({
        action: "ping",
        reason: `keep-alive: ${round1(overdue)} min since the last successful ping (the wall clock was stepped back, or new timings moved the plan)`,
      });
    } else if (!pingDue) {
      this.#lastDue = now;
    }
    this.#scheduleNext();
  }

  #carryOut(decision: Decision): void {
    const now = this.#deps.clock.now();
    switch (decision.action) {
      case "ping":
        this.#startAttempt(decision.reason);
        return;
      case "skip":
        this.log.info({ event: "ping-skipped", reason: decision.reason }, "ping skipped");
        return;
      case "recover":
        this.#lastRecoveryAt = now;
        this.total.recoveries++;
        this.day.recoveries++;
        this.log.warn(
          {
            event: "not-warm",
            reason: decision.reason,
            minutesAtZero: round1(decision.minutesAtZero),
            zeroSince: isoOrNull(this.observation.zeroSince),
          },
          "model not warm inside its window; recovery ping",
        );
        this.#startAttempt("recovery: ModelCopy at 0 inside a window");
        return;
      case "cooled": {
        this.#awaitingCool = false;
        const minutes = decision.minutesSinceLastPing;
        this.total.evictionMinutes.push(minutes);
        this.day.evictionMinutes.push(minutes);
        this.log.info(
          {
            event: "cooled",
            reason: decision.reason,
            minutesSinceLastPing: round1(minutes),
            lastPingAt: isoOrNull(this.lastOkAt),
            zeroSince: isoOrNull(this.observation.zeroSince),
          },
          `cooled ${round1(minutes)} min after the last ping`,
        );
        return;
      }
      case "warm-outside-window":
        this.#outsideReported = true;
        this.log.info(
          {
            event: "warm-outside-window",
            reason: decision.reason,
            copies: this.observation.copies,
            minutesSinceLastPing:
              this.lastOkAt === undefined ? null : round1((now - this.lastOkAt) / MINUTE_MS),
          },
          "copies up outside every window",
        );
        return;
    }
  }

  #startAttempt(reason: string): void {
    if (this.#stopped) return;
    if (this.#attempt) {
      this.log.info(
        { event: "ping-skipped", reason: `${reason}; an earlier ping is still retrying` },
        "ping skipped",
      );
      return;
    }
    this.#attempt = {
      reason,
      startedAt: this.#deps.clock.now(),
      requests: 0,
      backoffStep: 0,
      firstNotReadyAt: undefined,
      cancelRetry: undefined,
    };
    this.#send();
  }

  #send(): void {
    const attempt = this.#attempt;
    if (!attempt) return;
    // Waiting for the rate here, outside tracked work, lets a virtual clock reach the token.
    // Cancelling a request already sent is harmless.
    attempt.cancelRetry = this.#deps.pacer.schedule(() => {
      if (this.#stopped || this.#attempt !== attempt) return;
      this.#dispatch(attempt);
    }, this.#needBy(attempt));
  }

  /**
   * When this request's model must be answering, which orders the requests waiting for the
   * rate: a model warm from a recent ping has until its idle eviction, a cold one none; a
   * retry only asks whether a restore under way is done, so it waits behind both.
   */
  #needBy(attempt: Attempt): number {
    const now = this.#deps.clock.now();
    const { cadence, evictionDelay } = this.#timings;
    if (attempt.requests > 0) return now + cadence.ms;
    const lastOk = this.lastOkAt;
    const warmUntil = lastOk === undefined ? now : lastOk + evictionDelay.ms;
    return Math.max(now, warmUntil);
  }

  #dispatch(attempt: Attempt): void {
    const work = this.#request(attempt);
    this.#inFlight = work;
    void this.#deps.clock.track(work).finally(() => {
      if (this.#inFlight === work) this.#inFlight = undefined;
    });
  }

  async #request(attempt: Attempt): Promise<void> {
    const { clock, clients, observer } = this.#deps;
    const model = this.#model;
    let sentAt = clock.now();
    attempt.requests++;
    this.total.requests++;
    this.day.requests++;
    try {
      await this.#deps.limiter.run(async () => {
        sentAt = clock.now();
        const request = new AbortController();
        const abort = () => request.abort();
        const timeoutMs = this.#deps.timing.pingTimeoutMs;
        const timer = setTimeout(
          () => request.abort(new RequestTimeoutError(timeoutMs)),
          timeoutMs,
        );
        this.#abort.signal.addEventListener("abort", abort);
        try {
          return await invokePing(clients.runtime, model.modelArn, model.request, {
            signal: request.signal,
          });
        } finally {
          clearTimeout(timer);
          this.#abort.signal.removeEventListener("abort", abort);
        }
      });
    } catch (error) {
      const failure =
        error instanceof AwsCallError
          ? error
          : new AwsCallError(INVOKE_ACTION, model.modelArn, error);
      this.#onFailure(attempt, sentAt, failure);
      return;
    }
    const now = clock.now();
    observer.pingResult(model.name, "ok");
    observer.pingOkAt?.(model.name, now);
    this.total.pingsOk++;
    this.day.pingsOk++;
    this.lastOkAt = now;
    this.lastPing = { at: now, result: "ok", reason: attempt.reason };
    this.#lastOkMonotonic = clock.monotonic();
    this.#armKeepAlive();
    this.#awaitingCool = true;
    if (this.#attempt === attempt) this.#attempt = undefined;
    const fields = {
      event: "ping",
      result: "ok",
      reason: attempt.reason,
      requests: attempt.requests,
      latencyMs: now - sentAt,
    };
    if (attempt.firstNotReadyAt !== undefined) {
      const seconds = (now - attempt.firstNotReadyAt) / SECOND_MS;
      this.#lastRestore = { from: attempt.firstNotReadyAt, to: now };
      this.total.restoreSeconds.push(seconds);
      this.day.restoreSeconds.push(seconds);
      observer.restoreSeconds(model.name, seconds);
      this.log.info(fields, "ping ok");
      this.#deps.learned.addRestore(model.name, model.modelArn, {
        at: now,
        ms: now - attempt.firstNotReadyAt,
      });
      this.log.info(
        { event: "warm", restoreSeconds: round1(seconds), requests: attempt.requests },
        `warm after a ${round1(seconds)} s restore`,
      );
      this.#refreshTimings("restore measured", true);
    } else {
      this.log.info(fields, "ping ok");
    }
  }

  #onFailure(attempt: Attempt, sentAt: number, error: AwsCallError): void {
    const { clock, observer } = this.#deps;
    const model = this.#model;
    const now = clock.now();
    const kind = error.kind;
    observer.pingResult(model.name, resultOf(kind));
    this.lastPing = { at: now, result: resultOf(kind), reason: attempt.reason };
    observer.awsError?.(error.action, error.awsName, kind);
    if (this.#stopped) {
      this.#attempt = undefined;
      return;
    }
    // Abandoned by a reload while in flight: a later attempt may be running.
    if (this.#attempt !== attempt) return;
    if (kind === "not-ready") {
      if (attempt.firstNotReadyAt === undefined) {
        attempt.firstNotReadyAt = sentAt;
        this.total.coldStarts++;
        this.day.coldStarts++;
        this.coldStartsAt.push(sentAt);
        while ((this.coldStartsAt[0] as number) < now - 2 * 24 * HOUR_MS) this.coldStartsAt.shift();
        observer.coldStart(model.name);
        this.#boundEvictionFromColdPing(sentAt);
        // Before a window opens a cold model is what the warm-up ping is for; inside one,
        // a user's call would have met it.
        const inWindow = this.inWindow(sentAt);
        if (inWindow) {
          this.total.coldStartsInWindow++;
          this.day.coldStartsInWindow++;
        }
        this.log[inWindow ? "warn" : "info"](
          {
            event: "cold-start",
            reason: attempt.reason,
            inWindow,
            error: describeError(error.cause),
          },
          inWindow
            ? "cold start inside a window: the model is restoring"
            : "cold start outside a window: the model is restoring",
        );
      }
      // The budget is the restore's, not the attempt's: a long backoff before the model
      // reported itself restoring must not use it up.
      if (now - attempt.firstNotReadyAt >= model.warmupTimeoutMs) {
        this.#giveUp(
          attempt,
          "warmup-timeout",
          `not warm ${round1((now - attempt.firstNotReadyAt) / MINUTE_MS)} min after the restore began`,
        );
        return;
      }
      this.#retry(attempt, kind);
      return;
    }
    if (isTransient(kind)) {
      attempt.backoffStep++;
      if (!this.planWarm(now) && now - attempt.startedAt >= model.warmupTimeoutMs) {
        this.#giveUp(attempt, "ping-failed", "the warm span this ping was for is over");
        return;
      }
      const delay = this.#retry(attempt, kind);
      this.log.warn(
        {
          event: "ping-backoff",
          reason: attempt.reason,
          error: describeError(error.cause),
          step: attempt.backoffStep,
          retryInMs: delay,
        },
        `${error.awsName}: retrying in ${round1(delay / SECOND_MS)} s`,
      );
      return;
    }
    this.#attempt = undefined;
    this.#rejected = true;
    this.total.pingsFailed++;
    this.day.pingsFailed++;
    this.reportProblem(
      `invoke:${error.awsName}`,
      {
        event: "ping-rejected",
        action: error.action,
        modelArn: model.modelArn,
        errorName: error.awsName,
        error: describeError(error.cause),
        remedy: error.remedy,
        kind,
        retry:
          kind === "model-error"
            ? "at the next planned ping"
            : "at the next planned ping; logged at most hourly",
      },
      `${error.action} on ${model.modelArn} rejected (${error.awsName}): ${error.remedy}`,
    );
  }

  #retry(attempt: Attempt, kind: AwsFailureKind): number {
    const { clock, random, timing } = this.#deps;
    const delay = retryDelay(kind, attempt.backoffStep, timing, random);
    attempt.cancelRetry = clock.setTimer(clock.now() + delay, () => {
      if (this.#stopped || this.#attempt !== attempt) return;
      this.#send();
    });
    return delay;
  }

  #giveUp(attempt: Attempt, event: "warmup-timeout" | "ping-failed", reason: string): void {
    this.#attempt = undefined;
    this.total.pingsFailed++;
    this.day.pingsFailed++;
    this.log.error(
      { event, reason, pingReason: attempt.reason, requests: attempt.requests },
      `ping given up: ${reason}`,
    );
  }
}

function resultOf(kind: AwsFailureKind): PingResult {
  switch (kind) {
    case "not-ready":
      return "not-ready";
    case "throttled":
      return "throttled";
    case "unavailable":
      return "unavailable";
    default:
      return "rejected";
  }
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

function timingSeconds(t: ModelTimings) {
  return {
    cadenceSeconds: t.cadence.ms / SECOND_MS,
    leadTimeSeconds: t.leadTime.ms / SECOND_MS,
    evictionDelaySeconds: t.evictionDelay.ms / SECOND_MS,
    restoreSeconds: t.restore.ms / SECOND_MS,
  };
}

function isoOrNull(t: number | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}
