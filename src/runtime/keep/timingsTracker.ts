import type { CopyPoint } from "../../aws/metrics.js";
import { formatDuration as minutes, round1 } from "../../domain/format.js";
import type { RestoreVerdict, RiddenRestore } from "../../domain/restoreCheck.js";
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
import type { ModelConfig } from "../../domain/types.js";
import { HOUR_MS, MINUTE_MS, SECOND_MS } from "../../domain/units.js";
import type { Logger } from "../infra/logger.js";
import type { DaemonObserver, TimingSeconds } from "../infra/observer.js";
import type { ProblemLog } from "../infra/problemLog.js";
import type { LearnedTimings } from "../state/learnedTimings.js";
import type { Observation } from "./decide.js";

/** How long `Invocations` minutes are held (the newest one before it is kept too). */
const INVOCATIONS_KEPT_MS = 2 * HOUR_MS;
/** Restores held for their check at most; beyond it the oldest stays unchecked. */
const MAX_RESTORES_TO_CHECK = 10;

/** What a refresh changed: nothing, only the billing samples, or the timings the plan uses. */
export type TimingsChange = "none" | "samples" | "timings";

export interface TimingsTrackerDeps {
  readonly now: () => number;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly learned: LearnedTimings;
  readonly problems: ProblemLog;
  /**
   * Whether a restore waits for CloudWatch's count of cold calls before it is learned from
   * (`daemon.coldCallMetric` names a metric); otherwise it is learned from at once.
   */
  readonly checkRestores: () => boolean;
  /** Told of every change, with whether the schedule from now on should follow it. */
  readonly onChange: (change: Exclude<TimingsChange, "none">, reschedule: boolean) => void;
}

/**
 * Learns one model's timings: measures restores and evictions, keeps them in the learned
 * store, re-derives cadence, lead time and eviction from them, and says when they change.
 */
export class TimingsTracker {
  #model: ModelConfig;
  readonly #deps: TimingsTrackerDeps;
  #timings: ModelTimings;
  #version = 0;
  /**
   * Successful-call minutes CloudWatch `Invocations` showed lately, ascending: those of the
   * last two hours, and the newest before them.
   */
  #invocationMinutes: number[] = [];
  /**
   * Since when every minute of `Invocations` has been read without a gap, and up to when:
   * a call before that start may have been missed. Undefined until a read says its range.
   */
  #invocationsKnownFrom: number | undefined;
  #invocationsReadThrough: number | undefined;
  /** The last call whose eviction ModelCopy has measured, and the one a cold ping has bounded. */
  #evictionMeasuredFor: number | undefined;
  #evictionBoundedFor: number | undefined;
  /** The ModelCopy zero an eviction was last measured from: each zero is measured once. */
  #evictionZeroMeasured: number | undefined;
  /** Restores ridden out that wait for CloudWatch to say whether they were keepwarm's alone. */
  #restoresToCheck: RiddenRestore[] = [];

  constructor(model: ModelConfig, deps: TimingsTrackerDeps) {
    this.#model = model;
    this.#deps = deps;
    this.#timings = this.#resolve();
  }

  /** The timings the model is planned with now (learned, configured or assumed). */
  get timings(): ModelTimings {
    return this.#timings;
  }

  /** Bumped whenever the timings change, so cached projections know to recompute. */
  get version(): number {
    return this.#version;
  }

  /** What has been measured on this model (restores and evictions). */
  get observations(): ModelObservations {
    return this.#deps.learned.observationsOf(this.#model.name, this.#model.modelArn);
  }

  /** Reports the timings at start, as the first `timings` line and gauges. */
  announce(why: string): void {
    this.#deps.observer.timings?.(this.#model.name, timingSeconds(this.#timings));
    this.#logTimings(why, undefined);
  }

  /** Takes the model's new settings; the caller replans. */
  reconfigure(model: ModelConfig): void {
    this.#model = model;
    this.refresh("the configuration changed", false);
  }

  /**
   * Re-derives the timings from what has been measured; when they change, logs the change
   * with the measurements behind it and tells the owner, who replans from now on.
   */
  refresh(why: string, reschedule: boolean): TimingsChange {
    const previous = this.#timings;
    const next = this.#resolve();
    const same = sameTimings(previous, next);
    if (same && sameBillingSamples(previous, next)) return "none";
    this.#timings = next;
    this.#version++;
    // New restore or eviction samples move only where the projection starts or ends each
    // run's bill.
    if (same) {
      this.#deps.onChange("samples", reschedule);
      return "samples";
    }
    this.#logTimings(why, previous);
    this.#deps.observer.timings?.(this.#model.name, timingSeconds(next));
    this.#checkContradictions();
    this.#deps.onChange("timings", reschedule);
    return "timings";
  }

