import type { FaultSchedule } from "./faults.js";
import { idleOutAt, type SimModelSpec, type SimSettings } from "./settings.js";

/** One copy of a model, billed from its first successful call until it is unloaded. */
export interface CopyRun {
  /** 0 is the first copy; 1 and 2 are added under concurrent load. */
  readonly copy: number;
  readonly start: number;
  /** Undefined while the copy is still up. */
  readonly end: number | undefined;
}

/** From the call that woke a cold model until it was unloaded again. */
export interface Episode {
  readonly restoreStart: number;
  readonly readyAt: number;
  readonly end: number | undefined;
}

export type ModelStateName = "cold" | "restoring" | "warm";

export interface ModelState {
  readonly state: ModelStateName;
  /** Copies loaded and able to answer; a restored copy counts before its first call bills it. */
  readonly copies: number;
}

export type CallResult =
  | { readonly kind: "ok"; readonly copies: number }
  | { readonly kind: "notReady" }
  | { readonly kind: "overloaded" };

type Phase = "cold" | "restoring" | "loaded" | "serving";

interface MutableRun {
  copy: number;
  start: number;
  end: number | undefined;
}

interface MutableEpisode {
  restoreStart: number;
  readyAt: number;
  end: number | undefined;
}

/**
 * The lifecycle of one imported model. Nothing happens on its own: every call and query
 * first replays the evictions and restores due up to that instant, so the state is a
 * function of the recorded calls and the time asked about.
 */
export class ModelFleet {
  readonly spec: SimModelSpec;
  /** The simulator's settings with this model's own restore and eviction over them. */
  readonly settings: SimSettings;
  readonly #faults: FaultSchedule;
  #phase: Phase = "cold";
  #processedTo = Number.NEGATIVE_INFINITY;
  readonly #episodes: MutableEpisode[] = [];
  readonly #runs: MutableRun[] = [];
  readonly #open: (MutableRun | undefined)[] = [];
  /** The last successful call each copy served: the idle clock of its eviction. */
  readonly #lastNeeded: number[] = [];
  /** Successful calls, ascending. */
  readonly #successes: number[] = [];
  /** Calls answered ModelNotReadyException (the model was restoring), ascending. */
  readonly #notReady: number[] = [];
  /** Calls answered ThrottlingException (every copy busy), ascending. */
  readonly #throttled: number[] = [];
  #inflightFrom = 0;

  constructor(spec: SimModelSpec, settings: SimSettings, faults: FaultSchedule) {
    this.spec = spec;
    this.settings = settings;
    this.#faults = faults;
  }

  get episodes(): readonly Episode[] {
    return this.#episodes;
  }

  get runs(): readonly CopyRun[] {
    return this.#runs;
  }

  get successes(): readonly number[] {
    return this.#successes;
  }

  get notReady(): readonly number[] {
    return this.#notReady;
  }

  get throttled(): readonly number[] {
    return this.#throttled;
  }

