/**
 * What one model's ModelCopy readings and the controller's decisions show, besides a ping's
 * results (pingOutcomes.ts): the ModelCopy gauges and the `observed` line, skipped pings,
 * recoveries, cool-downs and copies up outside every window, with their counters.
 */
import { isoOrNull, round1 } from "../../domain/format.js";
import { MINUTE_MS } from "../../domain/units.js";
import type { Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { Counters } from "./counters.js";
import type { Decision, Observation, WarmRecord } from "./decide.js";

/** Model `name`'s ModelCopy gauges, and an `observed` line when its state changed. */
export function reportObservation(
  log: Logger,
  observer: DaemonObserver,
  name: string,
  o: Observation,
  previousState: string,
): void {
  if (o.state !== previousState) logObserved(log, o, previousState);
  if (o.copies !== undefined) observer.modelCopies(name, o.copies);
  if (o.latestAt !== undefined) observer.copyDatapointAt?.(name, o.latestAt);
  observer.warmState(name, o.state);
}

function logObserved(log: Logger, o: Observation, previousState: string): void {
  log.info(
    {
      event: "observed",
      state: o.state,
      previousState,
      copies: o.copies ?? null,
      datapointAt: isoOrNull(o.latestAt),
    },
    `ModelCopy: ${o.state}${o.copies === undefined ? "" : ` (${o.copies} ${o.copies === 1 ? "copy" : "copies"})`}`,
  );
}

export function logPingSkipped(log: Logger, reason: string): void {
  log.info({ event: "ping-skipped", reason }, "ping skipped");
}

/**
 * The counters and log lines of a decision other than a ping, `record` holding its next
 * state; a recovery's ping is the caller's to send.
 */
export function reportDecision(
  log: Logger,
  counters: Counters,
  decision: Exclude<Decision, { readonly action: "ping" }>,
  record: WarmRecord,
  now: () => number,
): void {
  switch (decision.action) {
    case "skip":
      logPingSkipped(log, decision.reason);
      return;
    case "recover":
      counters.count("recoveries");
      log.warn(
        {
          event: "not-warm",
          reason: decision.reason,
          minutesAtZero: round1(decision.minutesAtZero),
          zeroSince: isoOrNull(record.observation.zeroSince),
        },
        "model not warm inside its window; recovery ping",
      );
      return;
    case "cooled": {
      const minutes = decision.minutesSinceLastPing;
      counters.sample("evictionMinutes", minutes);
      log.info(
        {
          event: "cooled",
          reason: decision.reason,
          minutesSinceLastPing: round1(minutes),
          lastPingAt: isoOrNull(record.lastOkAt),
          zeroSince: isoOrNull(record.observation.zeroSince),
        },
        `cooled ${round1(minutes)} min after the last ping`,
      );
      return;
    }
    case "warm-outside-window": {
      const lastOkAt = record.lastOkAt;
      log.info(
        {
          event: "warm-outside-window",
          reason: decision.reason,
          copies: record.observation.copies,
          minutesSinceLastPing:
            lastOkAt === undefined ? null : round1((now() - lastOkAt) / MINUTE_MS),
        },
        "copies up outside every window",
      );
      return;
    }
  }
}
