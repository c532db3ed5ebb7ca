import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type Limits,
  limitsOf,
  loadRuleCase,
  projectionErrorOf,
  REFERENCE_LIMITS,
  RULE_CASES,
  type RuleCase,
} from "../../bench/rules/cases.js";
import { loadConfigFile } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { type MonthSimulation, simulateMonth } from "../../src/whatif/simulate.js";

// Whole months of the sample config under a few of bench/rules/ (the bench runs them all):
// the shortest eviction AWS has stated, the longest (support's "typically one hour", longer
// than any cadence), the article's window rule, the slowest restore, and the reference rule;
// and two rules of our own: a 2-minute eviction (the cadence at its 1-minute floor, next to
// the shortest eviction taken for Bedrock's idle rule) and the window rule with one idle
// window (5-10 minutes by phase); and a rule that changes mid-month.
// Each month is several seconds of CPU; the machine is shared.
const MONTH_TIMEOUT_MS = 600_000;
const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
const MODELS = ["mimo-vl", "batch-llama"];

async function sampleConfig(): Promise<ResolvedConfig> {
  const loaded = await loadConfigFile(SAMPLE, { stateDir: "/nonexistent" });
  if (!loaded.ok) throw new Error(`sample config invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.config;
}

function ruleCase(name: string): RuleCase {
  const c = RULE_CASES.find((x) => x.name === name);
  if (!c) throw new Error(`no rule case ${name}`);
  return c;
}

async function simulateCase(c: RuleCase): Promise<MonthSimulation> {
  const sim = await loadRuleCase(c);
  return simulateMonth({
    config: await sampleConfig(),
    month: "2026-12",
    sim: sim.settings,
    simModels: sim.models,
    faults: sim.faults,
  });
}

/** The case's month, simulated once before the block's tests. */
function simulatedBeforeAll(name: string): { readonly c: RuleCase; result(): MonthSimulation } {
  const c = ruleCase(name);
  let result: MonthSimulation | undefined;
  beforeAll(async () => {
    result = await simulateCase(c);
  }, MONTH_TIMEOUT_MS);
  return {
    c,
    result: () => {
      if (!result) throw new Error(`${name} was not simulated`);
      return result;
    },
  };
}

function expectWithin(result: MonthSimulation, model: string, limits: Limits): void {
  const m = result.models.find((x) => x.model === model);
  expect(m, `${model} simulated`).toBeDefined();
  const kw = m?.keepwarm as NonNullable<typeof m>["keepwarm"];
  expect(kw.windowMinutes).toBeGreaterThan(0);
  expect(kw.coveragePct, `${model} coverage`).toBeGreaterThanOrEqual(limits.minCoveragePct);
  expect(kw.billedMinutes / kw.windowMinutes, `${model} billed/window`).toBeLessThanOrEqual(
    limits.maxBilledPerWindow,
  );
  expect(kw.projectionErrorPct, `${model} projection`).toBeDefined();
  expect(
    Math.abs(kw.projectionErrorPct as number),
    `${model} projection error %`,
  ).toBeLessThanOrEqual(limits.maxProjectionErrorPct);
}

describe("simulateMonth under Bedrock's idle rules, the sample config over December 2026", () => {
  describe.each(["evict-5m", "evict-60m", "windows", "restore-6m", "evict-2m", "windows-1"])(
    "%s",
    (name) => {
      const { c, result } = simulatedBeforeAll(name);
      it.each(MODELS)(
        "keeps %s warm, bills and projects it within the case's thresholds",
        (model) => {
          expectWithin(result(), model, limitsOf(c));
        },
      );
    },
  );

  describe("Bedrock shortening its idle rule mid-month (15 minutes, 5 from 14 December)", () => {
    const { c, result } = simulatedBeforeAll("change-15m-to-5m");
    it.each(MODELS)(
      "meets %s cold once, after the change, and projects the bill a week on",
      (model) => {
        const m = result().models.find((x) => x.model === model);
        const kw = m?.keepwarm as NonNullable<typeof m>["keepwarm"];
        expect(kw.coldStartsInWindows).toBe(1);
        expect(kw.coveragePct).toBeGreaterThanOrEqual(99.9);
        expect(kw.billedMinutes / kw.windowMinutes).toBeLessThanOrEqual(1.03);
        // A projection a day, the first the month's one.
        expect(kw.dailyProjectedUsd).toHaveLength(31);
        expect(kw.dailyProjectedUsd[0]).toBe(kw.projectedUsd);
        const onThe21st = projectionErrorOf(m as NonNullable<typeof m>, c.projectionOn);
        expect(c.projectionOn).toBe("2026-12-21");
        expect(Math.abs(onThe21st as number)).toBeLessThanOrEqual(1);
      },
    );
  });

  describe("the reference rule (15 minutes after the last call, 90 s restore)", () => {
    const { c, result } = simulatedBeforeAll("evict-15m");
    it.each(MODELS)("keeps %s within the case's thresholds", (model) => {
      expectWithin(result(), model, limitsOf(c));
    });

    it.each(MODELS)("does no worse for %s than before timings were learned", (model) => {
      expectWithin(result(), model, REFERENCE_LIMITS[model] as Limits);
      const kw = result().models.find((x) => x.model === model)?.keepwarm;
      expect(kw?.coldStartsInWindows).toBe(0);
    });
  });
});