  /** Replays what is due up to t: restores finishing, copies idling out, scripted evictions. */
  advance(t: number): void {
    if (t < this.#processedTo) return;
    const episode = this.#episodes.at(-1);
    if (this.#phase === "restoring" && episode && t >= episode.readyAt) this.#phase = "loaded";
    if ((this.#phase === "loaded" || this.#phase === "serving") && episode) {
      const scripted =
        this.#faults.firstEviction(
          this.spec.modelArn,
          Math.max(this.#processedTo, episode.readyAt),
          t,
        ) ?? Number.POSITIVE_INFINITY;
      const limit = Math.min(t, scripted);
      let end: number | undefined;
      if (this.#phase === "loaded") {
        // Restored but never called: idle from the instant it was ready.
        const idleOut = this.#idleOutAt(episode.readyAt, episode.readyAt);
        if (idleOut <= limit) end = idleOut;
      } else {
        end = this.#closeIdleCopies(limit);
      }
      if (end === undefined && scripted <= t) {
        for (let copy = 0; copy < this.#open.length; copy++) this.#close(copy, scripted);
        end = scripted;
      }
      if (end !== undefined) {
        episode.end = end;
        // Cold until the next call, which only `call` records.
        this.#phase = "cold";
      }
    }
    this.#processedTo = t;
  }

  /** Records a call at t (after faults have been applied) and says how the model answers. */
  call(t: number, restoreMs: number): CallResult {
    this.advance(t);
    if (this.#phase === "cold") {
      this.#episodes.push({ restoreStart: t, readyAt: t + restoreMs, end: undefined });
      this.#phase = "restoring";
      this.advance(t);
    }
    if (this.#phase === "restoring") {
      this.#notReady.push(t);
      return { kind: "notReady" };
    }

    const s = this.settings;
    while (
      this.#inflightFrom < this.#successes.length &&
      (this.#successes[this.#inflightFrom] as number) <= t - s.invocationMs
    ) {
      this.#inflightFrom++;
    }
    const inflight = this.#successes.length - this.#inflightFrom + 1;
    const needed = Math.ceil(inflight / s.perCopyConcurrency);
    if (needed > s.maxCopies) {
      this.#throttled.push(t);
      return { kind: "overloaded" };
    }

    for (let copy = 0; copy < needed; copy++) {
      if (!this.#open[copy]) {
        const run: MutableRun = { copy, start: t, end: undefined };
        this.#open[copy] = run;
        this.#runs.push(run);
      }
      this.#lastNeeded[copy] = t;
    }
    this.#phase = "serving";
    this.#successes.push(t);
    return { kind: "ok", copies: this.#openCount() };
  }

  /** Whether a call at t would start a restore: the model is cold. */
  isColdAt(t: number): boolean {
    this.advance(t);
    return this.#phase === "cold";
  }

  stateAt(t: number): ModelState {
    this.advance(t);
    switch (this.#phase) {
      case "cold":
        return COLD;
      case "restoring":
        return RESTORING;
      case "loaded":
        return warmWith(1);
      case "serving":
        return warmWith(this.#openCount());
    }
  }

  /**
   * Unloads every copy whose eviction rule says so by `upTo`, each at its own instant
   * (copies added under load have billing windows of their own). Returns when the last
   * one went, once none is left.
   */
  #closeIdleCopies(upTo: number): number | undefined {
    let last = Number.NEGATIVE_INFINITY;
    let open = 0;
    for (let copy = 0; copy < this.#open.length; copy++) {
      const run = this.#open[copy];
      if (!run) continue;
      const idleOut = this.#idleOutAt(run.start, this.#lastNeeded[copy] as number);
      if (idleOut <= upTo) {
        this.#close(copy, idleOut);
        if (idleOut > last) last = idleOut;
      } else {
        open++;
      }
    }
    return open === 0 && last > Number.NEGATIVE_INFINITY ? last : undefined;
  }

  /** When a copy last called at `lastCall` idles out: by its eviction rule, or as an `evictAfter` fault says. */
  #idleOutAt(anchor: number, lastCall: number): number {
    const scripted = this.#faults.evictionOverride(this.spec.modelArn, lastCall);
    if (scripted !== undefined) return lastCall + scripted;
    return idleOutAt(this.settings, anchor, lastCall, this.spec.modelArn);
  }

  #close(copy: number, at: number): void {
    const run = this.#open[copy];
    if (!run) return;
    run.end = at;
    this.#open[copy] = undefined;
  }

  #openCount(): number {
    let n = 0;
    for (const run of this.#open) if (run) n++;
    return n;
  }
}

// Sampled once a simulated minute per model by `keepwarm simulate`: shared, frozen answers.
const COLD: ModelState = Object.freeze({ state: "cold", copies: 0 });
const RESTORING: ModelState = Object.freeze({ state: "restoring", copies: 0 });
const WARM: ModelState[] = [];
function warmWith(copies: number): ModelState {
  let state = WARM[copies];
  if (!state) {
    state = Object.freeze({ state: "warm", copies });
    WARM[copies] = state;
  }
  return state;
}

/** Index of the first element >= t in an ascending array. */
export function lowerBound(sorted: readonly number[], t: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
