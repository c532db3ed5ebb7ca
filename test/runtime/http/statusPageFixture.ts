import type { DaemonStatus, ModelStatus } from "../../../src/runtime/keep/status.js";
import { local as at, ZONE } from "../../e2e/daemonHarness.js";

/** `hhmm` on Monday 7 December 2026 (or `day`), local time in Asia/Shanghai. */
export { at };

const span = (from: string, to: string, day = 7) => ({ start: at(from, day), end: at(to, day) });

/**
 * A model at 13:30 on a business-hours Monday: warmed by a cold start at 08:55, warm since
 * 08:57, ModelCopy up to 13:27 with a gap 11:00-11:10.
 */
export function modelStatus(overrides: Partial<ModelStatus> = {}): ModelStatus {
  return {
    name: "mimo-vl",
    policy: "business-hours",
    activePolicy: "business-hours",
    policyTimezone: ZONE,
    activePolicyTimezone: ZONE,
    currentWindow: span("09:00", "18:00"),
    nextWindow: span("09:00", "18:00", 8),
    lookAheadEnd: at("13:30", 15),
    state: "warm",
    stateSince: at("08:57"),
    copies: 1,
    lastPingOkAt: at("13:22"),
    lastPing: { at: at("13:22"), result: "ok", reason: "cadence" },
    nextPingAt: at("13:36"),
    timings: {
      cadence: { ms: 14 * 60_000, source: "configured" },
      leadTime: { ms: 5 * 60_000, source: "assumed" },
      evictionDelay: { ms: 15 * 60_000, source: "learned" },
      restore: { ms: 90_000, source: "assumed" },
    },
    counters: {
      pingsOk: 21,
      pingsFailed: 2,
      requests: 40,
      coldStarts: 1,
      coldStartsInWindow: 0,
      windowsOpenedCold: 0,
      restoreSeconds: [92],
      evictionMinutes: [],
      recoveries: 0,
    },
    restoreSecondsMedian: 92,
    evictionMinutesMedian: undefined,
    billedCopyMinutes: 1_000,
    cmu: 4,
    usdPerCmuMinute: 0.05718,
    monthToDateUsd: 228.72,
    projectedMonthUsd: 2_900.5,
    alwaysOnMonthUsd: 10_210.06,
    savingUsd: 7_309.56,
    budgetUsd: undefined,
    today: {
      range: { start: at("00:00"), end: at("00:00", 8) },
      windows: [span("09:00", "18:00")],
      plannedWarm: [span("08:55", "18:14")],
      observedWarm: [span("08:57", "11:00"), span("11:10", "13:28")],
      observed: [span("00:00", "11:00"), span("11:10", "13:28")],
      coldStarts: [at("08:55")],
    },
    ...overrides,
  };
}

export function daemonStatus(overrides: Partial<DaemonStatus> = {}): DaemonStatus {
  return {
    now: at("13:30"),
    timezone: ZONE,
    simulated: false,
    ready: true,
    configLoaded: true,
    firstReconcileDone: true,
    fleetBudgetUsd: undefined,
    models: [modelStatus()],
    ...overrides,
  };
}
