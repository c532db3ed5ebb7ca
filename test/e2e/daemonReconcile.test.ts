import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { utcDate } from "../../src/domain/reconcileSchedule.js";
import { DAY_MS, MINUTE_MS } from "../../src/domain/units.js";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import { RECONCILE_FILE } from "../../src/runtime/spend/reconcileState.js";
import type { DailySummary } from "../../src/runtime/state/summaries.js";
import {
  ARN,
  at,
  businessHoursYaml,
  configOf,
  eventsOf,
  type Harness,
  harnessPerTest,
  type LogLine,
  MIMO_VL,
} from "./daemonHarness.js";

/** Monday 7 December 2026, 00:00 UTC (08:00 in Shanghai, the scenarios' zone). */
const START = Date.parse("2026-12-07T00:00:00Z");
const INFERENCE = "USW2-Llama-CustomModelImport-Inference-v1:0";
const STORAGE = "USW2-Llama-CustomModelImport-Storage-v1:0";
/** The built-in price of CMU v1.0 in us-west-2, and the one AWS bills under the fault. */
const TABLE_PRICE = 0.05718;
const NEW_PRICE = 0.065;

/** GetCostAndUsage requests that reached the wire, at virtual instants. */
function countCostExplorer(h: Harness): number[] {
  const times: number[] = [];
  h.clients.costExplorer().middlewareStack.add(
    (next) => async (args) => {
      times.push(h.clock.now());
      return next(args);
    },
    { step: "finalizeRequest", name: "countCostExplorer" },
  );
  return times;
}

/** The `reconcile` lines of final days with money on a side (not the debug lines). */
const dayLines = (lines: readonly LogLine[]) =>
  eventsOf(lines, "reconcile").filter((l) => l.usageType !== undefined && l.level !== "debug");

const config = (extra = "") => configOf(`${businessHoursYaml({ models: [MIMO_VL] })}${extra}`);

