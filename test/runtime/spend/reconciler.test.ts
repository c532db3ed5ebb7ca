import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatProblem, parseConfigText } from "../../../src/config/load.js";
import { freshSchedule } from "../../../src/domain/reconcileSchedule.js";
import { HOUR_MS, MINUTE_MS } from "../../../src/domain/units.js";
import type { ReconcileGroup, ReconcileReport } from "../../../src/reconcile/types.js";
import { PromMetrics } from "../../../src/runtime/http/promMetrics.js";
import { likelyCauses, type PriceNote } from "../../../src/runtime/spend/reconcileLines.js";
import {
  type ReconcileDays,
  Reconciler,
  type ReconcilerDeps,
} from "../../../src/runtime/spend/reconciler.js";
import {
  RECONCILE_FILE,
  RECONCILE_MAX_BYTES,
  readReconcileState,
  standingsAfter,
  type UsageStanding,
  writeReconcileState,
} from "../../../src/runtime/spend/reconcileState.js";
import {
  businessHoursYaml,
  collectingLogger,
  eventsOf,
  type LogLine,
  MIMO_VL,
} from "../../e2e/daemonHarness.js";

const QWEN = "USW2-Qwen2-CustomModelImport-Inference-v1:0";
const QWEN_STORAGE = "USW2-Qwen2-CustomModelImport-Storage-v1:0";
const LLAMA = "USE1-Llama-CustomModelImport-Inference-v1:0";

const at = (iso: string) => Date.parse(iso);

function group(over: Partial<ReconcileGroup> & { usageType: string }): ReconcileGroup {
  const keepwarmUsd = over.keepwarmUsd === undefined ? 125.8 : over.keepwarmUsd;
  const awsUsd = over.awsUsd === undefined ? keepwarmUsd : over.awsUsd;
  return {
    kind: "inference",
    models: ["mimo-vl"],
    unmanaged: [],
    keepwarmUsd,
    awsUsd,
    diffPct:
      keepwarmUsd === null || awsUsd === null || keepwarmUsd === 0
        ? null
        : ((awsUsd - keepwarmUsd) / keepwarmUsd) * 100,
    estimated: false,
    status: "match",
    ...over,
  };
}

/**
 * A stand-in for the reconcile core: answers from a table of days and records each range it
 * was asked about. Days not in the table are estimated (pending).
 */
function fakeCore(days: Record<string, readonly ReconcileGroup[]>) {
  const asked: { from: string; to: string }[] = [];
  let fail: unknown;
  const reconcile: ReconcileDays = async (range) => {
    asked.push(range);
    if (fail) throw fail;
    const out: ReconcileReport["days"][number][] = [];
    for (let d = range.from; d < range.to; d = nextDay(d)) {
      out.push({
        date: d,
        groups: days[d] ?? [
          group({ usageType: QWEN, awsUsd: 100, estimated: true, status: "pending" }),
        ],
      });
    }
    return { days: out, costExplorerRequests: 1, metricsRequested: 4, notes: [] };
  };
  return {
    reconcile,
    asked,
    failWith(error: unknown) {
      fail = error;
    },
  };
}

