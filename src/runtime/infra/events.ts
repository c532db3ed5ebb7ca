/**
 * Every `event` keepwarm logs: the one list that log lines are typed against (a line whose
 * event is not here does not compile) and that docs/events.md is tested against.
 */
export const LOG_EVENTS = [
  // The fleet: start, reload, stop.
  "start",
  "mode",
  "start-failed",
  "reload",
  "reload-failed",
  "reload-rejected",
  "reload-watch-error",
  "config-warning",
  "rate-need",
  "stopped",
  "shutdown",
  "shutdown-armed",
  "shutdown-started",
  "shutdown-error",
  "shutdown-forced",
  "shutdown-grace-expired",
  "shutdown-io-abandoned",
  "signal-ignored",
  // Keeping warm, per model.
  "ping",
  "ping-skipped",
  "left-cold",
  "ping-backoff",
  "ping-rejected",
  "ping-failed",
  "warmup-timeout",
  "cold-start",
  "warm",
  "not-warm",
  "timings",
  "restore-check",
  "timings-contradicted",
  "measured",
  // Warmth observed, per model.
  "observed",
  "cooled",
  "opened-cold",
  "warm-outside-window",
  "metrics-failed",
  "poll-skipped",
  // Spend.
  "cmu",
  "cmu-unknown",
  "price-unknown",
  "month-to-date",
  "spend",
  "spend-total",
  "budget",
  "budget-state-unreadable",
  "budget-state-write-failed",
  "daily-summary",
  "demand",
  "demand-read-failed",
  "summary-written",
  "summary-write-failed",
  "reconcile",
  "reconcile-failed",
  // The process, its clock, its files and its HTTP server.
  "clock-jump",
  "schedule-missed",
  "node-cron",
  "node-warning",
  "state-file-ignored",
  "state-write-failed",
  "state-lease",
  "state-lease-failed",
  "http-listening",
  "http-error",
  "http-client-error",
  "http-connections-dropped",
  // AWS credentials: where they come from, and reading them again.
  "credentials",
  "credentials-refresh",
  // Runs against the built-in simulator.
  "simulated",
  "simulated-model-added",
] as const;

export type LogEvent = (typeof LOG_EVENTS)[number];

/** The fields of a log line: its event, and what that event carries. */
export type EventFields = { readonly event: LogEvent } & Record<string, unknown>;