describe("Daemon reconciliation with AWS's bill, over the wire", () => {
  const startHarness = harnessPerTest();

  it("reconciles each UTC day two days after it, in one request a day, and logs a match per usage type", {
    timeout: 60_000,
  }, async () => {
    const metrics = new PromMetrics({ processMetrics: false });
    const h = await startHarness({ config: config(), start: START, observer: metrics });
    const requests = countCostExplorer(h);
    await h.daemon.start();
    await h.clock.runUntil(START + 3 * DAY_MS + 30 * MINUTE_MS);

    const lines = dayLines(h.lines);
    expect(lines.map((l) => [l.date, l.usageType, l.status, l.level, utcDate(at(l))])).toEqual([
      ["2026-12-07", INFERENCE, "match", "info", "2026-12-09"],
      ["2026-12-07", STORAGE, "match", "info", "2026-12-09"],
      ["2026-12-08", INFERENCE, "match", "info", "2026-12-10"],
      ["2026-12-08", STORAGE, "match", "info", "2026-12-10"],
    ]);
    const monday = lines[0] as LogLine;
    expect(monday.models).toEqual(["mimo-vl"]);
    // A business day: 09:00-18:00 plus the lead time and the tail, 4 CMU at the table price.
    expect(monday.keepwarmUsd as number).toBeGreaterThan(540 * 4 * TABLE_PRICE);
    expect(monday.awsUsd).toBeCloseTo(monday.keepwarmUsd as number, 2);
    expect(at(monday)).toBe(START + 2 * DAY_MS);

    // The week before the first start at once (nothing billed then), then a request a day.
    expect(requests.map((t) => new Date(t).toISOString())).toEqual([
      "2026-12-07T00:01:00.000Z",
      "2026-12-08T00:00:00.000Z",
      "2026-12-09T00:00:00.000Z",
      "2026-12-10T00:00:00.000Z",
    ]);
    expect(h.daemon.status().overhead?.counts.costExplorerRequests).toBe(4);

    const gauges = await metrics.registry.getSingleMetric("keepwarm_reconcile_aws_usd")?.get();
    expect(gauges?.values.map((v) => v.labels.usage_type).sort()).toEqual([INFERENCE, STORAGE]);
    expect(h.daemon.status().reconciliation).toMatchObject({
      phase: "waiting",
      pendingDays: [],
      usage: [
        { usageType: INFERENCE, date: "2026-12-08", status: "match", mismatchDays: 0 },
        { usageType: STORAGE, date: "2026-12-08", status: "match", mismatchDays: 0 },
      ],
    });

    // The Shanghai day of 9 December (closed at 16:00 UTC) saw 7 December reconciled.
    const summary = eventsOf(h.lines, "daily-summary").find((l) => l.date === "2026-12-09") as
      | (LogLine & DailySummary)
      | undefined;
    expect(summary?.reconciled?.map((d) => [d.date, d.groups.map((g) => g.status)])).toEqual([
      ["2026-12-07", ["match", "match"]],
    ]);

    // A restart asks nothing again and logs no day twice.
    const file = JSON.parse(readFileSync(join(h.stateDir, RECONCILE_FILE), "utf8"));
    expect(file.schedule.settled).toContain("2026-12-08");
    await h.restart();
    await h.clock.runUntil(START + 3 * DAY_MS + 2 * 60 * MINUTE_MS);
    expect(requests).toHaveLength(4);
    expect(dayLines(h.lines)).toHaveLength(4);
  });

  it("warns of a mismatch with both figures and the likely causes, and counts the days running", {
    timeout: 60_000,
  }, async () => {
    const metrics = new PromMetrics({ processMetrics: false });
    const h = await startHarness({ config: config(), start: START, observer: metrics });
    h.sim.faults.add({ kind: "priceChange", usdPerCmuMinute: NEW_PRICE, modelArn: ARN });
    await h.daemon.start();
    await h.clock.runUntil(START + 3 * DAY_MS + 30 * MINUTE_MS);

    const inference = dayLines(h.lines).filter((l) => l.usageType === INFERENCE);
    expect(inference.map((l) => [l.date, l.status, l.level])).toEqual([
      ["2026-12-07", "mismatch", "warn"],
      ["2026-12-08", "mismatch", "warn"],
    ]);
    for (const l of inference) {
      expect(l.awsUsd as number).toBeCloseTo(
        ((l.keepwarmUsd as number) * NEW_PRICE) / TABLE_PRICE,
        1,
      );
      expect(l.diffPct as number).toBeCloseTo((NEW_PRICE / TABLE_PRICE - 1) * 100, 1);
      const causes = l.likelyCauses as string[];
      expect(causes[0]).toMatch(
        /^a price change: keepwarm priced mimo-vl at \$0\.05718 per CMU-minute/,
      );
      expect(causes.some((c) => c.startsWith("AWS billing by another rule"))).toBe(true);
      expect(l.msg).toContain("mismatch; most likely a price change");
    }
    // Storage is billed at its own price, unchanged.
    expect(
      dayLines(h.lines)
        .filter((l) => l.usageType === STORAGE)
        .map((l) => l.status),
    ).toEqual(["match", "match"]);
    const days = await metrics.registry.getSingleMetric("keepwarm_reconcile_mismatch_days")?.get();
    expect(
      Object.fromEntries(days?.values.map((v) => [v.labels.usage_type, v.value]) ?? []),
    ).toEqual({ [INFERENCE]: 2, [STORAGE]: 0 });
  });

  it("warns once when Cost Explorer is denied, asks nothing more, and resumes at the next reload", {
    timeout: 60_000,
  }, async () => {
    const h = await startHarness({ config: config(), start: START });
    const requests = countCostExplorer(h);
    const denied = h.sim.faults.add({ kind: "accessDenied", operations: ["GetCostAndUsage"] });
    await h.daemon.start();
    // Past the two instants a request would have gone out at (8 and 9 December, 00:00 UTC).
    await h.clock.runUntil(START + 2 * DAY_MS + 5 * MINUTE_MS);

    expect(requests).toHaveLength(1);
    expect(eventsOf(h.lines, "reconcile-failed")).toMatchObject([
      {
        level: "warn",
        action: "ce:GetCostAndUsage",
        errorName: "AccessDeniedException",
        effect: "reconciliation with AWS's bill paused until the next reload; keeping warm goes on",
      },
    ]);
    expect(h.daemon.status().reconciliation?.phase).toBe("paused");
    // Never fatal: the model was kept warm through the business days.
    expect(eventsOf(h.lines, "ping", "mimo-vl").length).toBeGreaterThan(40);

    h.sim.faults.remove(denied);
    await h.daemon.applyConfig(config());
    await h.clock.runUntil(START + 2 * DAY_MS + 10 * MINUTE_MS);
    expect(requests).toHaveLength(2);
    expect(dayLines(h.lines).map((l) => [l.date, l.usageType, l.status])).toEqual([
      ["2026-12-07", INFERENCE, "match"],
      ["2026-12-07", STORAGE, "match"],
    ]);
  });

  it("asks nothing with daemon.reconcile.enabled: false", { timeout: 60_000 }, async () => {
    const h = await startHarness({
      config: config("daemon:\n  reconcile:\n    enabled: false\n"),
      start: START,
    });
    const requests = countCostExplorer(h);
    await h.daemon.start();
    await h.clock.runUntil(START + 2 * DAY_MS + 5 * MINUTE_MS);
    expect(requests).toEqual([]);
    expect(h.daemon.status().reconciliation?.phase).toBe("off");
  });
});
