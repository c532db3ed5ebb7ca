import { afterEach, describe, expect, it } from "vitest";
import { AwsCallError } from "../../src/aws/errors.js";
import { reconcileDays } from "../../src/reconcile/reconcile.js";
import type { ReconcileGroup, ReconcileReport } from "../../src/reconcile/types.js";
import {
  type Account,
  account,
  blip,
  configOf,
  dec,
  LLAMA,
  MIN,
  OSS,
  OSS_WEST,
  QWEN,
  run,
  STRAY_LLAMA,
} from "./account.js";

const PRICE = 0.05718;

/** The group of `usageType` on `date`. */
function groupOf(report: ReconcileReport, date: string, usageType: string): ReconcileGroup {
  const group = report.days
    .find((d) => d.date === date)
    ?.groups.find((g) => g.usageType === usageType);
  if (!group) throw new Error(`no group ${usageType} on ${date}: ${JSON.stringify(report.days)}`);
  return group;
}

describe("reconcileDays, over the wire against the simulator", () => {
  let current: Account | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  describe("a month billed by keepwarm's rule", () => {
    it("matches on every final day; imports the config does not name are unmanaged, a shared usage type reconciled as one group", async () => {
      current = account([QWEN, LLAMA, OSS, STRAY_LLAMA], dec(0));
      // Reconciled on 3 January, days before the 19th are read from 5-minute ModelCopy data,
      // which rounds a run out to whole 5 minutes: the Qwen runs (first success 09:02) are
      // seen a window longer than AWS bills them, within 2%; the others start on a 5-minute
      // boundary and are seen exactly.
      const calls: [string, number][] = [];
      for (let day = 1; day <= 31; day++) {
        const weekday = new Date(dec(day)).getUTCDay();
        if (weekday >= 1 && weekday <= 5) calls.push(...run(QWEN, day, "09:00", "18:00"));
        // Overnight: the run's windows go to the day each starts in.
        calls.push(...run(LLAMA, day, "19:58", "02:00"));
        calls.push(...run(OSS, day, "11:58", "13:00"));
        if (day % 2 === 0) calls.push(...blip(STRAY_LLAMA, dec(day, "05:58")));
      }
      // Five calls at once on the 22nd: a second copy, billed in windows of its own.
      for (let i = 0; i < 5; i++) calls.push([QWEN, dec(22, "10:31")]);
      current.play(calls);
      current.clock.set(dec(33));
      const clients = await current.serve();

      const report = await reconcileDays(
        { config: configOf(), clients, now: current.clock.now() },
        { from: "2026-12-01", to: "2027-01-01" },
      );

      expect(report.days.map((d) => d.date)).toHaveLength(31);
      expect(report.costExplorerRequests).toBe(1);
      expect(report.notes).toEqual([]);
      const statuses = new Set<string>();
      for (const day of report.days) {
        for (const g of day.groups) {
          statuses.add(g.status);
          const expected = g.models.length > 0 ? "match" : "unmanaged";
          expect({ date: day.date, usageType: g.usageType, status: g.status }).toEqual({
            date: day.date,
            usageType: g.usageType,
            status: expected,
          });
          expect(g.estimated).toBe(false);
          expect(g.awsUsd).not.toBeNull();
        }
      }
      expect([...statuses].sort()).toEqual(["match", "unmanaged"]);

      // A weekday: the Qwen import's 9-hour run, about $125 at 4 CMU.
      const qwen = groupOf(report, "2026-12-02", "USW2-Qwen2-CustomModelImport-Inference-v1:0");
      expect(qwen.models).toEqual(["mimo-vl"]);
      expect(qwen.keepwarmUsd).toBeGreaterThan(120);
      // AWS's side adds up to the simulator's own ledger of the month.
      const ledger = current.sim.ledger({ start: dec(1), end: dec(32) });
      const qwenMonth = report.days.reduce(
        (sum, d) =>
          sum + (d.groups.find((g) => g.usageType === qwen.usageType)?.awsUsd ?? Number.NaN),
        0,
      );
      expect(qwenMonth).toBeCloseTo(ledger.models.find((m) => m.modelArn === QWEN)?.usd ?? 0, 6);

      // The stray Llama shares batch-llama's usage types: one group, its bill counted in.
      const llama = groupOf(report, "2026-12-02", "USE1-Llama-CustomModelImport-Inference-v1:0");
      expect([llama.models, llama.unmanaged]).toEqual([["batch-llama"], ["old-llama"]]);
      expect(llama.status).toBe("match");
      const storage = groupOf(report, "2026-12-03", "USE1-Llama-CustomModelImport-Storage-v1:0");
      expect(storage.awsUsd).toBeCloseTo(((2 + 2) * 1.95) / 31, 6);

      // The GPT-OSS import nobody configured: what it costs, named by ListImportedModels.
      const oss = groupOf(report, "2026-12-21", "USE1-OSS-CustomModelImport-Inference-v2:0");
      expect([oss.models, oss.unmanaged, oss.status]).toEqual([
        [],
        ["gpt-oss-120b-trial"],
        "unmanaged",
      ]);
      // A 65-minute run at 8 CMU and v2.0's $0.1433.
      expect(oss.awsUsd).toBeCloseTo(65 * 8 * 0.1433, 6);
      expect(oss.keepwarmUsd).toBeCloseTo(65 * 8 * 0.1433, 6);
    });
  });

  describe("with a billing fault", () => {
    it("mismatches every day billed in 10-minute windows or at the new price, by the difference they make; days not final are pending", async () => {
      current = account([LLAMA], dec(0));
      const calls: [string, number][] = [];
      // A 15-minute run every hour: 3 windows of 5 minutes, or 2 of 10.
      for (let t = dec(1); t < dec(10, "12:00"); t += 60 * MIN) calls.push(...blip(LLAMA, t));
      current.play(calls);
      current.sim.faults.add({
        kind: "billingWindow",
        windowMs: 10 * MIN,
        from: dec(3),
        until: dec(5),
      });
      current.sim.faults.add({ kind: "priceChange", usdPerCmuMinute: 0.075, from: dec(6) });
      current.clock.set(dec(10, "12:00"));
      const clients = await current.serve();

      const report = await reconcileDays(
        { config: configOf(), clients, now: current.clock.now() },
        { from: "2026-12-01", to: "2026-12-11" },
      );

      const inference = "USE1-Llama-CustomModelImport-Inference-v1:0";
      const dayUsd = 24 * 15 * 2 * PRICE;
      const rows = report.days.map((d) => {
        const g = groupOf(report, d.date, inference);
        return [d.date, g.status, g.diffPct === null ? null : Math.round(g.diffPct * 10) / 10];
      });
      expect(rows).toEqual([
        ["2026-12-01", "match", 0],
        ["2026-12-02", "match", 0],
        ["2026-12-03", "mismatch", 33.3],
        ["2026-12-04", "mismatch", 33.3],
        ["2026-12-05", "match", 0],
        ["2026-12-06", "mismatch", 31.2],
        ["2026-12-07", "mismatch", 31.2],
        ["2026-12-08", "mismatch", 31.2],
        // Half of the 9th shows yet (at the new price), none of the 10th.
        ["2026-12-09", "pending", -34.4],
        ["2026-12-10", "pending", null],
      ]);
      const windows = groupOf(report, "2026-12-03", inference);
      expect(windows.keepwarmUsd).toBeCloseTo(dayUsd, 6);
      expect(windows.awsUsd).toBeCloseTo(24 * 20 * 2 * PRICE, 6);
      const price = groupOf(report, "2026-12-06", inference);
      expect(price.awsUsd).toBeCloseTo(24 * 15 * 2 * 0.075, 6);
      expect(price.diffPct).toBeCloseTo((0.075 / PRICE - 1) * 100, 2);
      expect(groupOf(report, "2026-12-10", inference).awsUsd).toBeNull();
      // Storage is billed as before on every final day.
      for (const d of report.days.slice(0, 8)) {
        expect(groupOf(report, d.date, "USE1-Llama-CustomModelImport-Storage-v1:0").status).toBe(
          "match",
        );
      }
      expect(report.costExplorerRequests).toBe(1);
    });
  });

  it("prices a GPT-OSS model at v2.0's $0.1433 per CMU-minute, its 8 CMU and version read from GetImportedModel", async () => {
    current = account([OSS], dec(0));
    current.play(run(OSS, 1, "10:00", "11:00"));
    current.clock.set(dec(4));
    const clients = await current.serve();
    const config = configOf(`
models:
  - name: gpt-oss
    modelArn: ${OSS}
    policy: business-hours
`);
    const report = await reconcileDays(
      { config, clients, now: current.clock.now() },
      { from: "2026-12-01", to: "2026-12-02" },
    );
    const g = groupOf(report, "2026-12-01", "USE1-OSS-CustomModelImport-Inference-v2:0");
    // 10:02 to 11:07: 13 windows.
    expect(g.keepwarmUsd).toBeCloseTo(65 * 8 * 0.1433, 6);
    expect([g.models, g.status]).toEqual([["gpt-oss"], "match"]);
  });

  it("reports a model whose CMU version has no price in its region as unknown, never at another version's price", async () => {
    current = account([OSS_WEST], dec(0));
    current.play(run(OSS_WEST, 1, "10:00", "11:00"));
    current.clock.set(dec(4));
    const clients = await current.serve();
    const config = configOf(`
models:
  - name: oss-west
    modelArn: ${OSS_WEST}
    policy: business-hours
`);
    const report = await reconcileDays(
      { config, clients, now: current.clock.now() },
      { from: "2026-12-01", to: "2026-12-02" },
    );
    const g = groupOf(report, "2026-12-01", "USW2-OSS-CustomModelImport-Inference-v2:0");
    expect([g.models, g.keepwarmUsd, g.status]).toEqual([["oss-west"], null, "unknown"]);
    expect(g.awsUsd).toBeGreaterThan(0);
    expect(report.notes.join("\n")).toContain("no price for CMU version v2.0 in us-west-2");
  });

  it("throws the AwsCallError of a refused GetCostAndUsage, naming ce:GetCostAndUsage", async () => {
    current = account([LLAMA], dec(0));
    current.sim.faults.add({ kind: "accessDenied", operations: ["GetCostAndUsage"] });
    current.clock.set(dec(4));
    const clients = await current.serve();
    const error = await reconcileDays(
      { config: configOf(), clients, now: current.clock.now() },
      { from: "2026-12-01", to: "2026-12-03" },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsCallError);
    expect((error as AwsCallError).action).toBe("ce:GetCostAndUsage");
    expect((error as AwsCallError).kind).toBe("denied");
  });

  it("asks Cost Explorer nothing about days that have not begun", async () => {
    current = account([LLAMA], dec(0));
    current.clock.set(dec(2, "12:00"));
    const clients = await current.serve();
    const report = await reconcileDays(
      { config: configOf(), clients, now: current.clock.now() },
      { from: "2026-12-05", to: "2026-12-06" },
    );
    expect(report.costExplorerRequests).toBe(0);
    expect(report.days[0]?.groups.every((g) => g.status === "pending")).toBe(true);
  });
});
