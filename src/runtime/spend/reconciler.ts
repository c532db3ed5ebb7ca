import { AwsCallError, classifyAwsError, errorNameOf } from "../../aws/errors.js";
import {
  afterAnswer,
  afterFailure,
  dayStart,
  decideReconcile,
  freshSchedule,
  mergeSchedules,
  overdueDays,
  type ReconcileSchedule,
  settle,
} from "../../domain/reconcileSchedule.js";
import type { ReconcileReport } from "../../reconcile/types.js";
import { describeError, type Logger } from "../infra/logger.js";
import type { DaemonObserver } from "../infra/observer.js";
import type { StateFileSystem } from "../state/stateFiles.js";
import type { LeaseHolder } from "../state/stateLease.js";
import type { ReconciledDaySummary } from "../state/summaries.js";
import { daySummary, finalDays, logAnswer } from "./reconcileAnswer.js";
import { logReconciledGroup, type PriceNote } from "./reconcileLines.js";
import {
  type ReconcileState,
  readReconcileState,
  reconcilePath,
  standingsAfter,
  writeReconcileState,
} from "./reconcileState.js";
import { type ReconciliationStatus, reconciliationStatus } from "./reconcileStatus.js";

/** The IAM action of the Cost Explorer request. */
export const COST_EXPLORER_ACTION = "ce:GetCostAndUsage";
/** Days reconciled and not yet in a daily summary, at most (the summary takes them daily). */
const MAX_UNSUMMARISED = 64;

/** keepwarm's figures and AWS's bill for the UTC days [from, to), yyyy-MM-dd, `to` exclusive. */
export type ReconcileDays = (range: {
  readonly from: string;
  readonly to: string;
}) => Promise<ReconcileReport>;

export interface ReconcilerDeps {
  readonly stateDir: string;
  readonly log: Logger;
  readonly observer: DaemonObserver;
  readonly now: () => number;
  /** The reconciliation itself: Cost Explorer against keepwarm's figures, for the config in force. */
  readonly reconcile: ReconcileDays;
  /** Each configured model's price, named in a mismatch's likely causes. */
  readonly prices: () => ReadonlyMap<string, PriceNote>;
  readonly fs?: StateFileSystem | undefined;
  /** Cost Explorer is asked, and reconcile.json written, only while this replica holds the lease. */
  readonly lease?: LeaseHolder | undefined;
  /** The billable calls an answer took: keepwarm's own AWS cost. */
  readonly billed?: (calls: {
    readonly costExplorerRequests: number;
    readonly metricsRequested: number;
  }) => void;
}

/**
 * The daemon's daily reconciliation with AWS's bill: at the minute job, asks the core about
 * the days the schedule (domain/reconcileSchedule.ts) says are due, logs each final day's
 * usage types (`reconcile`), keeps their standings for the gauges, the status page and the
 * daily summary, and remembers in reconcile.json which days are done. A denied request
 * pauses it until the next reload; any other failure backs off. Never fatal.
 */
