import type { RegionClients } from "../../aws/clients.js";
import type { AwsCallError } from "../../aws/errors.js";
import type { CopyPoint } from "../../aws/metrics.js";
import { round1 } from "../../domain/format.js";
import type { ModelPlan } from "../../domain/plan.js";
import type { RestoreVerdict, RiddenRestore } from "../../domain/restoreCheck.js";
import type { ModelObservations, ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { RuntimeClock } from "../infra/clock.js";
import type { Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import { ProblemLog } from "../infra/problemLog.js";
import type { InvokePacer, PaceRequest, RequestLimiter } from "../infra/rateLimiter.js";
import type { CopyReader } from "../spend/spendBook.js";
import type { LearnedTimings } from "../state/learnedTimings.js";
import { Counters } from "./counters.js";
import {
  type Decision,
  decideDuePings,
  decideObservation,
  INITIAL_WARM_RECORD,
  readObservation,
  type WarmRecord,
} from "./decide.js";
import { logPingSkipped, reportDecision, reportObservation } from "./decisionReports.js";
import type { ControllerTiming } from "./loopTiming.js";
import { OpeningCheck } from "./openingCheck.js";
import { PingAttempt } from "./pingAttempt.js";
import { PingOutcomes } from "./pingOutcomes.js";
import { PingSchedule } from "./pingSchedule.js";
import { TimingsTracker } from "./timingsTracker.js";
import { WarmShare } from "./warmShare.js";

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
  readonly copies: CopyReader;
}

/**
 * Keeps one model warm: pings at the plan's instants, rides out cold starts, backs off
 * under throttling, and reconciles what ModelCopy shows with what the plan wants. It owns
 * the model's warm state (one record); each step is a Decision whose reason is logged.
 */
export class ModelController {
  #config: ResolvedConfig;
  #model: ModelConfig;
  readonly #deps: ControllerDeps;
  readonly log: Logger;
  readonly counters = new Counters();
  #record: WarmRecord = INITIAL_WARM_RECORD;
  readonly #timings: TimingsTracker;
  readonly #schedule: PingSchedule;
  readonly #attempt: PingAttempt;
  readonly #opening: OpeningCheck;
  readonly #share: WarmShare;
  #stopped = false;

  constructor(config: ResolvedConfig, model: ModelConfig, deps: ControllerDeps) {
    this.#config = config;
    this.#model = model;
    this.#deps = deps;
    this.log = deps.logger.child({ model: model.name, policy: model.policy });
    const problems = new ProblemLog(() => deps.clock.now(), deps.timing.problemRepeatMs);
    this.#timings = new TimingsTracker(model, {
      now: () => deps.clock.now(),
      log: this.log,
      observer: deps.observer,
      learned: deps.learned,
      problems,
      checkRestores: () => (this.#config.daemon.coldCallMetric ?? "InvocationThrottles") !== "none",
      onChange: (change, reschedule) => this.#timingsChanged(change, reschedule),
    });
    this.#schedule = new PingSchedule(
      () => ({ config: this.#config, model: this.#model, timings: this.#timings.timings }),
      deps.clock,
      deps.timing.planHorizonMs,
      (pingDue) => this.#onWake(pingDue),
    );
    const outcomes = new PingOutcomes({
      model: () => this.#model,
      log: this.log,
      observer: deps.observer,
      counters: this.counters,
      timings: this.#timings,
      problems,
      inWindow: (t) => this.#schedule.inWindow(t),
    });
    this.#attempt = new PingAttempt(
      {
        clock: deps.clock,
        log: this.log,
        clients: deps.clients,
        limiter: deps.limiter,
        pacer: deps.pacer,
        timing: deps.timing,
        random: deps.random,
      },
      {
        model: () => this.#model,
        pace: (restoring) => this.#pace(restoring),
        pingDuty: (t) => this.#schedule.pingDuty(t),
        requestSent: () => this.counters.count("requests"),
        succeeded: (ok) => {
          this.#record = outcomes.succeeded(this.#record, ok);
          this.#schedule.pingOk();
          outcomes.report(ok);
        },
        requestFailed: (at, reason, error) => {
          this.#record = outcomes.requestFailed(this.#record, at, reason, error);
        },
        coldStart: (sentAt, reason, error) =>
          outcomes.coldStart(this.#record, sentAt, reason, error),
        rejected: (_reason, error: AwsCallError) => {
          this.#record = outcomes.rejected(this.#record, error);
          // Not kept warm until AWS takes its pings again: the share is for others meanwhile.
          this.#share.release();
        },
        gaveUp: () => this.counters.count("pingsFailed"),
        dropped: (reason, deadline) => outcomes.dropped(reason, deadline),
      },
    );
    this.#share = new WarmShare({ pacer: deps.pacer, log: this.log, key: () => this.#model.name });
    this.#opening = new OpeningCheck({
      log: this.log,
      observer: deps.observer,
      modelName: () => this.#model.name,
      copies: deps.copies,
      counters: this.counters,
    });
  }

  get model(): ModelConfig {
    return this.#model;
  }

  get config(): ResolvedConfig {
    return this.#config;
  }

  /** The model's warm state: the latest observation, the last ping and what follows from them. */
  get record(): WarmRecord {
    return this.#record;
  }

  /** The timings the model is planned with now (learned, configured or assumed). */
  get timings(): ModelTimings {
    return this.#timings.timings;
  }

  /** Bumped whenever the timings change, so cached projections know to recompute. */
  get timingsVersion(): number {
    return this.#timings.version;
  }

  /** What has been measured on this model (restores and evictions), for status and summaries. */
  get observations(): ModelObservations {
    return this.#timings.observations;
  }

  /** Restores ridden out that wait for CloudWatch's count of cold calls (observe/restoreChecks.ts). */
  get restoresToCheck(): readonly RiddenRestore[] {
    return this.#timings.restoresToCheck;
  }

  settleRestore(sample: RiddenRestore, verdict: RestoreVerdict | undefined, metric: string): void {
    this.#timings.settleRestore(sample, verdict, metric);
  }

  get attemptInProgress(): boolean {
    return this.#attempt.inProgress;
  }

  /** The ping in flight, if any: shutdown waits for it. */
  get inFlight(): Promise<void> | undefined {
    return this.#attempt.inFlight;
  }

  /** The plan over an interval around `t`, cached for the plan horizon. */
  planAround(t: number): ModelPlan {
    return this.#schedule.planAround(t);
  }

  inWindow(t: number): boolean {
    return this.#schedule.inWindow(t);
  }

  /** True while the schedule wants the model answering: in a window, or within a planned ping's cadence. */
  pingDuty(t: number): boolean {
    return this.#schedule.pingDuty(t);
  }

  /**
   * Starts scheduling. A start inside a planned warm span (the last planned ping's cadence
   * has not run out) sends one ping at once, so a restart mid-window heals without waiting.
   */
  start(): void {
    this.#timings.announce("the daemon started");
    if (this.#schedule.start(this.#deps.clock.now()))
      this.#carryOut({ action: "ping", reason: "started inside a planned warm span" });
    this.#schedule.scheduleNext();
  }

  /** Takes a new config for this model from the next instant on; counters and measurements stay. */
  reconfigure(config: ResolvedConfig, model: ModelConfig): void {
    this.#config = config;
    this.#model = model;
    this.#schedule.invalidate();
    this.#timings.reconfigure(model);
    const now = this.#deps.clock.now();
    if (this.#attempt.inProgress && !this.#schedule.pingDuty(now)) {
      // A retry loop for a warm span the new plan no longer has would keep waking the model.
      const reason = this.#attempt.cancel();
      logPingSkipped(
        this.log,
        `${reason}: retries stopped, the new config does not want the model warm now`,
      );
    }
    // A ping the new plan has at this very instant still goes out, unless it just did.
    this.#schedule.handledUntil(now - 1);
    this.#schedule.scheduleNext();
  }

  /** Stops scheduling; a request in flight runs on until `abort()`. */
  stop(): void {
    this.#stopped = true;
    this.#schedule.stop();
    this.#attempt.stop();
    this.#share.release();
  }

  abort(): void {
    this.#attempt.abort();
  }

  /**
   * Takes the latest ModelCopy datapoints of this model (ascending, already in the spend
   * book), and the minutes with successful calls that `Invocations` shows, read from
   * `readFrom` on, and acts on them.
   */
  observe(
    points: readonly CopyPoint[],
    invocations: readonly CopyPoint[] = [],
    readFrom?: number,
  ): void {
    // A poll in flight when a reload removed the model must neither ping it nor revive its gauges.
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    this.#timings.noteInvocations(invocations, now, readFrom);
    this.#timings.refresh("measurements aged out", true);
    // A cold, idle model has no datapoints at all: its last known 0 still holds.
    const lastKnown = this.#deps.copies.latest();
    const seen = points.length === 0 && lastKnown?.copies === 0 ? [lastKnown] : points;
    const o = readObservation(seen, this.#record.lastOkAt);
    const previous = this.#record.observation;
    const { observer } = this.#deps;
    const name = this.#model.name;
    reportObservation(this.log, observer, name, o, previous.state);
    // After failed pings the copy was let go by keepwarm's gap, not by the idle rule alone.
    if (!this.#record.failedSinceOk) {
      this.#timings.measureEvictionFromZero(o, this.#record.lastOkAt, now);
    }
    const schedule = this.#schedule;
    const inWindow = schedule.inWindow(now);
    const planWarm = schedule.pingDuty(now);
    if (!planWarm && !this.#attempt.inProgress) this.#share.release();
    observer.planState?.(name, { inWindow, planWarm });
    this.#opening.check(now, schedule.openingAt(now), {
      leadTime: this.timings.leadTime,
      restoringSince: this.#attempt.restoringSince,
      lastRestore: this.#record.lastRestore,
    });
    const decided = decideObservation(this.#record, {
      now,
      observation: o,
      inWindow,
      windowStart: schedule.windowAt(now)?.start,
      nextWindowStart: inWindow ? undefined : schedule.nextWindowAfter(now)?.start,
      planWarm,
      // A model left cold for the rate asks again at its planned pings, not by recovering.
      attemptInProgress: this.#attempt.inProgress || this.#share.leftCold,
      evictionDelayMs: this.timings.evictionDelay.ms,
      publishDelayMs: this.#deps.timing.publishDelayMs,
      restoreMs: this.timings.restore.ms,
    });
    this.#record = decided.next;
    for (const d of decided.decisions) this.#carryOut(d);
  }

  /** New timings move the plan; with `reschedule`, from now on (the rest of a window included). */
  #timingsChanged(change: "samples" | "timings", reschedule: boolean): void {
    this.#schedule.invalidate();
    if (change === "samples" || !reschedule || this.#stopped) return;
    // Planned instants already past on the new grid are not "missed": the next one counts.
    this.#schedule.handledUntil(this.#deps.clock.now());
    this.#schedule.scheduleNext();
  }

  /** A timer fired: the planned pings due, or a keep-alive whose cadence ran out. */
  #onWake(pingDue: boolean): void {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    const schedule = this.#schedule;
    const due = pingDue ? schedule.takeDue(now) : [];
    const overdue =
      due.length === 0 && !this.#attempt.inProgress ? schedule.keepAliveOverdue(now) : undefined;
    if (due.length > 0) {
      const decided = decideDuePings(this.#record, {
        due,
        now,
        cadenceMs: this.timings.cadence.ms,
        inWindow: schedule.inWindow(now),
        attemptInProgress: this.#attempt.inProgress,
      });
      this.#record = decided.next;
      for (const d of decided.decisions) this.#carryOut(d);
    } else if (overdue !== undefined) {
      const last = this.#record.lastPing;
      const why =
        last !== undefined && last.result !== "ok"
          ? `the last ping failed (${last.result})`
          : "the wall clock was stepped back, or new timings moved the plan";
      this.#carryOut({
        action: "ping",
        reason: `keep-alive: ${round1(overdue / MINUTE_MS)} min since the last successful ping (${why})`,
      });
    } else if (!pingDue) {
      schedule.rest(now);
    }
    schedule.scheduleNext();
  }

  /** Performs a decision's effects; the record already holds its next state. */
  #carryOut(decision: Decision): void {
    if (decision.action === "ping") {
      this.#startAttempt(decision.reason);
      return;
    }
    reportDecision(this.log, this.counters, decision, this.#record, () => this.#deps.clock.now());
    if (decision.action === "recover")
      this.#startAttempt("recovery: ModelCopy at 0 inside a window");
  }

  #startAttempt(reason: string): void {
    if (this.#stopped) return;
    if (!this.#attempt.inProgress && !this.#share.claim(this.timings.cadence.ms, reason)) return;
    if (this.#attempt.start(reason)) return;
    logPingSkipped(this.log, `${reason}; an earlier ping is still retrying`);
  }

  /**
   * How urgent this request is: a keep-alive of a model warm from a recent ping has until
   * its idle eviction, and is dropped past it; a cold model's wake-up is needed now; a retry
   * only asks whether a restore under way is done, so it waits behind both.
   */
  #pace(restoring: boolean): PaceRequest {
    const now = this.#deps.clock.now();
    if (restoring) return { priority: "retry", needBy: now };
    const lastOk = this.#record.lastOkAt;
    const warmUntil = lastOk === undefined ? now : lastOk + this.timings.evictionDelay.ms;
    if (warmUntil > now) return { priority: "keep-alive", needBy: warmUntil, deadline: warmUntil };
    return { priority: "wake", needBy: now };
  }
}

/** Controllers in the order their models need to be warm: open windows first, then the next lead. */
export function byUrgency(controllers: readonly ModelController[], now: number): ModelController[] {
  const needAt = (c: ModelController) =>
    c.pingDuty(now) ? now : (c.planAround(now).pings.find((p) => p > now) ?? Infinity);
  return controllers
    .map((c) => ({ c, at: needAt(c) }))
    .sort((a, b) => a.at - b.at)
    .map((e) => e.c);
}
