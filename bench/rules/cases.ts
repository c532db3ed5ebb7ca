import { fileURLToPath } from "node:url";
import { loadSimConfigFile, type SimConfig } from "../../src/sim/config.js";
import { type ModelSimulation, projectionErrorPct } from "../../src/whatif/simulate.js";

/**
 * The idle rules and restore times keepwarm must hold a model warm under, on the sample
 * config over December 2026, each a sim config beside this file so that one row of the
 * table is one `keepwarm simulate --sim-config` command.
 */
export interface RuleCase {
  readonly name: string;
  /** What the row says about the simulated Bedrock. */
  readonly rule: string;
  /** The article's window rule bills up to two idle windows past each run, so it is allowed more. */
  readonly windowRule: boolean;
  /**
   * One of issue 8's acceptance cases: a miss fails the bench. The others are rules of our
   * own, held to the same thresholds and reported, so that what they show is on record.
   */
  readonly acceptance: boolean;
  /**
   * For a rule that changes mid-month: the UTC day (YYYY-MM-DD) whose first-minute projection
   * is judged against the ledger, since the month's first minute cannot know of the change.
   */
  readonly projectionOn?: string;
}

export const RULE_CASES: readonly RuleCase[] = [
  {
    name: "evict-5m",
    rule: "evicted 5 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "evict-10m",
    rule: "evicted 10 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "evict-15m",
    rule: "evicted 15 min after the last call, restore 90 s +-10 s (reference)",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "evict-30m",
    rule: "evicted 30 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "evict-60m",
    rule: "evicted 60 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "windows",
    rule: "article's rule: end of the call's 5-min window + 2 idle windows, restore 90 s +-10 s",
    windowRule: true,
    acceptance: true,
  },
  {
    name: "restore-20s",
    rule: "restore 20 s +-2 s, evicted 15 min after the last call",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "restore-90s",
    rule: "restore 90 s +-9 s, evicted 15 min after the last call",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "restore-4m",
    rule: "restore 4 min +-24 s, evicted 15 min after the last call",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "restore-6m",
    rule: "restore 6 min +-36 s, evicted 15 min after the last call",
    windowRule: false,
    acceptance: true,
  },
  {
    name: "evict-2m",
    rule: "evicted 2 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "evict-3m",
    rule: "evicted 3 min after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "evict-120m",
    rule: "evicted 2 hours after the last call, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "evict-7m-restore-5m",
    rule: "evicted 7 min after the last call, restore 5 min +-1 min",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "restore-10m",
    rule: "restore 10 min +-2 min, evicted 15 min after the last call",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "jitter-wide",
    rule: "restore 2 min +-110 s (20 s to 3m50s), evicted 15 min after the last call",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "windows-1",
    rule: "window rule with 1 idle window (5-10 min by phase), restore 90 s +-10 s",
    windowRule: true,
    acceptance: false,
  },
  {
    name: "windows-3",
    rule: "window rule with 3 idle windows (15-20 min by phase), restore 3 min +-30 s",
    windowRule: true,
    acceptance: false,
  },
  {
    name: "evict-varies-5-15m",
    rule: "evicted 10 min +-5 min after the last call, drawn afresh each time, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "evict-varies-10-110m",
    rule: "evicted 60 min +-50 min after the last call, drawn afresh each time, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
  },
  {
    name: "change-15m-to-5m",
    rule: "evicted 15 min after the last call until 14 Dec, 5 min after it from then on, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
    projectionOn: "2026-12-21",
  },
  {
    name: "change-15m-to-60m",
    rule: "evicted 15 min after the last call until 14 Dec, 60 min after it from then on, restore 90 s +-10 s",
    windowRule: false,
    acceptance: false,
    projectionOn: "2026-12-21",
  },
  {
    name: "change-restore-90s-to-6m",
    rule: "restore 90 s +-10 s until 14 Dec, 6 min from then on, evicted 15 min after the last call",
    windowRule: false,
    acceptance: false,
    projectionOn: "2026-12-21",
  },
];

