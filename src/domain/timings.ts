/**
 * The four durations a model's plan is built from. Each says where it comes from: measured
 * on this model (`learned`), fixed in the YAML (`configured`), or the starting assumption
 * used until something is measured (`assumed`).
 */
export type TimingSource = "learned" | "configured" | "assumed";

export interface Timing {
  readonly ms: number;
  readonly source: TimingSource;
}

export interface ModelTimings {
  /** Keep-alive interval inside a window. */
  readonly cadence: Timing;
  /** How long before a window opens the first ping goes out. */
  readonly leadTime: Timing;
  /** Idle time after the last successful call before Bedrock unloads the model. */
  readonly evictionDelay: Timing;
  /** How long a cold model takes to answer after the first call that wakes it. */
  readonly restore: Timing;
}
