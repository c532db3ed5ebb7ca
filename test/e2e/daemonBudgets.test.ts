import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printReport } from "../../src/cli/report.js";
import { budgetReachedOn } from "../../src/domain/budget.js";
import { formatUsd } from "../../src/domain/format.js";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import {
  type BudgetScope,
  type DaemonObserver,
  noopObserver,
} from "../../src/runtime/infra/observer.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import { BUDGETS_FILE } from "../../src/runtime/state/budgetState.js";
import type { DailySummary } from "../../src/runtime/state/summaries.js";
import {
  ARN as ARN_A,
  at,
  businessHoursYaml,
  configOf,
  eventsOf,
  type Harness,
  harnessPerTest,
  local,
  seededRandom,
} from "./daemonHarness.js";

const ARN_B = "arn:aws:bedrock:us-west-2:123456789012:imported-model/b2b2b2b2b2b2";

/**
 * alpha (4 CMU) and beta (CMU read from GetImportedModel) on business hours. From Monday
 * 7 December 08:00 in Shanghai alpha's month projects to about $2,385: 85% of a $2,800
 * budget, and over a $2,000 fleet budget.
 */
const yaml = (budgets = "budgets:\n  fleet: 2000\n  models:\n    alpha: 2800\n") =>
  businessHoursYaml({
    models: [
      { name: "alpha", modelArn: ARN_A, lines: ["customModelUnits: 4"] },
      { name: "beta", modelArn: ARN_B },
    ],
    timings: "fixed",
  }) + budgets;

/** Which budget, which month, which threshold, for each `budget` line. */
const crossings = (h: Harness) =>
  eventsOf(h.lines, "budget").map((l) => [l.scope, l.model ?? null, l.month, l.threshold]);

