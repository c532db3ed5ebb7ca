import { formatRate, RATE_MARGIN } from "../../domain/rateNeed.js";
import { SECOND_MS } from "../../domain/units.js";
import type { Logger } from "../infra/logger.js";
import type { InvokePacer } from "../infra/rateLimiter.js";

/**
 * One model's share of the InvokeModel rate. A model about to be pinged holds a share (its
 * keep-alives, one per cadence) for as long as the plan wants it warm; when the rate less
 * the margin is all held by models already kept warm, it is left cold, which is said once
 * per spell, and asks again at its next planned ping. Models are kept in the order they
 * ask: open windows first at start-up, then each as its lead ping comes.
 */
export class WarmShare {
  readonly #pacer: InvokePacer;
  readonly #log: Logger;
  readonly #key: () => string;
  #leftCold = false;

  constructor(deps: { pacer: InvokePacer; log: Logger; key: () => string }) {
    this.#pacer = deps.pacer;
    this.#log = deps.log;
    this.#key = deps.key;
  }

  /** Left cold since the last ask: the rate was held by others. */
  get leftCold(): boolean {
    return this.#leftCold;
  }

  /** Whether a ping for `reason` may go out: the model holds a share at `cadenceMs`, or gets one. */
  claim(cadenceMs: number, reason: string): boolean {
    const pacer = this.#pacer;
    const perSecond = SECOND_MS / cadenceMs;
    if (pacer.hold(this.#key(), perSecond)) {
      this.#leftCold = false;
      return true;
    }
    if (this.#leftCold) return false;
    this.#leftCold = true;
    const held = pacer.held;
    this.#log.warn(
      {
        event: "left-cold",
        reason: `the InvokeModel rate less ${RATE_MARGIN * 100}% for restore retries (${formatRate(pacer.capacity)}/s of daemon.invokeRatePerSecond ${formatRate(pacer.ratePerSecond)}/s) is held by the keep-alives of ${held.models} model(s) kept warm; this one needs ${formatRate(perSecond)}/s more`,
        pingReason: reason,
        ratePerSecond: pacer.ratePerSecond,
        heldPerSecond: Number(formatRate(held.perSecond)),
        modelsKeptWarm: held.models,
        retry: "at each planned ping, until a share is free",
      },
      `left cold: daemon.invokeRatePerSecond is held by ${held.models} model(s) kept warm`,
    );
    return false;
  }

  /**
   * The plan no longer wants the model warm, or it is gone: its share goes back, and a spell
   * of being left cold is over (the next one is said again).
   */
  release(): void {
    this.#pacer.release(this.#key());
    this.#leftCold = false;
  }
}
