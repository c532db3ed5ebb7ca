import type { CopyPoint } from "../../aws/metrics.js";
import { formatDuration as minutes, round1 } from "../../domain/format.js";
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

/** What a refresh changed: nothing, only the billing samples, or the timings the plan uses. */
export type TimingsChange = "none" | "samples" | "timings";

export interface TimingsTrackerDeps {
  readonly now: () => number;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly learned: LearnedTimings;
  readonly problems: ProblemLog;
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
  /** Successful-call minutes CloudWatch `Invocations` showed lately, ascending. */
  #invocationMinutes: number[] = [];
  /** The last call whose eviction ModelCopy has measured, and the one a cold ping has bounded. */
  #evictionMeasuredFor: number | undefined;
  #evictionBoundedFor: number | undefined;

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

  /** Keeps the minutes `Invocations` showed calls in over the last two hours. */
  noteInvocations(points: readonly CopyPoint[], now: number): void {
    const keepFrom = now - 2 * HOUR_MS;
    const minutesWithCalls = new Set(this.#invocationMinutes.filter((t) => t >= keepFrom));
    for (const p of points) if (p.copies > 0 && p.t >= keepFrom) minutesWithCalls.add(p.t);
    this.#invocationMinutes = [...minutesWithCalls].sort((a, b) => a - b);
  }

  /** ModelCopy fell to 0 after a successful call: that is an eviction, measured to the minute. */
  measureEvictionFromZero(o: Observation, lastOkAt: number | undefined, now: number): void {
    if (o.zeroSince === undefined) return;
    const last = lastCallAt(lastOkAt, this.#invocationMinutes, o.zeroSince);
    if (last === undefined || last === this.#evictionMeasuredFor) return;
    const ms = evictionFromZero(last, o.zeroSince);
    if (ms === undefined) return;
    this.#evictionMeasuredFor = last;
    this.#addEviction({ at: now, lastCallAt: last, ms, bound: "measured" }, lastOkAt, {
      zeroSince: new Date(o.zeroSince).toISOString(),
      source: "ModelCopy fell to 0",
    });
  }

  /** A ping met a cold model after a successful call: the eviction came at the latest by then. */
  boundEvictionFromColdPing(sentAt: number, lastOkAt: number | undefined): void {
    const last = lastCallAt(lastOkAt, this.#invocationMinutes, sentAt);
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

  /** A restore ridden out, from its first ModelNotReadyException to the success. */
  addRestore(at: number, ms: number): void {
    this.#deps.learned.addRestore(this.#model.name, this.#model.modelArn, { at, ms });
    this.refresh("restore measured", true);
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