describe("Daemon budgets", () => {
  const startHarness = harnessPerTest();

  it("logs each threshold once per budget and month, over the wire, and not again after a restart", async () => {
    const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
    h.sim.faults.add({ kind: "accessDenied", modelArn: ARN_B, operations: ["GetImportedModel"] });
    await h.daemon.start();
    await h.clock.runUntil(local("10:00"));

    expect(crossings(h)).toEqual([
      ["model", "alpha", "2026-12", 80],
      ["fleet", null, "2026-12", 80],
      ["fleet", null, "2026-12", 100],
    ]);
    const [alpha, fleet80, fleet100] = eventsOf(h.lines, "budget");
    const spend = eventsOf(h.lines, "spend", "alpha").find((l) => at(l) === at(alpha as never));
    expect(alpha).toMatchObject({
      level: "warn",
      budgetUsd: 2800,
      projectedMonthUsd: spend?.projectedMonthUsd,
      monthToDateUsd: spend?.monthToDateUsd,
      reachedOn: null,
    });
    const projected = alpha?.projectedMonthUsd as number;
    expect(projected).toBeGreaterThan(0.8 * 2800);
    expect(projected).toBeLessThan(2800);
    expect(alpha?.ratio).toBeCloseTo(projected / 2800, 3);
    // The fleet is held against alpha alone: beta's CMU, and so its spend, is unknown.
    expect(fleet80).toMatchObject({
      budgetUsd: 2000,
      projectedMonthUsd: projected,
      modelsWithUnknownCmu: ["beta"],
      reachedOn: budgetReachedOn(2000, 0, projected, at(fleet80 as never)),
    });
    expect(fleet80?.reachedOn).toMatch(/^2026-12-2\d$/);
    expect(fleet100?.msg).toContain("left out with CMU unknown: beta");

    const saved = JSON.parse(readFileSync(join(h.stateDir, BUDGETS_FILE), "utf8"));
    expect(saved.crossings.map((c: { model: string | null }) => c.model)).toEqual([
      "alpha",
      null,
      null,
    ]);
    await h.restart();
    await h.clock.runUntil(local("11:00"));
    expect(eventsOf(h.lines, "start")).toHaveLength(2);
    expect(eventsOf(h.lines, "budget")).toHaveLength(3);
  });

  it("announces a new month's crossings again once the UTC month rolls over", async () => {
    // Always-on from 30 November 12:00 UTC: November projects to about $172 (86% of $200),
    // December to $10,217.86.
    const h = await startHarness({
      config: configOf(`
models:
  - name: alpha
    modelArn: ${ARN_A}
    policy: always-on
    customModelUnits: 4
budgets:
  models:
    alpha: 200
`),
      start: Date.UTC(2026, 10, 30, 12, 0),
    });
    await h.daemon.start();
    await h.clock.runUntil(Date.UTC(2026, 11, 1, 0, 5));
    expect(crossings(h)).toEqual([
      ["model", "alpha", "2026-11", 80],
      ["model", "alpha", "2026-12", 80],
      ["model", "alpha", "2026-12", 100],
    ]);
    const december = eventsOf(h.lines, "budget").at(-1);
    expect(at(december as never)).toBe(Date.UTC(2026, 11, 1, 0, 0));
    expect(december?.reachedOn).toBe("2026-12-01");
  });

  it("sets a gauge per budget every minute and removes the one a reload drops", async () => {
    const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
    const calls: [string, BudgetScope, number?, number?][] = [];
    const observer: DaemonObserver = {
      ...noopObserver,
      budget: (scope, budgetUsd, projected) => calls.push(["set", scope, budgetUsd, projected]),
      budgetRemoved: (scope) => calls.push(["removed", scope]),
    };
    h.daemon = new Daemon(configOf(yaml()), {
      clock: h.clock,
      logger: h.logger,
      clients: h.clients,
      stateDir: h.stateDir,
      observer,
      random: seededRandom(7),
    });
    await h.daemon.start();
    await h.clock.runUntil(local("08:02") + 1_000);
    const alphaSpend = h.daemon.spendOf("alpha").projectedMonthUsd as number;
    const betaSpend = h.daemon.spendOf("beta").projectedMonthUsd as number;
    expect(calls.slice(-2)).toEqual([
      ["set", { scope: "model", model: "alpha" }, 2800, alphaSpend],
      ["set", { scope: "fleet" }, 2000, alphaSpend + betaSpend],
    ]);
    // Two budgets at each of the minutes 08:01 and 08:02.
    expect(calls.filter(([kind]) => kind === "set")).toHaveLength(2 * 2);
    expect(h.daemon.status()).toMatchObject({ fleetBudgetUsd: 2000 });
    expect(h.daemon.status().models.map((m) => [m.name, m.budgetUsd])).toEqual([
      ["alpha", 2800],
      ["beta", undefined],
    ]);

    calls.length = 0;
    await h.daemon.applyConfig(configOf(yaml("budgets:\n  models:\n    alpha: 2800\n")));
    expect(calls).toEqual([
      [
        "set",
        { scope: "model", model: "alpha" },
        2800,
        h.daemon.spendOf("alpha").projectedMonthUsd,
      ],
      ["removed", { scope: "fleet" }],
    ]);
    expect(h.daemon.status().fleetBudgetUsd).toBeUndefined();
  });

  it("exposes each budget and its projection on /metrics", async () => {
    const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
    const metrics = new PromMetrics({ processMetrics: false });
    h.daemon = new Daemon(configOf(yaml()), {
      clock: h.clock,
      logger: h.logger,
      clients: h.clients,
      stateDir: h.stateDir,
      observer: metrics,
      random: seededRandom(7),
    });
    await h.daemon.start();
    await h.clock.runUntil(local("08:02"));
    const text = await metrics.registry.metrics();
    expect(text).toContain('keepwarm_budget_usd{scope="model",model="alpha"} 2800');
    expect(text).toContain('keepwarm_budget_usd{scope="fleet",model=""} 2000');
    const projected = h.daemon.spendOf("alpha").projectedMonthUsd;
    expect(text).toContain(
      `keepwarm_budget_projected_usd{scope="model",model="alpha"} ${projected}`,
    );

    await h.daemon.applyConfig(configOf(yaml("budgets:\n  models:\n    alpha: 2800\n")));
    const after = await metrics.registry.metrics();
    expect(after).not.toContain('scope="fleet"');
    expect(after).toContain('keepwarm_budget_usd{scope="model",model="alpha"} 2800');
  });

  it("reports a corrupt budgets.json, ignores it and replaces it at the next crossing", async () => {
    const config = configOf(yaml());
    const h = await startHarness({ config, start: local("08:00") });
    writeFileSync(join(h.stateDir, BUDGETS_FILE), '{"crossings": [{"model": 3}]}');
    await h.daemon.start();
    await h.clock.runUntil(local("08:05"));
    const unreadable = eventsOf(h.lines, "budget-state-unreadable");
    expect(unreadable).toHaveLength(1);
    expect(unreadable[0]).toMatchObject({ level: "warn", stateDir: h.stateDir });
    expect(JSON.stringify(unreadable[0]?.error)).toContain("crossings[0] is not a budget crossing");
    expect(eventsOf(h.lines, "budget")).toHaveLength(3);
    const saved = JSON.parse(readFileSync(join(h.stateDir, BUDGETS_FILE), "utf8"));
    expect(saved.crossings).toHaveLength(3);
  });

  it("puts the budgets and the day's crossings in the daily summary and `keepwarm report`", async () => {
    const h = await startHarness({ config: configOf(yaml()), start: local("00:00") });
    await h.daemon.start();
    await h.clock.runUntil(local("00:10", 8));
    const lines = readFileSync(join(h.stateDir, "summaries.jsonl"), "utf8").trim().split("\n");
    const summary = JSON.parse(lines[0] as string) as DailySummary;
    const alpha = summary.models.find((m) => m.model === "alpha");
    expect(alpha?.budget).toEqual({
      budgetUsd: 2800,
      projectedMonthUsd: alpha?.projectedMonthUsd,
      ratio: Math.round(((alpha?.projectedMonthUsd as number) / 2800) * 1000) / 1000,
    });
    expect(summary.models.find((m) => m.model === "beta")?.budget).toBeNull();
    expect(summary.fleetBudget).toMatchObject({
      budgetUsd: 2000,
      projectedMonthUsd: summary.total.projectedMonthUsd,
    });
    // Found at the first minute's spend lines.
    const first = new Date(local("00:01")).toISOString();
    expect(summary.budgetCrossings?.map((c) => [c.model, c.threshold, c.at])).toEqual([
      ["alpha", 80, first],
      [null, 80, first],
      [null, 100, first],
    ]);

    const out: string[] = [];
    const code = await printReport(
      { stateDir: h.stateDir, days: "7" },
      { stdout: (l) => out.push(l), stderr: (l) => out.push(l) },
    );
    expect(code).toBe(0);
    expect(
      out.some((l) => /^2026-12-07\s+alpha\s.*\s8\d% near\s+14m C\/5m C\/15m C$/.test(l)),
      out.join("\n"),
    ).toBe(true);
    const crossing = summary.budgetCrossings?.[0];
    expect(out).toContain(
      `2026-12-07: alpha crossed 80% of its $2,800.00 2026-12 budget: projected ${formatUsd(crossing?.projectedMonthUsd ?? 0)} (${Math.floor(((crossing?.projectedMonthUsd ?? 0) / 2800) * 100)}%), month to date ${formatUsd(crossing?.monthToDateUsd ?? 0)}, not reached this month at the current rate`,
    );
  });
});
