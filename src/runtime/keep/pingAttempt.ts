import type { RegionClients } from "../../aws/clients.js";
import { AwsCallError, isTransient, RequestTimeoutError } from "../../aws/errors.js";
import { INVOKE_ACTION, invokePing } from "../../aws/invoke.js";
import { round1 } from "../../domain/format.js";
import type { ModelConfig } from "../../domain/types.js";
import { MINUTE_MS, SECOND_MS } from "../../domain/units.js";
import type { Cancel, RuntimeClock } from "../infra/clock.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { InvokePacer, PaceRequest, RequestLimiter } from "../infra/rateLimiter.js";
import { retryDelay } from "./decide.js";
import type { ControllerTiming } from "./loopTiming.js";

/** One ping as a whole: its first request and every retry until it succeeds or is given up. */
interface Attempt {
  readonly reason: string;
  readonly startedAt: number;
  requests: number;
  backoffStep: number;
  firstNotReadyAt: number | undefined;
  /** When each of its requests that met the restoring model was sent (bounded by the warm-up timeout). */
  notReadyAt: number[];
  cancelRetry: Cancel | undefined;
}

/** What an attempt tells its controller, which owns the model's state and counters. */
export interface AttemptHost {
  readonly model: () => ModelConfig;
  /**
   * How urgent the next request is, which orders requests waiting for the rate; `restoring`
   * when it only asks whether a restore under way is done.
   */
  readonly pace: (restoring: boolean) => PaceRequest;
  /** Whether the schedule still wants the model warm at `t`. */
  readonly pingDuty: (t: number) => boolean;
  readonly requestSent: () => void;
  readonly succeeded: (ok: PingSuccess) => void;
  /** Every failed request, before what follows from it. */
  readonly requestFailed: (at: number, reason: string, error: AwsCallError) => void;
  /** The first ModelNotReadyException of an attempt: the model is restoring. */
  readonly coldStart: (sentAt: number, reason: string, error: AwsCallError) => void;
  /** AWS refused the request for good (IAM, the request, the model): retried at the next planned ping. */
  readonly rejected: (reason: string, error: AwsCallError) => void;
  readonly gaveUp: () => void;
  /** A keep-alive waited for the rate past its deadline: dropped, not sent late. */
  readonly dropped: (reason: string, deadline: number) => void;
}

export interface PingSuccess {
  readonly at: number;
  readonly sentAt: number;
  readonly reason: string;
  readonly requests: number;
  /** Start of the restore this attempt rode out (its first ModelNotReadyException). */
  readonly restoringSince: number | undefined;
  /** When each request of the attempt that met the restoring model was sent. */
  readonly notReadyAt: readonly number[];
}

export interface PingAttemptDeps {
  readonly clock: RuntimeClock;
  readonly log: Logger;
  readonly clients: RegionClients;
  readonly limiter: RequestLimiter;
  /** Paces every InvokeModel request, retries included, on the monotonic clock. */
  readonly pacer: InvokePacer;
  readonly timing: ControllerTiming;
  readonly random: () => number;
}

/**
 * The ping of one model as a state machine: pace, send, ride out a cold start (a request
 * every ~5 s until the restore is done or its time is up), back off under throttling and
 * server faults, give up when the warm span it was for is over. One attempt at a time.
 */
export class PingAttempt {
  readonly #deps: PingAttemptDeps;
  readonly #host: AttemptHost;
  #attempt: Attempt | undefined;
  #inFlight: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #stopped = false;

  constructor(deps: PingAttemptDeps, host: AttemptHost) {
    this.#deps = deps;
    this.#host = host;
  }

  get inProgress(): boolean {
    return this.#attempt !== undefined;
  }

  /** Start of the restore the current attempt is riding out, if any. */
  get restoringSince(): number | undefined {
    return this.#attempt?.firstNotReadyAt;
  }

  /** The request in flight, if any: shutdown waits for it. */
  get inFlight(): Promise<void> | undefined {
    return this.#inFlight;
  }

  /** Starts an attempt; false when one is already running (one request at a time). */
  start(reason: string): boolean {
    if (this.#stopped || this.#attempt) return false;
    this.#attempt = {
      reason,
      startedAt: this.#deps.clock.now(),
      requests: 0,
      backoffStep: 0,
      firstNotReadyAt: undefined,
      notReadyAt: [],
      cancelRetry: undefined,
    };
    this.#send();
    return true;
  }

  /** Ends the running attempt without another request; returns its reason. */
  cancel(): string | undefined {
    const attempt = this.#attempt;
    attempt?.cancelRetry?.();
    this.#attempt = undefined;
    return attempt?.reason;
  }

  /** No more requests; one in flight runs on until `abort()`. */
  stop(): void {
    this.#stopped = true;
    this.#attempt?.cancelRetry?.();
  }

  abort(): void {
    this.#abort.abort();
  }