export class Reconciler {
  readonly #deps: ReconcilerDeps;
  #enabled: boolean;
  #state: ReconcileState;
  #loaded = false;
  #paused: { readonly at: number; readonly what: string } | undefined;
  #failures = 0;
  #asking: Promise<void> | undefined;
  /** The last decision to wait: its schedule, when it was made and until when it holds. */
  #waiting: { schedule: ReconcileSchedule; at: number; until: number } | undefined;
  #lastRequestAt: number | undefined;
  #unsummarised: ReconciledDaySummary[] = [];
  /** Usage types whose series the observer has. */
  #published = new Set<string>();
  #writing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(deps: ReconcilerDeps, enabled: boolean) {
    this.#deps = deps;
    this.#enabled = enabled;
    this.#state = { schedule: freshSchedule(deps.now()), usage: [] };
  }

  /** Reads reconcile.json; a missing one is a first start, a bad one is reported and replaced. */
  async load(): Promise<void> {
    try {
      const state = await readReconcileState(this.#deps.stateDir, this.#deps.fs);
      if (state) this.#state = state;
    } catch (error) {
      this.#deps.log.warn(
        {
          event: "state-file-ignored",
          path: reconcilePath(this.#deps.stateDir),
          error: describeError(error),
          effect: "the last week's final days are reconciled again",
        },
        `reconciliation state not read from ${reconcilePath(this.#deps.stateDir)}`,
      );
    }
    this.#loaded = true;
    this.#publish();
  }

  /** A config (re)load: reconciliation switched on or off; a pause after a denied request ends. */
  configure(enabled: boolean): void {
    this.#enabled = enabled;
    if (this.#paused) {
      this.#paused = undefined;
      this.#failures = 0;
      const { schedule } = this.#state;
      const now = this.#deps.now();
      this.#state = {
        ...this.#state,
        schedule: { ...schedule, notBefore: Math.min(schedule.notBefore, now) },
      };
    }
    this.#publish();
  }

  /**
   * The minute job's part: asks when a day is due (a request at most, and none while one is
   * under way); resolves once the answer is logged and saved, undefined when nothing is asked.
   */
  tick(): Promise<void> | undefined {
    if (!this.#active() || this.#asking) return undefined;
    const now = this.#deps.now();
    const memo = this.#waiting;
    // The schedule is replaced, never changed in place: the same one at a later instant
    // before its `until` waits still, and the minute job need not ask again.
    if (memo && memo.schedule === this.#state.schedule && memo.at <= now && now < memo.until) {
      return undefined;
    }
    const decision = decideReconcile(this.#state.schedule, now);
    if (decision.kind !== "request") {
      this.#waiting = { schedule: this.#state.schedule, at: now, until: decision.until };
      return undefined;
    }
    this.#waiting = undefined;
    // Never fatal: whatever goes wrong is a failure like any other, logged and backed off.
    const asking = this.#ask()
      .catch((error: unknown) => this.#failed(error, this.#deps.now()))
      .finally(() => {
        this.#asking = undefined;
      });
    this.#asking = asking;
    return asking;
  }

  /** The days reconciled since the last call, oldest first: the daily summary's. */
  takeDays(): ReconciledDaySummary[] {
    return this.#unsummarised.splice(0);
  }

  status(): ReconciliationStatus {
    const now = this.#deps.now();
    return reconciliationStatus(
      {
        enabled: this.#enabled,
        paused: this.#paused,
        asking: this.#asking !== undefined,
        lease: this.#deps.lease,
        schedule: this.#state.schedule,
        usage: this.#state.usage,
        lastRequestAt: this.#lastRequestAt,
      },
      now,
    );
  }

  /** No more requests; resolves once the last write of reconcile.json has ended. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.#writing;
  }

  #active(): boolean {
    if (!this.#enabled || this.#paused || this.#stopped || !this.#loaded) return false;
    return !this.#deps.lease || this.#deps.lease.holds();
  }

  async #ask(): Promise<void> {
    // A replica that held the lease before may have reconciled days since this one loaded.
    await this.#mergeFile();
    const now = this.#deps.now();
    this.#closeOverdue(now);
    const decision = decideReconcile(this.#state.schedule, now);
    if (decision.kind !== "request") return this.#save();
    this.#lastRequestAt = now;
    let report: ReconcileReport;
    try {
      report = await this.#deps.reconcile({ from: decision.from, to: decision.to });
    } catch (error) {
      if (this.#stopped) return;
      this.#failed(error, now);
      return this.#save();
    }
    this.#deps.billed?.(report);
    if (this.#stopped) return;
    this.#failures = 0;
    this.#answered(decision.from, decision.to, decision.days, report, now);
    return this.#save();
  }

  #answered(
    from: string,
    to: string,
    asked: readonly string[],
    report: ReconcileReport,
    now: number,
  ): void {
    const final = finalDays(asked, report);
    const prices = this.#deps.prices();
    let usage = this.#state.usage;
    for (const day of final) {
      for (const g of day.groups) logReconciledGroup(this.#deps.log, day.date, g, prices);
      usage = standingsAfter(usage, day);
      this.#unsummarised.push(daySummary(day));
    }
    this.#unsummarised.splice(0, Math.max(0, this.#unsummarised.length - MAX_UNSUMMARISED));
    const closed = final.map((d) => d.date);
    const schedule = afterAnswer(this.#state.schedule, now, closed);
    this.#state = { schedule, usage };
    logAnswer(this.#deps.log, { from, to, asked, closed, notBefore: schedule.notBefore, report });
    this.#publish();
  }

  #failed(error: unknown, now: number): void {
    const call = error instanceof AwsCallError ? error : undefined;
    const kind = call?.kind ?? classifyAwsError(error);
    const action = call?.action ?? COST_EXPLORER_ACTION;
    const errorName = call?.awsName ?? errorNameOf(error);
    this.#deps.observer.awsError?.(action, errorName, kind);
    if (kind === "denied") {
      this.#paused = { at: now, what: `${errorName} on ${action}` };
      this.#deps.log.warn(
        {
          event: "reconcile-failed",
          action,
          errorName,
          error: describeError(error),
          remedy: `grant ${action} to the credentials keepwarm runs with (deploy/iam-policy.json), then reload (SIGHUP)`,
          effect:
            "reconciliation with AWS's bill paused until the next reload; keeping warm goes on",
        },
        `reconciliation with AWS's bill paused: ${errorName} on ${action}`,
      );
      return;
    }
    this.#failures++;
    const schedule = afterFailure(this.#state.schedule, now, this.#failures);
    this.#state = { ...this.#state, schedule };
    const retryAt = new Date(schedule.notBefore).toISOString();
    this.#deps.log.warn(
      {
        event: "reconcile-failed",
        action,
        errorName,
        error: describeError(error),
        remedy: call?.remedy ?? "retried with backoff",
        effect: `retried at ${retryAt} (failure ${this.#failures} in a row)`,
      },
      `reconciliation with AWS's bill failed: ${errorName}; retried at ${retryAt}`,
    );
  }

  /** Days that left the window unreconciled: one warning, and they are not asked about again. */
  #closeOverdue(now: number): void {
    const { schedule } = this.#state;
    const overdue = overdueDays(schedule, now);
    if (overdue.length > 0) {
      this.#deps.log.warn(
        {
          event: "reconcile",
          status: "pending",
          dates: overdue,
          reason:
            "not final in Cost Explorer 45 days after, or passed while keepwarm was not running",
        },
        `${overdue.length} day(s) given up without reconciling (${overdue[0]} to ${overdue.at(-1)})`,
      );
    }
    this.#state = { ...this.#state, schedule: settle(schedule, now, overdue) };
  }

  async #mergeFile(): Promise<void> {
    let theirs: ReconcileState | undefined;
    try {
      theirs = await readReconcileState(this.#deps.stateDir, this.#deps.fs);
    } catch {
      // Unreadable: replaced at the next write, as load() reported.
      return;
    }
    if (!theirs) return;
    const ours = new Map(this.#state.usage.map((s) => [s.usageType, s]));
    for (const s of theirs.usage) {
      const mine = ours.get(s.usageType);
      if (!mine || mine.date < s.date) ours.set(s.usageType, s);
    }
    this.#state = {
      schedule: mergeSchedules(this.#state.schedule, theirs.schedule),
      usage: [...ours.values()].sort((a, b) => a.usageType.localeCompare(b.usageType)),
    };
    this.#publish();
  }

  #save(): Promise<void> {
    const state = this.#state;
    const { stateDir, fs, log } = this.#deps;
    this.#writing = this.#writing
      .then(() => writeReconcileState(stateDir, state, fs))
      .catch((error: unknown) => {
        log.error(
          {
            event: "state-write-failed",
            path: reconcilePath(stateDir),
            error: describeError(error),
            retry: "at the next request to Cost Explorer; a restart may reconcile those days again",
          },
          `reconciliation state not written to ${reconcilePath(stateDir)}`,
        );
      });
    return this.#writing;
  }

  /** The observer's series follow the standings: set for each usage type, removed when gone or off. */
  #publish(): void {
    const { observer } = this.#deps;
    const shown = this.#enabled ? this.#state.usage : [];
    const keep = new Set(shown.map((s) => s.usageType));
    for (const usageType of this.#published) {
      if (!keep.has(usageType)) observer.usageForgotten?.(usageType);
    }
    for (const s of shown) {
      observer.usageReconciled?.({
        usageType: s.usageType,
        dayStart: dayStart(s.date),
        keepwarmUsd: s.keepwarmUsd ?? undefined,
        awsUsd: s.awsUsd ?? undefined,
        mismatchDays: s.mismatchDays,
      });
    }
    this.#published = keep;
  }
}
