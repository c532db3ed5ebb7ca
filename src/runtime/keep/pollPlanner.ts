import type { ModelConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { ModelController } from "./modelController.js";
import {
  DEFAULT_POLL_TIMING,
  type PollDecision,
  type PollFacts,
  type PollTiming,
  pollDue,
  pollInterval,
} from "./pollRule.js";

/** The models due for a ModelCopy read at a minute, and the interval each is read at now. */
export interface DuePolls {
  readonly models: ModelConfig[];
  readonly intervalOf: (name: string) => number;
}

/**
 * Which models the minute job reads CloudWatch for: each model's interval from its
 * controller's state (pollRule.ts), and whether the minute is due under it.
 */
export class PollPlanner {
  readonly #timing: PollTiming;
  readonly #publishDelayMs: number;
  /** Per model, since when it runs under the current config (start, add, reload). */
  readonly #since = new Map<string, number>();

  constructor(publishDelayMs: number, timing: Partial<PollTiming> = {}) {
    this.#publishDelayMs = publishDelayMs;
    this.#timing = { ...DEFAULT_POLL_TIMING, ...timing };
  }

  /** The model starts (a start, or a reload that added or replaced it) at `at`. */
  added(name: string, at: number): void {
    this.#since.set(name, at);
  }

  /** A config was applied at `at`: every model is read every minute for a while. */
  reloaded(at: number): void {
    for (const name of this.#since.keys()) this.#since.set(name, at);
  }

  forget(name: string): void {
    this.#since.delete(name);
  }

  /** The facts the rule reads of one model at `now`. */
  factsOf(c: ModelController, now: number): PollFacts {
    const r = c.record;
    const coldPing = r.lastPing?.result === "not-ready" ? r.lastPing.at : undefined;
    const restored = r.lastRestore?.end;
    const plan = c.planAround(now);
    return {
      now,
      since: this.#since.get(c.model.name) ?? now,
      attemptInProgress: c.attemptInProgress,
      lastColdAt:
        coldPing === undefined
          ? restored
          : Math.max(coldPing, restored ?? Number.NEGATIVE_INFINITY),
      awaitingCool: r.awaitingCool,
      lastOkAt: r.lastOkAt,
      planWarm: c.pingDuty(now),
      spans: [plan.windows, plan.warm],
      state: r.observation.state,
      evictionDelayMs: c.timings.evictionDelay.ms,
      publishDelayMs: this.#publishDelayMs,
    };
  }

  decide(c: ModelController, now: number): PollDecision {
    return pollInterval(this.factsOf(c, now), this.#timing);
  }

  /**
   * The models to read at `now`, with their intervals, from where each was last read through
   * (the poller's). `readBy`: an instant every model must have been read past once it has
   * gone by (a daily summary waiting for its day's data).
   */
  due(
    controllers: Iterable<ModelController>,
    now: number,
    reads: { readThrough(name: string): number | undefined },
    readBy?: number,
  ): DuePolls {
    const models: ModelConfig[] = [];
    const intervals = new Map<string, number>();
    for (const c of controllers) {
      const { ms } = this.decide(c, now);
      const through = reads.readThrough(c.model.name);
      const behind = readBy !== undefined && now >= readBy && (through ?? 0) < readBy;
      if (!behind && !pollDue(through, ms, now)) continue;
      models.push(c.model);
      intervals.set(c.model.name, ms);
    }
    return { models, intervalOf: (name) => intervals.get(name) ?? MINUTE_MS };
  }
}