  /**
   * Keeps the minutes `Invocations` showed calls in over the last two hours, and the newest
   * before them. `readFrom`: where the read began (the poller's range); a read that does not
   * join the previous one starts what is known afresh.
   */
  noteInvocations(points: readonly CopyPoint[], now: number, readFrom?: number): void {
    const keepFrom = now - INVOCATIONS_KEPT_MS;
    const minutesWithCalls = new Set(this.#invocationMinutes);
    for (const p of points) if (p.copies > 0) minutesWithCalls.add(p.t);
    const sorted = [...minutesWithCalls].sort((a, b) => a - b);
    const firstKept = sorted.findIndex((t) => t >= keepFrom);
    const from = firstKept < 0 ? sorted.length - 1 : Math.max(0, firstKept - 1);
    this.#invocationMinutes = sorted.slice(Math.max(0, from));
    if (readFrom === undefined) return;
    const joins =
      this.#invocationsReadThrough !== undefined && readFrom <= this.#invocationsReadThrough;
    if (!joins || this.#invocationsKnownFrom === undefined) this.#invocationsKnownFrom = readFrom;
    this.#invocationsReadThrough = now;
  }

  /**
   * The last successful call before `before`, when it is known: every `Invocations` minute
   * between it and `before` has been read (and is still held), so no user's call after it
   * can have been missed. Undefined otherwise: an eviction measured from a call users
   * followed would be hours long, and its spread would pull the cadence down for weeks.
   */
  #knownLastCallBefore(lastOkAt: number | undefined, before: number): number | undefined {
    const knownFrom = this.#invocationsKnownFrom;
    const through = this.#invocationsReadThrough;
    if (knownFrom === undefined || through === undefined) return undefined;
    if (before < through - INVOCATIONS_KEPT_MS) return undefined;
    const last = lastCallAt(lastOkAt, this.#invocationMinutes, before);
    return last !== undefined && last >= knownFrom ? last : undefined;
  }

  /** ModelCopy fell to 0 after a successful call: that is an eviction, measured to the minute. */
  measureEvictionFromZero(o: Observation, lastOkAt: number | undefined, now: number): void {
    if (o.zeroSince === undefined || o.zeroSince === this.#evictionZeroMeasured) return;
    const last = this.#knownLastCallBefore(lastOkAt, o.zeroSince);
    if (last === undefined || last === this.#evictionMeasuredFor) return;
    const ms = evictionFromZero(last, o.zeroSince);
    if (ms === undefined) return;
    this.#evictionMeasuredFor = last;
    this.#evictionZeroMeasured = o.zeroSince;
    this.#addEviction({ at: now, lastCallAt: last, ms, bound: "measured" }, lastOkAt, {
      zeroSince: new Date(o.zeroSince).toISOString(),
      source: "ModelCopy fell to 0",
    });
  }

  /** A ping met a cold model after a successful call: the eviction came at the latest by then. */
  boundEvictionFromColdPing(sentAt: number, lastOkAt: number | undefined): void {
    const last = this.#knownLastCallBefore(lastOkAt, sentAt);
    if (
      last === undefined ||
      last === this.#evictionBoundedFor ||
      last === this.#evictionMeasuredFor
    )
      return;
    this.#evictionBoundedFor = last;
    this.#addEviction(
      { at: sentAt, lastCallAt: last, ms: sentAt - last, bound: "at-most" },
      lastOkAt,
      { pingAt: new Date(sentAt).toISOString(), source: "a ping met ModelNotReadyException" },
    );
  }

  /**
   * A restore ridden out, from its first ModelNotReadyException to the success: learned from
   * at once and, where `daemon.coldCallMetric` names a metric, checked once CloudWatch has
   * counted its cold calls (observe/restoreChecks.ts): one another caller began is withdrawn.
   */
  restoreRidden(sample: RiddenRestore): void {
    this.#deps.learned.addRestore(this.#model.name, this.#model.modelArn, {
      at: sample.at,
      ms: sample.ms,
    });
    this.refresh("restore measured", true);
    if (!this.#deps.checkRestores()) return;
    if (this.#restoresToCheck.length >= MAX_RESTORES_TO_CHECK) this.#restoresToCheck.shift();
    this.#restoresToCheck.push(sample);
  }

  /** Restores waiting for their check, oldest first. */
  get restoresToCheck(): readonly RiddenRestore[] {
    return this.#restoresToCheck;
  }

  /**
   * The check of a restore: one another caller began says nothing of how long a restore
   * takes, and is withdrawn from what was learned. Without a verdict (CloudWatch did not
   * answer in time) it stays as measured.
   */
  settleRestore(sample: RiddenRestore, verdict: RestoreVerdict | undefined, metric: string): void {
    const index = this.#restoresToCheck.indexOf(sample);
    if (index < 0) return;
    this.#restoresToCheck.splice(index, 1);
    const seconds = round1(sample.ms / SECOND_MS);
    if (verdict?.kind === "joined") {
      this.#deps.log.info(
        {
          event: "restore-check",
          verdict: verdict.kind,
          restoreSeconds: seconds,
          metric,
          ownColdCalls: verdict.own,
          othersColdCalls: verdict.others,
          othersBeforeFirst: verdict.othersBefore,
          effect: "withdrawn from the learned timings",
        },
        `a ${seconds} s restore withdrawn: another caller met the model cold first (${metric}: ${verdict.others} cold calls not keepwarm's, ${verdict.own} keepwarm's)`,
      );
      this.#deps.learned.withdrawRestore(this.#model.name, this.#model.modelArn, {
        at: sample.at,
        ms: sample.ms,
      });
      this.refresh("a restore another caller began was withdrawn", true);
      return;
    }
    if (verdict?.kind === "unverifiable") {
      this.#deps.log.info(
        {
          event: "restore-check",
          verdict: verdict.kind,
          restoreSeconds: seconds,
          metric,
          ownColdCalls: verdict.own,
          countedColdCalls: verdict.counted,
          effect: "kept as measured",
        },
        `a ${seconds} s restore kept unchecked: ${metric} counted ${verdict.counted} cold calls where keepwarm made ${verdict.own} (set daemon.coldCallMetric to the metric that counts them)`,
      );
    }
  }

  #resolve(): ModelTimings {
    return resolveTimings(this.#model.timing, this.observations, this.#deps.now());
  }

  #addEviction(
    sample: EvictionSample,
    lastOkAt: number | undefined,
    inputs: Record<string, unknown>,
  ): void {
    this.#deps.learned.addEviction(this.#model.name, this.#model.modelArn, sample);
    this.#deps.log.info(
      {
        event: "measured",
        measure: "eviction",
        bound: sample.bound,
        minutes: round1(sample.ms / MINUTE_MS),
        lastCallAt: new Date(sample.lastCallAt).toISOString(),
        lastPingOkAt: lastOkAt === undefined ? null : new Date(lastOkAt).toISOString(),
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
    this.refresh(`eviction measured (${sample.bound})`, true);
  }

  /** The `timings` line: the timings now, those before, and the measurements behind them. */
  #logTimings(why: string, previous: ModelTimings | undefined): void {
    const next = this.#timings;
    const recent = this.observations;
    this.#deps.log.info(
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

  /** A fixed setting that the measurements contradict is obeyed, and said so at most hourly. */
  #checkContradictions(): void {
    const setting = this.#model.timing;
    const learned = resolveTimings(
      { cadence: { mode: "auto" }, leadTime: { mode: "auto" }, evictionDelay: { mode: "auto" } },
      this.observations,
      this.#deps.now(),
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
      this.#deps.problems.report(
        this.#deps.log,
        `${this.#model.name}:timings:${p.setting}`,
        {
          event: "timings-contradicted",
          setting: p.setting,
          configured: minutes(p.configured),
          measured: p.measured,
          fix: p.fix,
          repeat: "at most hourly",
        },
        `${p.setting} ${minutes(p.configured)} is obeyed, but ${p.measured}: ${p.fix}`,
        { level: "warn" },
      );
    }
  }
}

function timingSeconds(t: ModelTimings): TimingSeconds {
  return {
    cadenceSeconds: t.cadence.ms / SECOND_MS,
    leadTimeSeconds: t.leadTime.ms / SECOND_MS,
    evictionDelaySeconds: t.evictionDelay.ms / SECOND_MS,
    restoreSeconds: t.restore.ms / SECOND_MS,
  };
}
