/** How a keep-alive ping ended, as the metrics count it. */
export type PingResult = "ok" | "not-ready" | "throttled" | "unavailable" | "rejected";

/** What ModelCopy says about a model: at least one copy, none, or no datapoint yet. */
export type WarmState = "warm" | "cold" | "unknown";

/**
 * What the daemon tells the outside world besides its logs. The HTTP /metrics endpoint
 * implements it with prom-client; tests and `simulate` may record the calls.
 */
export interface DaemonObserver {
  /** One InvokeModel request sent for a ping, by how it ended. */
  pingResult(model: string, result: PingResult): void;
  /** A ping met ModelNotReadyException: the model was cold. */
  coldStart(model: string): void;
  /** Seconds from the first ModelNotReadyException to the first success. */
  restoreSeconds(model: string, seconds: number): void;
  /** The latest ModelCopy datapoint. */
  modelCopies(model: string, copies: number): void;
  warmState(model: string, state: WarmState): void;
  /** Undefined while the model's custom model units are unknown. */
  projectedMonthUsd(model: string, usd: number | undefined): void;
  /** A reload attempt: applied (`ok`) or rejected, at epoch ms `at`. */
  configReload(ok: boolean, at: number): void;
  /** A model left the configuration: forget its series. */
  modelRemoved?(model: string): void;
}

/** Observes nothing. */
export const noopObserver: DaemonObserver = {
  pingResult() {},
  coldStart() {},
  restoreSeconds() {},
  modelCopies() {},
  warmState() {},
  projectedMonthUsd() {},
  configReload() {},
  modelRemoved() {},
};
