import { HOUR_MS, MINUTE_MS, SECOND_MS } from "../../domain/units.js";

/** Timing of the controller's loops: cold-start retries every 5 s, capped backoff, hourly repeats. */
export interface ControllerTiming {
  /** Cold-start retry interval (jittered by +-20%). */
  readonly coldRetryMs: number;
  /** First step of the backoff after ThrottlingException or a server fault. */
  readonly backoffBaseMs: number;
  /** Longest backoff step. */
  readonly backoffCapMs: number;
  /** ModelCopy datapoints appear this long after their minute ends (CloudWatch publishes about two minutes late). */
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
