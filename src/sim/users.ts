import type { CallResult } from "./fleet.js";
import { lowerBound } from "./fleet.js";
import { UserTraffic } from "./traffic.js";
import type { TrafficProfile } from "./trafficProfile.js";

/** How a user's call was answered. */
export type UserCallResult = CallResult["kind"];

/** The users' calls of one model in a range, as the simulator answered them. */
export interface UserCallCounts {
  readonly calls: number;
  /** Answered by a warm copy. */
  readonly ok: number;
  /** ModelNotReadyException: the model was cold or restoring (the call woke it). */
  readonly notReady: number;
  /** ThrottlingException: every copy was busy. */
  readonly throttled: number;
}

interface ModelUsers {
  readonly traffic: UserTraffic;
  /** Instants of the calls played so far, ascending, and how each was answered. */
  readonly at: number[];
  readonly results: UserCallResult[];
}

/**
 * The users of the simulated models: each model's calls, drawn from its traffic profile,
 * played through InvokeModel's own handling in time order before the simulator answers
 * anything at a later instant, and kept as the ground truth of what users met.
 */
export class SimUsers {
  readonly #models = new Map<string, ModelUsers>();

  /** `modelArn`'s users call from `from` on, as `profile` says. */
  add(modelArn: string, profile: TrafficProfile, seed: number, from: number): void {
    this.#models.set(modelArn, {
      traffic: new UserTraffic(profile, modelArn, seed, from),
      at: [],
      results: [],
    });
  }

  /**
   * Plays every call due by `t` through `call` (undefined when the model no longer answers:
   * deleted). Models are independent, so each is played in its own time order.
   */
  playUntil(t: number, call: (modelArn: string, at: number) => CallResult | undefined): void {
    for (const [modelArn, users] of this.#models) {
      users.traffic.takeUntil(t, (at) => {
        const result = call(modelArn, at);
        if (result === undefined) return;
        users.at.push(at);
        users.results.push(result.kind);
      });
    }
  }

  /** Whether `modelArn` has users. */
  has(modelArn: string): boolean {
    return this.#models.has(modelArn);
  }

  /** The instants of the users' calls to `modelArn` played so far in [start, end), ascending. */
  callTimes(modelArn: string, range?: { start: number; end: number }): readonly number[] {
    const users = this.#models.get(modelArn);
    if (!users) return [];
    if (!range) return users.at;
    return users.at.slice(lowerBound(users.at, range.start), lowerBound(users.at, range.end));
  }

  /** How the users' calls to `modelArn` played so far in [start, end) were answered. */
  counts(modelArn: string, range?: { start: number; end: number }): UserCallCounts {
    const users = this.#models.get(modelArn);
    const tally = { calls: 0, ok: 0, notReady: 0, throttled: 0 };
    if (!users) return tally;
    const from = range ? lowerBound(users.at, range.start) : 0;
    const to = range ? lowerBound(users.at, range.end) : users.at.length;
    for (let i = from; i < to; i++) {
      tally.calls++;
      const result = users.results[i];
      if (result === "ok") tally.ok++;
      else if (result === "notReady") tally.notReady++;
      else tally.throttled++;
    }
    return tally;
  }
}
