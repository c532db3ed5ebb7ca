import type { RegionClientPool } from "../../aws/clients.js";
import { ONE_MINUTE_RETENTION_MS, readCopyHistory } from "../../aws/copyHistory.js";
import { AwsCallError } from "../../aws/errors.js";
import {
  type CopyPoint,
  type CopyQuery,
  type MetricsRequested,
  readModelCopies,
} from "../../aws/metrics.js";
import type { Interval } from "../../domain/interval.js";
import { monthOf, monthRange } from "../../domain/spend.js";
import type { ModelConfig } from "../../domain/types.js";
import { MINUTE_MS } from "../../domain/units.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { ProblemLog } from "../infra/problemLog.js";

/**
 * Each poll reads from this long before the end of the last successful read, so a late
 * minute is filled in and a failed poll (an outage, a suspend, a clock jump) is caught up.
 */
const LOOKBACK_MS = 10 * MINUTE_MS;
/** CloudWatch's count of successful calls, next to ModelCopy in the AWS/Bedrock namespace. */
const INVOCATIONS_METRIC_NAME = "Invocations";

/** Where the poller hands what it read; it keeps none of it. */
export interface CopySink {
  /** The whole month so far, read at start-up or after a gap longer than 1-minute retention. */
  monthRead(model: ModelConfig, points: readonly CopyPoint[], month: Interval, now: number): void;
  /**
   * A poll's datapoints of one model: ModelCopy, and the minutes `Invocations` shows calls
   * in, both read from `readFrom` to now.
   */
  pointsRead(
    model: ModelConfig,
    copies: readonly CopyPoint[],
    invocations: readonly CopyPoint[],
    readFrom: number,
  ): void;
}

export interface CopyPollerDeps {
  readonly clients: RegionClientPool;
  readonly now: () => number;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly problems: ProblemLog;
  readonly sink: CopySink;
  /** Told of each GetMetricData call that answered and the metrics it requested (billed). */
  readonly metricsRequested?: MetricsRequested;
}

/**
 * Reads CloudWatch for the models it is given: ModelCopy and Invocations of each, one
 * GetMetricData call per region (up to 500 queries), from where the oldest last successful
 * read among them ended; the month's history when it is missing. One poll per region at a
 * time. Which models are read at a minute is the caller's (keep/pollPlanner.ts).
 */
export class CopyPoller {
  readonly #deps: CopyPollerDeps;
  /** Per model, the instant its last successful ModelCopy read reached. */
  readonly #readThrough = new Map<string, number>();
  /** Per model, the interval its last successful read was made at: the next one is due after it. */
  readonly #readInterval = new Map<string, number>();
  readonly #backfillPending = new Set<string>();
  /** Per region, why its last read failed, until a read works again. */
  readonly #failure = new Map<string, string>();
  /** Regions whose poll is still running: when it started, and whether a skip was logged. */
  readonly #polling = new Map<string, { startedAt: number; skipLogged: boolean }>();
  #stopped = false;

  constructor(deps: CopyPollerDeps) {
    this.#deps = deps;
  }

  /** The instant the last successful read of `name` reached, if any. */
  readThrough(name: string): number | undefined {
    return this.#readThrough.get(name);
  }

  /** The interval the last successful read of `name` was made at (a minute after a month read). */
  readIntervalOf(name: string): number {
    return this.#readInterval.get(name) ?? MINUTE_MS;
  }

  forget(name: string): void {
    this.#readThrough.delete(name);
    this.#readInterval.delete(name);
  }

  /** Why the last read of `region` failed, while it has not worked since. */
  failureIn(region: string): string | undefined {
    return this.#failure.get(region);
  }

  stop(): void {
    this.#stopped = true;
  }

  /**
   * Start of the next ModelCopy read of `models`: the lookback before the oldest of their
   * last reads, or before `now` when that is earlier (a wall clock stepped back).
   */
  readFrom(models: readonly ModelConfig[], now: number): number {
    let through = now;
    for (const m of models) through = Math.min(through, this.#readThrough.get(m.name) ?? now);
    return Math.floor(through / MINUTE_MS) * MINUTE_MS - LOOKBACK_MS;
  }

  /**
   * Rebuilds month-to-date from CloudWatch since the 1st 00:00 UTC, so a restart loses
   * nothing and counts nothing twice: the history is CloudWatch's, not keepwarm's.
   */
  async backfill(models: readonly ModelConfig[]): Promise<void> {
    const now = this.#deps.now();
    const month = monthRange(monthOf(now));
    await Promise.all(
      [...groupByRegion(models)].map(async ([region, group]) => {
        try {
          const points = await this.#readMonth(region, group, month, now);
          for (const m of group) this.#deps.sink.monthRead(m, points.get(m.name) ?? [], month, now);
          for (const m of group) {
            this.#readThrough.set(m.name, now);
            this.#readInterval.set(m.name, MINUTE_MS);
          }
          this.#backfillPending.delete(region);
          this.#failure.delete(region);
        } catch (error) {
          this.#backfillPending.add(region);
          this.#regionProblem(region, error, "month-to-date history");
        }
      }),
    );
  }

  /**
   * The minute's read of `models`: one poll per region, none while the region's previous one
   * runs. `intervalOf` is the interval each model is read at now (a minute unless given).
   * Returns true when every region was polled (none skipped).
   */
  async poll(
    models: readonly ModelConfig[],
    now: number,
    intervalOf?: (name: string) => number,
  ): Promise<boolean> {
    let skipped = false;
    await Promise.all(
      [...groupByRegion(models)].map(async ([region, group]) => {
        // A poll can outlast its minute (CloudWatch retries, 20 s each): a second one would
        // apply its older or newer observations in whatever order the two answer.
        const running = this.#polling.get(region);
        if (running) {
          skipped = true;
          this.#pollSkipped(region, running);
          return;
        }
        this.#polling.set(region, { startedAt: now, skipLogged: false });
        try {
          await this.#pollRegion(region, group, now, intervalOf);
        } finally {
          this.#polling.delete(region);
        }
      }),
    );
    return !skipped;
  }

  async #readMonth(
    region: string,
    group: readonly ModelConfig[],
    month: Interval,
    now: number,
  ): Promise<Map<string, CopyPoint[]>> {
    const read = await readCopyHistory(
      this.#deps.clients.get(region).cloudwatch,
      group.map(copyQueryOf),
      { start: month.start, end: now },
      now,
      this.#deps.metricsRequested,
    );
    return read.points;
  }

