import { planModel } from "../domain/plan.js";
import { initialTimings, TIMING_RULES } from "../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../domain/types.js";
import { HOUR_MS, MINUTE_MS } from "../domain/units.js";
import { zoneOffsetMs } from "../domain/zone.js";
import type { VirtualClock } from "../runtime/infra/virtualClock.js";
import { type EvictionSettings, type Simulator, shortestIdleMs } from "../sim/index.js";
import type { Driver } from "./types.js";

/** Minutes past the hour of the seed article's cron, `*\/14`. */
const CRON_MINUTES = new Set([0, 14, 28, 42, 56]);

/**
 * The article's cron over [from, to): a ping at minutes 0, 14, 28, 42 and 56 of every
 * hour inside a window, in the zone of the model's policy.
 */
export function cronInstants(
  config: ResolvedConfig,
  model: ModelConfig,
  from: number,
  to: number,
): number[] {
  const plan = planModel(config, model, { start: from, end: to }, initialTimings(model));
  const instants: number[] = [];
  for (const w of plan.windows) {
    const first = Math.ceil(Math.max(w.start, from) / MINUTE_MS) * MINUTE_MS;
    const last = Math.min(w.end, to);
    if (first >= last) continue;
    // One offset for the whole window unless it spans a DST change: 100 models' month is
    // over a million minutes, too many to build a zoned date for each.
    const offset = zoneOffsetMs(plan.timezone, first);
    const fixed = offset === zoneOffsetMs(plan.timezone, last - 1);
    for (let t = first; t < last; t += MINUTE_MS) {
      const local = t + (fixed ? offset : zoneOffsetMs(plan.timezone, t));
      const minute = Math.floor((((local % HOUR_MS) + HOUR_MS) % HOUR_MS) / MINUTE_MS);
      if (CRON_MINUTES.has(minute)) instants.push(t);
    }
  }
  return instants;
}

/**
 * A baseline keep-alive outside keepwarm. With a list of instants it is the seed article's
 * cron: one request each, whatever the answer. Without, it is always-on: a request a minute
 * before the simulated idle rule could unload the copy (`alwaysOnCadence`) around the clock,
 * and every 5 s while the model is restoring, so the copy stays up and the month is billed
 * whole. Baselines call
 * the simulator in process: they are references, not the code under test, and the SDK
 * would open a connection per request for them.
 */
export class Pinger implements Driver {
  readonly #clock: VirtualClock;
  readonly #sim: Simulator;
  readonly #models: readonly ModelConfig[];
  readonly #instantsOf: (m: ModelConfig) => number[] | undefined;
  /** The pending timer of each model. */
  readonly #cancels = new Map<string, () => void>();
  #stopped = false;

  constructor(
    clock: VirtualClock,
    sim: Simulator,
    models: readonly ModelConfig[],
    instantsOf: (m: ModelConfig) => number[] | undefined,
  ) {
    this.#clock = clock;
    this.#sim = sim;
    this.#models = models;
    this.#instantsOf = instantsOf;
  }

  async start(): Promise<void> {
    for (const m of this.#models) {
      const instants = this.#instantsOf(m);
      if (instants) this.#scheduleList(m, instants, 0);
      else this.#scheduleAt(m, this.#clock.now());
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const cancel of this.#cancels.values()) cancel();
    this.#cancels.clear();
  }

  #scheduleList(m: ModelConfig, instants: readonly number[], i: number): void {
    const at = instants[i];
    if (at === undefined || this.#stopped) return;
    this.#cancels.set(
      m.name,
      this.#clock.setTimer(at, () => {
        this.#sim.invokeModel(m.modelArn, JSON.stringify(m.request));
        this.#scheduleList(m, instants, i + 1);
      }),
    );
  }

  #scheduleAt(m: ModelConfig, at: number): void {
    if (this.#stopped) return;
    this.#cancels.set(
      m.name,
      this.#clock.setTimer(at, () => {
        const now = this.#clock.now();
        const answer = this.#sim.invokeModel(m.modelArn, JSON.stringify(m.request));
        const restoring = answer.kind === "error" && answer.error.type === "ModelNotReadyException";
        const cadence = alwaysOnCadence(
          this.#sim.settingsOf(m.modelArn),
          this.#sim.faults.evictionOverride(m.modelArn, now),
        );
        this.#scheduleAt(m, restoring ? now + 5_000 : now + cadence);
      }),
    );
  }
}

/**
 * The always-on baseline's keep-alive under the simulated rule: a minute less than the
 * shortest idle time it allows (after a call at the end of its billing window under the
 * window rule, or `scriptedIdleMs` when an `evictAfter` fault sets it for a call now), within
 * the bounds of an auto cadence (1 to 14 minutes). It is a reference that knows the rule;
 * keepwarm has to measure it.
 */
export function alwaysOnCadence(s: EvictionSettings, scriptedIdleMs?: number): number {
  const { cadenceCeilingMs, cadenceFloorMs } = TIMING_RULES;
  const idleMs = scriptedIdleMs ?? shortestIdleMs(s);
  return Math.min(cadenceCeilingMs, Math.max(cadenceFloorMs, idleMs - MINUTE_MS));
}
