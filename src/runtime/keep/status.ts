import type { Interval } from "../../domain/interval.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { WarmState } from "../infra/observer.js";
import type { DemandView } from "../observe/demandWatch.js";
import type { OverheadFigures } from "../spend/overhead.js";
import type { ReconciliationStatus } from "../spend/reconcileStatus.js";
import type { SpendFigures } from "../spend/spendBook.js";
import type { ModelCounters } from "./counters.js";
import type { LastPing } from "./decide.js";

/** One model's day in the config's zone: what the plan wanted and what ModelCopy saw. */
export interface DayTimeline {
  /** Local midnight to the next, epoch ms. */
  readonly range: Interval;
  /** Desired-warm windows, clipped to the day. */
  readonly windows: readonly Interval[];
  /** Planned warm spans (lead time and closing tail included), clipped to the day. */
  readonly plannedWarm: readonly Interval[];
  /** Minutes ModelCopy showed at least one copy, merged into spans, up to the latest datapoint. */
  readonly observedWarm: readonly Interval[];
  /** Minutes with a ModelCopy datapoint at all (warm or cold), merged; the rest is unknown. */
  readonly observed: readonly Interval[];
  /** Instants of the day's cold starts (first ModelNotReadyException of each). */
  readonly coldStarts: readonly number[];
}

/** What `status()` tells about one model, for /readyz, the status page, `simulate` and tests. */
export interface ModelStatus extends SpendFigures {
  readonly name: string;
  /** The model's own policy. */
  readonly policy: string;
  /** The policy in force now (an override may apply). */
  readonly activePolicy: string;
  /** The zones `policy` and `activePolicy` read their windows in; the config's unless set. */
  readonly policyTimezone: string;
  readonly activePolicyTimezone: string;
  /** The window open now, if any, and the next one to open. */
  readonly currentWindow: Interval | undefined;
  readonly nextWindow: Interval | undefined;
  /** The end of the days looked ahead for windows: a window ending here has no end in sight (always-on). */
  readonly lookAheadEnd: number;
  readonly state: WarmState;
  /** Since when the state has been what it is (the first datapoint or ping that showed it). */
  readonly stateSince: number | undefined;
  /** Set when the last ModelCopy read is too old to tell the state: since when, and why. */
  readonly stale?: { readonly asOf: number; readonly reason: string } | undefined;
  /** Why the spend figures are unknown, when they are (CMU unknown, month not read yet). */
  readonly spendUnknown?: string | undefined;
  readonly copies: number | undefined;
  readonly lastPingOkAt: number | undefined;
  readonly lastPing: LastPing | undefined;
  /** The next planned ping after now, within the plan horizon. */
  readonly nextPingAt: number | undefined;
  readonly timings: ModelTimings;
  readonly counters: Readonly<ModelCounters>;
  readonly restoreSecondsMedian: number | undefined;
  readonly evictionMinutesMedian: number | undefined;
  /** Copy-minutes billed this month, from ModelCopy. */
  readonly billedCopyMinutes: number;
  /** The model's monthly budget in USD, if one is configured. */
  readonly budgetUsd: number | undefined;
  readonly today: DayTimeline;
}

export interface DaemonStatus {
  /** The instant the status describes. */
  readonly now: number;
  /** The config's zone: the day of `today` and the page's local times. */
  readonly timezone: string;
  /** Running against the built-in simulator. */
  readonly simulated: boolean;
  /** Start-up is done and every model has been reconciled with ModelCopy once. */
  readonly ready: boolean;
  readonly configLoaded: boolean;
  readonly firstReconcileDone: boolean;
  /** The whole fleet's monthly budget in USD, if one is configured. */
  readonly fleetBudgetUsd: number | undefined;
  /** keepwarm's own AWS cost this month; absent where no daemon counts it. */
  readonly overhead?: OverheadFigures;
  /** The reconciliation with AWS's bill; absent where no daemon reconciles. */
  readonly reconciliation?: ReconciliationStatus;
  readonly models: readonly ModelStatus[];
  /** Each model's users' demand, once read from CloudWatch (observe/demandWatch.ts). */
  readonly demand?: readonly DemandView[];
}