  /**
   * Fills in month-to-date if it is still missing, then reads ModelCopy from where the last
   * successful read of the group ended and hands it on. A gap older than CloudWatch keeps
   * 1-minute data for is rebuilt as the month's history is at start-up.
   */
  async #pollRegion(
    region: string,
    group: readonly ModelConfig[],
    now: number,
    intervalOf: ((name: string) => number) | undefined,
  ): Promise<void> {
    const from = this.readFrom(group, now);
    if (from < now - ONE_MINUTE_RETENTION_MS) this.#backfillPending.add(region);
    if (this.#backfillPending.has(region)) await this.backfill(group);
    let points: Map<string, CopyPoint[]>;
    const start = Math.max(this.readFrom(group, now), now - ONE_MINUTE_RETENTION_MS);
    try {
      // GetMetricData pages a long gap itself (100,800 datapoints a page); readModelCopies
      // follows the pages.
      points = await readModelCopies(
        this.#deps.clients.get(region).cloudwatch,
        group.flatMap((m) => [copyQueryOf(m), invocationsQueryOf(m)]),
        {
          start,
          end: now,
          periodSeconds: 60,
        },
        this.#deps.metricsRequested,
      );
    } catch (error) {
      this.#regionProblem(region, error, "ModelCopy");
      return;
    }
    this.#failure.delete(region);
    for (const m of group) {
      if (this.#stopped) return;
      this.#readThrough.set(m.name, now);
      this.#readInterval.set(m.name, intervalOf?.(m.name) ?? MINUTE_MS);
      this.#deps.sink.pointsRead(
        m,
        points.get(m.name) ?? [],
        points.get(invocationsKey(m.name)) ?? [],
        start,
      );
    }
  }

  /** Logged once per overrunning poll: the state it reports is as old as that poll. */
  #pollSkipped(region: string, running: { startedAt: number; skipLogged: boolean }): void {
    if (running.skipLogged) return;
    running.skipLogged = true;
    const since = new Date(running.startedAt).toISOString();
    this.#deps.log.warn(
      {
        event: "poll-skipped",
        region,
        pollStartedAt: since,
        reason: "the previous ModelCopy poll is still running (slow or retried GetMetricData)",
        retry: "at the first minute after it ends",
      },
      `ModelCopy poll in ${region} skipped: the one started at ${since} is still running`,
    );
  }

  #regionProblem(region: string, error: unknown, what: string): void {
    const failure =
      error instanceof AwsCallError
        ? error
        : new AwsCallError("cloudwatch:GetMetricData", "*", error);
    this.#deps.observer.awsError?.(failure.action, failure.awsName, failure.kind);
    this.#failure.set(region, `${failure.action} failed: ${failure.awsName}`);
    const transient = failure.kind === "throttled" || failure.kind === "unavailable";
    this.#deps.problems.report(
      this.#deps.log,
      `${region}:${failure.awsName}`,
      {
        event: "metrics-failed",
        region,
        reading: what,
        action: failure.action,
        errorName: failure.awsName,
        error: describeError(failure.cause),
        remedy: failure.remedy,
        retry: "at the next minute",
      },
      transient
        ? `${what} not read in ${region}: ${failure.awsName}`
        : `${what} not read in ${region}: ${failure.awsName}: ${failure.remedy}`,
      { level: transient ? "warn" : "error", always: transient },
    );
  }
}

function groupByRegion(models: readonly ModelConfig[]): Map<string, ModelConfig[]> {
  const byRegion = new Map<string, ModelConfig[]>();
  for (const m of models) {
    const list = byRegion.get(m.region) ?? [];
    list.push(m);
    byRegion.set(m.region, list);
  }
  return byRegion;
}

function copyQueryOf(m: ModelConfig): CopyQuery {
  return { key: m.name, metric: m.metric };
}

/**
 * Successful calls per minute on the model, read with its ModelCopy in the same call: the
 * last call before an eviction may be a user's or another replica's, not keepwarm's.
 */
function invocationsQueryOf(m: ModelConfig): CopyQuery {
  return {
    key: invocationsKey(m.name),
    metric: { ...m.metric, metricName: INVOCATIONS_METRIC_NAME },
  };
}

function invocationsKey(name: string): string {
  return `${name}\u0000Invocations`;
}