  #send(): void {
    const attempt = this.#attempt;
    if (!attempt) return;
    // Waiting for the rate here, outside tracked work, lets a virtual clock reach the token.
    // Cancelling a request already sent is harmless.
    const request = this.#host.pace(attempt.firstNotReadyAt !== undefined);
    attempt.cancelRetry = this.#deps.pacer.schedule(
      () => {
        if (this.#stopped || this.#attempt !== attempt) return;
        this.#dispatch(attempt);
      },
      request,
      () => {
        if (this.#stopped || this.#attempt !== attempt) return;
        this.#attempt = undefined;
        this.#host.dropped(attempt.reason, request.deadline as number);
      },
    );
  }

  #dispatch(attempt: Attempt): void {
    const work = this.#request(attempt);
    this.#inFlight = work;
    void this.#deps.clock.track(work).finally(() => {
      if (this.#inFlight === work) this.#inFlight = undefined;
    });
  }

  async #request(attempt: Attempt): Promise<void> {
    const { clock, clients } = this.#deps;
    const model = this.#host.model();
    let sentAt = clock.now();
    attempt.requests++;
    this.#host.requestSent();
    try {
      await this.#deps.limiter.run(async () => {
        sentAt = clock.now();
        const request = new AbortController();
        const abort = () => request.abort();
        const timeoutMs = this.#deps.timing.pingTimeoutMs;
        const timer = setTimeout(
          () => request.abort(new RequestTimeoutError(timeoutMs)),
          timeoutMs,
        );
        this.#abort.signal.addEventListener("abort", abort);
        try {
          return await invokePing(clients.runtime, model.modelArn, model.request, {
            signal: request.signal,
          });
        } finally {
          clearTimeout(timer);
          this.#abort.signal.removeEventListener("abort", abort);
        }
      });
    } catch (error) {
      const failure =
        error instanceof AwsCallError
          ? error
          : new AwsCallError(INVOKE_ACTION, model.modelArn, error);
      this.#onFailure(attempt, sentAt, failure);
      return;
    }
    if (this.#attempt === attempt) this.#attempt = undefined;
    this.#host.succeeded({
      at: clock.now(),
      sentAt,
      reason: attempt.reason,
      requests: attempt.requests,
      restoringSince: attempt.firstNotReadyAt,
      notReadyAt: attempt.notReadyAt,
    });
  }

  #onFailure(attempt: Attempt, sentAt: number, error: AwsCallError): void {
    const now = this.#deps.clock.now();
    const kind = error.kind;
    this.#host.requestFailed(now, attempt.reason, error);
    if (this.#stopped) {
      this.#attempt = undefined;
      return;
    }
    // Abandoned by a reload while in flight: a later attempt may be running.
    if (this.#attempt !== attempt) return;
    const model = this.#host.model();
    if (kind === "not-ready") {
      attempt.notReadyAt.push(sentAt);
      if (attempt.firstNotReadyAt === undefined) {
        attempt.firstNotReadyAt = sentAt;
        this.#host.coldStart(sentAt, attempt.reason, error);
      }
      // The budget is the restore's, not the attempt's: a long backoff before the model
      // reported itself restoring must not use it up.
      if (now - attempt.firstNotReadyAt >= model.warmupTimeoutMs) {
        this.#giveUp(
          attempt,
          "warmup-timeout",
          `not warm ${round1((now - attempt.firstNotReadyAt) / MINUTE_MS)} min after the restore began`,
        );
        return;
      }
      this.#retry(attempt, kind);
      return;
    }
    if (isTransient(kind)) {
      attempt.backoffStep++;
      if (!this.#host.pingDuty(now) && now - attempt.startedAt >= model.warmupTimeoutMs) {
        this.#giveUp(attempt, "ping-failed", "the warm span this ping was for is over");
        return;
      }
      const delay = this.#retry(attempt, kind);
      this.#deps.log.warn(
        {
          event: "ping-backoff",
          reason: attempt.reason,
          error: describeError(error.cause),
          step: attempt.backoffStep,
          retryInMs: delay,
        },
        `${error.awsName}: retrying in ${round1(delay / SECOND_MS)} s`,
      );
      return;
    }
    this.#attempt = undefined;
    this.#host.rejected(attempt.reason, error);
  }

  #retry(attempt: Attempt, kind: AwsCallError["kind"]): number {
    const { clock, random, timing } = this.#deps;
    const delay = retryDelay(kind, attempt.backoffStep, timing, random);
    attempt.cancelRetry = clock.setTimer(clock.now() + delay, () => {
      if (this.#stopped || this.#attempt !== attempt) return;
      this.#send();
    });
    return delay;
  }

  #giveUp(attempt: Attempt, event: "warmup-timeout" | "ping-failed", reason: string): void {
    this.#attempt = undefined;
    this.#host.gaveUp();
    this.#deps.log.error(
      { event, reason, pingReason: attempt.reason, requests: attempt.requests },
      `ping given up: ${reason}`,
    );
  }
}
