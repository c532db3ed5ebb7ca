import type { AwsCallError } from "../../aws/errors.js";
import { round1 } from "../../domain/format.js";
import type { ModelConfig } from "../../domain/types.js";
import { SECOND_MS } from "../../domain/units.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { ProblemLog } from "../infra/problemLog.js";
import type { Counters } from "./counters.js";
import {
  afterPingFailure,
  afterPingOk,
  afterRejection,
  resultOf,
  type WarmRecord,
} from "./decide.js";
import type { PingSuccess } from "./pingAttempt.js";
import type { TimingsTracker } from "./timingsTracker.js";

export interface PingOutcomesDeps {
  readonly model: () => ModelConfig;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly counters: Counters;
  readonly timings: TimingsTracker;
  readonly problems: ProblemLog;
  readonly inWindow: (t: number) => boolean;
}

/**
 * What a ping's results mean for its model: counters, gauges, log lines and measured
 * restores. Each takes the warm record and returns the next; the controller keeps it.
 */
export class PingOutcomes {
  readonly #deps: PingOutcomesDeps;

  constructor(deps: PingOutcomesDeps) {
    this.#deps = deps;
  }

  succeeded(record: WarmRecord, ok: PingSuccess): WarmRecord {
    const { observer, counters } = this.#deps;
    const name = this.#deps.model().name;
    observer.pingResult(name, "ok");
    observer.pingOkAt?.(name, ok.at);
    counters.count("pingsOk");
    return afterPingOk(record, ok.at, ok.reason, ok.restoringSince);
  }

  /** The success's log lines, and the restore it measured: after the keep-alive is re-armed. */
  report(ok: PingSuccess): void {
    const { log, counters, observer, timings } = this.#deps;
    log.info(
      {
        event: "ping",
        result: "ok",
        reason: ok.reason,
        requests: ok.requests,
        latencyMs: ok.at - ok.sentAt,
      },
      "ping ok",
    );
    if (ok.restoringSince === undefined) return;
    const seconds = (ok.at - ok.restoringSince) / SECOND_MS;
    counters.sample("restoreSeconds", seconds);
    observer.restoreSeconds(this.#deps.model().name, seconds);
    log.info(
      { event: "warm", restoreSeconds: round1(seconds), requests: ok.requests },
      `warm after a ${round1(seconds)} s restore`,
    );
    timings.restoreRidden({
      at: ok.at,
      ms: ok.at - ok.restoringSince,
      notReadyAt: ok.notReadyAt,
    });
  }

  requestFailed(record: WarmRecord, at: number, reason: string, error: AwsCallError): WarmRecord {
    const { observer } = this.#deps;
    const result = resultOf(error.kind);
    observer.pingResult(this.#deps.model().name, result);
    observer.awsError?.(error.action, error.awsName, error.kind);
    return afterPingFailure(record, at, reason, result);
  }

  /**
   * The first ModelNotReadyException of a ping. Before a window opens a cold model is what
   * the warm-up ping is for; inside one, a user's call would have met it.
   */
  coldStart(record: WarmRecord, sentAt: number, reason: string, error: AwsCallError): void {
    const { counters, observer, log, timings } = this.#deps;
    counters.count("coldStarts");
    counters.coldStartAt(sentAt, sentAt);
    observer.coldStart(this.#deps.model().name);
    // Pings that failed since the last success (rejected, throttled) let the copy go: the
    // gap was keepwarm's, not the idle rule's.
    if (!record.failedSinceOk) timings.boundEvictionFromColdPing(sentAt, record.lastOkAt);
    const inWindow = this.#deps.inWindow(sentAt);
    if (inWindow) counters.count("coldStartsInWindow");
    log[inWindow ? "warn" : "info"](
      { event: "cold-start", reason, inWindow, error: describeError(error.cause) },
      inWindow
        ? "cold start inside a window: the model is restoring"
        : "cold start outside a window: the model is restoring",
    );
  }

  /**
   * A keep-alive that waited for the InvokeModel rate until its model's eviction was due:
   * dropped rather than sent late, where it would only meet a cold model. The next planned
   * ping wakes the model.
   */
  dropped(reason: string, deadline: number): void {
    this.#deps.log.warn(
      {
        event: "ping-skipped",
        reason: `${reason}: dropped, no InvokeModel token before ${new Date(deadline).toISOString()}, when the model was due to be evicted; the next planned ping wakes it`,
        dropped: true,
      },
      "keep-alive dropped: the request rate is short",
    );
  }

  /** AWS refused the ping for good: counted, logged at most hourly, no recovery until the next planned ping. */
  rejected(record: WarmRecord, error: AwsCallError): WarmRecord {
    const { counters, problems, log } = this.#deps;
    const model = this.#deps.model();
    counters.count("pingsFailed");
    problems.report(
      log,
      `invoke:${error.awsName}`,
      {
        event: "ping-rejected",
        action: error.action,
        modelArn: model.modelArn,
        errorName: error.awsName,
        error: describeError(error.cause),
        remedy: error.remedy,
        kind: error.kind,
        retry:
          error.kind === "model-error"
            ? "at the next planned ping"
            : "at the next planned ping; logged at most hourly",
      },
      `${error.action} on ${model.modelArn} rejected (${error.awsName}): ${error.remedy}`,
    );
    return afterRejection(record, error.modelMissing);
  }
}