/** The reference rule of bedrock-facts.md: what keepwarm measured before it learned timings. */
export const REFERENCE_CASE = "evict-15m";

export interface Limits {
  readonly minCoveragePct: number;
  readonly maxBilledPerWindow: number;
  /** Of |projection - ledger| / ledger. */
  readonly maxProjectionErrorPct: number;
}

export function limitsOf(c: RuleCase): Limits {
  return c.windowRule
    ? { minCoveragePct: 99.9, maxBilledPerWindow: 1.05, maxProjectionErrorPct: 2 }
    : { minCoveragePct: 99.9, maxBilledPerWindow: 1.03, maxProjectionErrorPct: 1 };
}

/** Under the reference rule nothing may get worse than it was: these are its figures before. */
export const REFERENCE_LIMITS: Readonly<Record<string, Limits>> = {
  "mimo-vl": { minCoveragePct: 100, maxBilledPerWindow: 1.016, maxProjectionErrorPct: 0.1 },
  "batch-llama": { minCoveragePct: 100, maxBilledPerWindow: 1.063, maxProjectionErrorPct: 0.1 },
};

export const SAMPLE_CONFIG = "config/keepwarm.yaml";

export function simConfigPath(c: RuleCase): string {
  return `bench/rules/${c.name}.yaml`;
}

export function commandOf(c: RuleCase): string {
  return `keepwarm simulate --config ${SAMPLE_CONFIG} --month 2026-12 --sim-config ${simConfigPath(c)}`;
}

export async function loadRuleCase(c: RuleCase): Promise<SimConfig> {
  const path = fileURLToPath(new URL(`${c.name}.yaml`, import.meta.url));
  const loaded = await loadSimConfigFile(path);
  if (!loaded.ok) throw new Error(`${path}: ${JSON.stringify(loaded.problems)}`);
  return loaded.config;
}

/** One row of the table: keepwarm's figures for one model under one case. */
export interface Verdict {
  readonly coveragePct: number;
  readonly coldStarts: number;
  readonly billedPerWindow: number;
  readonly projectionErrorPct: number;
  /** Each threshold missed, in words; empty when the row passes. */
  readonly misses: readonly string[];
}

/** The projection judged: at the month's first minute, or at the first minute of `projectionOn`. */
export function projectionErrorOf(m: ModelSimulation, projectionOn?: string): number | undefined {
  const kw = m.keepwarm;
  // Undefined for part of a month, as the month's first projection is.
  if (projectionOn === undefined || kw.projectionErrorPct === undefined)
    return kw.projectionErrorPct;
  // The cases run the whole of December: day 1 is index 0.
  const day = Number(projectionOn.slice(8, 10)) - 1;
  return projectionErrorPct(kw.dailyProjectedUsd[day], kw.totalUsd);
}

export function judge(m: ModelSimulation, limits: Limits, projectionOn?: string): Verdict {
  const kw = m.keepwarm;
  const billedPerWindow = kw.billedMinutes / kw.windowMinutes;
  // A month with no projection is a miss, not a pass.
  const projectionErrorPct = projectionErrorOf(m, projectionOn) ?? Number.POSITIVE_INFINITY;
  const misses: string[] = [];
  if (kw.coveragePct < limits.minCoveragePct) {
    misses.push(`coverage ${kw.coveragePct.toFixed(3)}% < ${limits.minCoveragePct}%`);
  }
  if (billedPerWindow > limits.maxBilledPerWindow) {
    misses.push(`billed/window ${billedPerWindow.toFixed(4)} > ${limits.maxBilledPerWindow}`);
  }
  if (!(Math.abs(projectionErrorPct) <= limits.maxProjectionErrorPct)) {
    misses.push(
      `projection ${projectionErrorPct.toFixed(3)}% beyond +-${limits.maxProjectionErrorPct}%`,
    );
  }
  return {
    coveragePct: kw.coveragePct,
    coldStarts: kw.coldStartsInWindows,
    billedPerWindow,
    projectionErrorPct,
    misses,
  };
}