const nextDay = (d: string) =>
  new Date(Date.parse(`${d}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);

function sdkError(name: string, fault: "client" | "server" = "client"): Error {
  return Object.assign(new Error(`${name}: from the test`), { name, $fault: fault });
}

interface Setup {
  readonly reconciler: Reconciler;
  readonly lines: LogLine[];
  readonly metrics: PromMetrics;
  readonly stateDir: string;
  /** Cost Explorer requests the answers took, as handed to the overhead meter. */
  readonly billed: number[];
  setNow(iso: string): void;
  advance(ms: number): void;
  /** Runs the minute job's part, waiting for a request it starts. */
  tick(): Promise<boolean>;
}

async function setup(
  reconcile: ReconcileDays,
  options: {
    start: string;
    stateDir?: string;
    enabled?: boolean;
    lease?: ReconcilerDeps["lease"];
    prices?: ReadonlyMap<string, PriceNote>;
  },
): Promise<Setup> {
  let now = at(options.start);
  const { logger, lines } = collectingLogger(() => now);
  const metrics = new PromMetrics({ processMetrics: false });
  const stateDir = options.stateDir ?? mkdtempSync(join(tmpdir(), "kw-reconcile-"));
  const billed: number[] = [];
  const reconciler = new Reconciler(
    {
      stateDir,
      log: logger,
      observer: metrics,
      now: () => now,
      reconcile,
      prices: () => options.prices ?? new Map(),
      lease: options.lease,
      billed: (calls) => billed.push(calls.costExplorerRequests),
    },
    options.enabled ?? true,
  );
  await reconciler.load();
  return {
    reconciler,
    lines,
    metrics,
    stateDir,
    billed,
    setNow(iso) {
      now = at(iso);
    },
    advance(ms) {
      now += ms;
    },
    async tick() {
      const work = reconciler.tick();
      if (work) await work;
      return work !== undefined;
    },
  };
}

async function gauge(metrics: PromMetrics, name: string, usageType: string) {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return metric?.values.find((v) => v.labels.usage_type === usageType)?.value;
}

describe("Reconciler", () => {
  describe("tick", () => {
    it("asks about the last week's final days at a first start, in one request, and logs each usage type", async () => {
      const core = fakeCore({
        "2026-11-26": [group({ usageType: QWEN })],
        "2026-11-27": [group({ usageType: QWEN, awsUsd: 131, status: "mismatch" })],
        "2026-11-28": [],
        "2026-11-29": [
          group({ usageType: QWEN }),
          group({ usageType: QWEN_STORAGE, kind: "storage", keepwarmUsd: 1.5 }),
        ],
        "2026-11-30": [
          group({ usageType: QWEN }),
          group({
            usageType: LLAMA,
            models: [],
            unmanaged: ["arn:aws:bedrock:us-east-1:123456789012:imported-model/forgotten001"],
            keepwarmUsd: null,
            awsUsd: 40.2,
            status: "unmanaged",
          }),
        ],
      });
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:30Z" });
      expect(await s.tick()).toBe(true);
      expect(core.asked).toEqual([{ from: "2026-11-25", to: "2026-12-01" }]);
      const lines = eventsOf(s.lines, "reconcile").filter((l) => l.level !== "debug");
      expect(lines.map((l) => [l.date, l.usageType, l.status, l.level])).toEqual([
        ["2026-11-26", QWEN, "match", "info"],
        ["2026-11-27", QWEN, "mismatch", "warn"],
        ["2026-11-29", QWEN, "match", "info"],
        ["2026-11-29", QWEN_STORAGE, "match", "info"],
        ["2026-11-30", QWEN, "match", "info"],
        ["2026-11-30", LLAMA, "unmanaged", "warn"],
      ]);
      expect(lines[1]).toMatchObject({ keepwarmUsd: 125.8, awsUsd: 131, models: ["mimo-vl"] });
      expect(lines[1]?.diffPct).toBeCloseTo(4.13, 2);
      expect(String((lines[1]?.likelyCauses as string[] | undefined)?.[0])).toMatch(
        /^a price change/,
      );
      expect(lines[1]?.msg).toContain("keepwarm $125.80, AWS $131.00 (+4.1%): mismatch");
      expect(lines[5]?.msg).toContain("forgotten001");
      // 2026-11-25 is still estimated: asked again 6 h later, not before.
      const summary = eventsOf(s.lines, "reconcile").find((l) => l.level === "debug");
      expect(summary).toMatchObject({
        pending: ["2026-11-25"],
        retryAt: "2026-12-02T06:00:30.000Z",
      });
      s.advance(6 * HOUR_MS - MINUTE_MS);
      expect(await s.tick()).toBe(false);
      s.advance(MINUTE_MS);
      expect(await s.tick()).toBe(true);
      expect(core.asked.at(-1)).toEqual({ from: "2026-11-25", to: "2026-11-26" });
      expect(s.billed).toEqual([1, 1]);
    });

    it("sets a gauge per usage type, with the mismatches in a row", async () => {
      const mismatch = [
        group({ usageType: QWEN, awsUsd: 150, status: "mismatch" }),
        group({ usageType: LLAMA, models: ["llama"] }),
      ];
      const core = fakeCore({
        "2026-11-28": mismatch,
        "2026-11-29": mismatch,
        "2026-11-30": mismatch,
        "2026-12-01": [group({ usageType: QWEN }), group({ usageType: LLAMA, models: ["llama"] })],
      });
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await s.tick();
      expect(await gauge(s.metrics, "keepwarm_reconcile_mismatch_days", QWEN)).toBe(3);
      expect(await gauge(s.metrics, "keepwarm_reconcile_mismatch_days", LLAMA)).toBe(0);
      expect(await gauge(s.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBe(150);
      expect(await gauge(s.metrics, "keepwarm_reconcile_keepwarm_usd", QWEN)).toBe(125.8);
      expect(await gauge(s.metrics, "keepwarm_reconcile_day_timestamp_seconds", QWEN)).toBe(
        at("2026-11-30T00:00:00Z") / 1000,
      );
      s.setNow("2026-12-03T00:00:00Z");
      await s.tick();
      expect(await gauge(s.metrics, "keepwarm_reconcile_mismatch_days", QWEN)).toBe(0);
      expect(await gauge(s.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBe(125.8);
    });

    it("remembers what is done across a restart: no day asked about or logged twice", async () => {
      const core = fakeCore({ "2026-11-30": [group({ usageType: QWEN })] });
      const first = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await first.tick();
      await first.reconciler.stop();
      const file = JSON.parse(readFileSync(join(first.stateDir, RECONCILE_FILE), "utf8"));
      expect(file.schedule.settled).toEqual(["2026-11-30"]);
      const again = await setup(core.reconcile, {
        start: "2026-12-02T01:00:00Z",
        stateDir: first.stateDir,
      });
      // The others are estimated: the retry is 6 h after the first request, whoever makes it.
      expect(await again.tick()).toBe(false);
      expect(await gauge(again.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBe(125.8);
      again.setNow("2026-12-02T06:00:00Z");
      expect(await again.tick()).toBe(true);
      expect(core.asked.at(-1)).toEqual({ from: "2026-11-25", to: "2026-11-30" });
      expect(eventsOf(again.lines, "reconcile").filter((l) => l.level !== "debug")).toEqual([]);
    });

    it("settles a final day whose keepwarm figure is unknown, with a warning saying so", async () => {
      const core = fakeCore({
        "2026-11-30": [
          group({ usageType: QWEN, keepwarmUsd: null, awsUsd: 12.3, status: "unknown" }),
        ],
      });
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await s.tick();
      expect(eventsOf(s.lines, "reconcile").filter((l) => l.status === "unknown")).toMatchObject([
        { level: "warn", date: "2026-11-30", awsUsd: 12.3, keepwarmUsd: null },
      ]);
      expect(s.reconciler.status().pendingDays).not.toContain("2026-11-30");
      expect(await gauge(s.metrics, "keepwarm_reconcile_keepwarm_usd", QWEN)).toBeUndefined();
      expect(await gauge(s.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBe(12.3);
    });

    it("gives up, with a warning, a day still estimated 45 days after it", async () => {
      const core = fakeCore({});
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      for (let day = 0; day < 40; day++) {
        s.setNow(new Date(Date.parse("2026-12-02T00:00:00Z") + day * 86_400_000).toISOString());
        await s.tick();
      }
      const givenUp = eventsOf(s.lines, "reconcile").filter((l) => l.dates !== undefined);
      expect(givenUp).toMatchObject([{ level: "warn", status: "pending", dates: ["2026-11-25"] }]);
      // One request a day (the 6-hour retries fall between the daily ticks here), one range each.
      expect(core.asked).toHaveLength(40);
      expect(core.asked.at(-1)).toEqual({ from: "2026-11-26", to: "2027-01-09" });
    });

    it("reads a corrupt file as a first start, with one warning", async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "kw-reconcile-"));
      writeFileSync(join(stateDir, RECONCILE_FILE), "{not json");
      const s = await setup(fakeCore({}).reconcile, { start: "2026-12-02T00:00:00Z", stateDir });
      expect(eventsOf(s.lines, "state-file-ignored")).toMatchObject([
        {
          path: join(stateDir, RECONCILE_FILE),
          effect: "the last week's final days are reconciled again",
        },
      ]);
      expect(await s.tick()).toBe(true);
    });

    it("asks nothing while another replica holds the lease, or when switched off", async () => {
      const core = fakeCore({});
      const standby = await setup(core.reconcile, {
        start: "2026-12-02T00:00:00Z",
        lease: { holds: () => false },
      });
      expect(await standby.tick()).toBe(false);
      expect(standby.reconciler.status().phase).toBe("standby");
      const off = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z", enabled: false });
      expect(await off.tick()).toBe(false);
      expect(off.reconciler.status()).toMatchObject({ phase: "off", usage: [] });
      expect(core.asked).toEqual([]);
    });
  });

  describe("configure", () => {
    it("switched off by a reload, removes the series and asks nothing; switched on, brings them back", async () => {
      const core = fakeCore({ "2026-11-30": [group({ usageType: QWEN })] });
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await s.tick();
      s.reconciler.configure(false);
      expect(await gauge(s.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBeUndefined();
      s.advance(24 * HOUR_MS);
      expect(await s.tick()).toBe(false);
      expect(s.reconciler.status().phase).toBe("off");
      s.reconciler.configure(true);
      expect(await gauge(s.metrics, "keepwarm_reconcile_aws_usd", QWEN)).toBe(125.8);
      expect(await s.tick()).toBe(true);
    });
  });

  describe("when Cost Explorer fails", () => {
    it("pauses at AccessDenied with one warning until the next reload", async () => {
      const core = fakeCore({ "2026-11-30": [group({ usageType: QWEN })] });
      core.failWith(sdkError("AccessDeniedException"));
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      expect(await s.tick()).toBe(true);
      for (let i = 0; i < 3 * 24 * 60; i += 30) {
        s.advance(30 * MINUTE_MS);
        expect(await s.tick()).toBe(false);
      }
      expect(core.asked).toHaveLength(1);
      expect(eventsOf(s.lines, "reconcile-failed")).toMatchObject([
        {
          level: "warn",
          action: "ce:GetCostAndUsage",
          errorName: "AccessDeniedException",
          effect:
            "reconciliation with AWS's bill paused until the next reload; keeping warm goes on",
        },
      ]);
      expect(s.reconciler.status().phase).toBe("paused");
      const errors = await s.metrics.registry.getSingleMetric("keepwarm_aws_errors_total")?.get();
      expect(errors?.values).toMatchObject([
        {
          labels: {
            operation: "ce:GetCostAndUsage",
            error: "AccessDeniedException",
            kind: "denied",
          },
          value: 1,
        },
      ]);
      core.failWith(undefined);
      s.reconciler.configure(true);
      expect(await s.tick()).toBe(true);
      expect(eventsOf(s.lines, "reconcile").filter((l) => l.status === "match")).toHaveLength(1);
    });

    it("takes an answer it cannot read as a failure, never a crash", async () => {
      const broken: ReconcileDays = async () => ({ days: null }) as unknown as ReconcileReport;
      const s = await setup(broken, { start: "2026-12-02T00:00:00Z" });
      expect(await s.tick()).toBe(true);
      expect(eventsOf(s.lines, "reconcile-failed")).toMatchObject([
        {
          level: "warn",
          errorName: "TypeError",
          effect: "retried at 2026-12-02T00:15:00.000Z (failure 1 in a row)",
        },
      ]);
    });

    it("backs off after a transient failure, and goes on at the next try", async () => {
      const core = fakeCore({ "2026-11-30": [group({ usageType: QWEN })] });
      core.failWith(sdkError("ThrottlingException"));
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await s.tick();
      s.advance(14 * MINUTE_MS);
      expect(await s.tick()).toBe(false);
      s.advance(MINUTE_MS);
      expect(await s.tick()).toBe(true);
      expect(eventsOf(s.lines, "reconcile-failed").map((l) => l.effect)).toEqual([
        "retried at 2026-12-02T00:15:00.000Z (failure 1 in a row)",
        "retried at 2026-12-02T00:45:00.000Z (failure 2 in a row)",
      ]);
      core.failWith(undefined);
      s.setNow("2026-12-02T00:45:00Z");
      expect(await s.tick()).toBe(true);
      expect(eventsOf(s.lines, "reconcile").some((l) => l.status === "match")).toBe(true);
    });
  });

  describe("takeDays", () => {
    it("hands the final days to the daily summary once", async () => {
      const core = fakeCore({ "2026-11-30": [group({ usageType: QWEN })] });
      const s = await setup(core.reconcile, { start: "2026-12-02T00:00:00Z" });
      await s.tick();
      expect(s.reconciler.takeDays()).toEqual([
        {
          date: "2026-11-30",
          groups: [
            {
              usageType: QWEN,
              kind: "inference",
              models: ["mimo-vl"],
              unmanaged: [],
              keepwarmUsd: 125.8,
              awsUsd: 125.8,
              diffPct: 0,
              status: "match",
            },
          ],
        },
      ]);
      expect(s.reconciler.takeDays()).toEqual([]);
    });
  });
});

describe("reconcile.json", () => {
  it("stays within RECONCILE_MAX_BYTES for 20,000 models with 64-character names", async () => {
    const names = Array.from(
      { length: 20_000 },
      (_, i) => `${"m".repeat(58)}${String(i).padStart(6, "0")}`,
    );
    const day = {
      date: "2026-12-01",
      groups: [
        group({ usageType: QWEN, models: names }),
        group({ usageType: QWEN_STORAGE, kind: "storage", models: names }),
      ],
    };
    const stateDir = mkdtempSync(join(tmpdir(), "kw-reconcile-"));
    const schedule = freshSchedule(Date.parse("2026-12-03T00:00:00Z"));
    await writeReconcileState(stateDir, { schedule, usage: standingsAfter([], day) });
    const size = statSync(join(stateDir, RECONCILE_FILE)).size;
    expect(size).toBeGreaterThan(2_600_000);
    expect(size).toBeLessThan(RECONCILE_MAX_BYTES / 2);
    expect((await readReconcileState(stateDir))?.usage).toHaveLength(2);
  });
});

describe("standingsAfter", () => {
  const day = (date: string, groups: ReconcileGroup[]) => ({ date, groups });
  const mismatch = group({ usageType: QWEN, awsUsd: 140, status: "mismatch" });
  const runOf = (standings: UsageStanding[]) =>
    Object.fromEntries(standings.map((s) => [s.usageType, [s.date, s.mismatchDays]]));

  it.each([
    ["counts mismatches on days in a row", ["2026-12-01", "2026-12-02"], [mismatch, mismatch], 2],
    ["starts again after a day apart", ["2026-12-01", "2026-12-03"], [mismatch, mismatch], 1],
    [
      "ends the run at a match",
      ["2026-12-01", "2026-12-02"],
      [mismatch, group({ usageType: QWEN })],
      0,
    ],
  ])("%s", (_what, dates, groups, run) => {
    let s: UsageStanding[] = [];
    dates.forEach((d, i) => {
      s = standingsAfter(s, day(d, [groups[i] as ReconcileGroup]));
    });
    expect(runOf(s)[QWEN]?.[1]).toBe(run);
  });

  it("ends the run of a usage type a final day does not bill, and keeps its last figures", () => {
    let s = standingsAfter([], day("2026-12-01", [mismatch]));
    s = standingsAfter(s, day("2026-12-02", [group({ usageType: LLAMA })]));
    expect(runOf(s)).toEqual({ [LLAMA]: ["2026-12-02", 0], [QWEN]: ["2026-12-01", 0] });
  });

  it("does not let an older day overwrite a newer one", () => {
    let s = standingsAfter([], day("2026-12-02", [mismatch]));
    s = standingsAfter(s, day("2026-12-01", [group({ usageType: QWEN })]));
    expect(runOf(s)).toEqual({ [QWEN]: ["2026-12-02", 1] });
  });

  it("drops a usage type not billed for 45 days", () => {
    let s = standingsAfter([], day("2026-10-01", [mismatch]));
    s = standingsAfter(s, day("2026-11-15", [group({ usageType: LLAMA })]));
    s = standingsAfter(s, day("2026-11-16", [group({ usageType: LLAMA })]));
    expect(Object.keys(runOf(s))).toEqual([LLAMA]);
  });
});

describe("likelyCauses", () => {
  const prices = new Map<string, PriceNote>([
    [
      "mimo-vl",
      {
        usdPerCmuMinute: 0.05718,
        storageUsdPerCmuMonth: 1.95,
        source: "built-in table 2026-12-01",
      },
    ],
  ]);

  it.each([
    [125.8, 251.6, /^a wrong CMU count: AWS billed 2\/1/],
    [100, 150, /^a wrong CMU count: AWS billed 3\/2/],
    [100, 75, /^a wrong CMU count: AWS billed 3\/4/],
    [
      100,
      104.1,
      /^a price change: keepwarm priced mimo-vl at \$0\.05718 per CMU-minute \(built-in table 2026-12-01\)/,
    ],
  ])("keepwarm $%d against AWS $%d: %s first", (ours, theirs, first) => {
    const causes = likelyCauses(
      { kind: "inference", models: ["mimo-vl"], keepwarmUsd: ours, awsUsd: theirs },
      prices,
    );
    expect(causes[0]).toMatch(first);
    expect(causes.some((c) => c.startsWith("AWS billing"))).toBe(true);
  });

  it("says longer windows when AWS bills more, fewer minutes when it bills less", () => {
    const of = (theirs: number) =>
      likelyCauses(
        { kind: "inference", models: ["mimo-vl"], keepwarmUsd: 100, awsUsd: theirs },
        prices,
      ).at(-1);
    expect(of(107)).toMatch(/another rule than 5-minute windows/);
    expect(of(93)).toMatch(/fewer minutes than ModelCopy shows/);
  });

  it("has nothing to say without both figures", () => {
    expect(
      likelyCauses({ kind: "inference", models: [], keepwarmUsd: null, awsUsd: 4 }, prices),
    ).toEqual([]);
  });
});

describe("daemon.reconcile", () => {
  it("is on by default and switched off with enabled: false", () => {
    const on = parseConfigText(businessHoursYaml({ models: [MIMO_VL] }), "k.yaml");
    expect(on.ok && on.config.daemon.reconcile).toEqual({ enabled: true });
    const off = parseConfigText(
      `${businessHoursYaml({ models: [MIMO_VL] })}daemon:\n  reconcile:\n    enabled: false\n`,
      "k.yaml",
    );
    expect(off.ok && off.config.daemon.reconcile).toEqual({ enabled: false });
  });

  it("names the field, its line:column and what is allowed", () => {
    const text = `${businessHoursYaml({ models: [MIMO_VL] })}daemon:\n  reconcile:\n    enabled: sometimes\n`;
    const result = parseConfigText(text, "k.yaml");
    const line = text.split("\n").findIndex((l) => l.includes("enabled")) + 1;
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      `k.yaml:${line}:14: daemon.reconcile.enabled: is "sometimes"; allowed: true or false`,
    ]);
  });
});
