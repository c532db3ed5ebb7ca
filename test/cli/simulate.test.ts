import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatSimulation, simulateCommand } from "../../src/cli/simulate.js";
import { DEFAULT_SIM_SETTINGS } from "../../src/sim/index.js";
import type { MonthSimulation, ScenarioResult } from "../../src/whatif/simulate.js";

const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
const BROKEN = fileURLToPath(new URL("../fixtures/invalid/", import.meta.url));
const NOW = Date.parse("2026-11-25T12:00:00Z");

function collect() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    out: { stdout: (l: string) => stdout.push(l), stderr: (l: string) => stderr.push(l) },
    stdout,
    stderr,
  };
}

function scenario(
  billedMinutes: number,
  cmu: number,
  coveragePct: number,
  cold: number,
): ScenarioResult {
  const computeUsd = billedMinutes * cmu * 0.05718;
  return {
    windowMinutes: 7440,
    coveredMinutes: Math.round((7440 * coveragePct) / 100),
    coveragePct,
    coldStartsInWindows: cold,
    invocations: 558,
    userCalls: 0,
    userColdCalls: 0,
    billedMinutes,
    computeUsd,
    storageUsd: cmu * 1.95,
    totalUsd: computeUsd + cmu * 1.95,
  };
}

describe("simulateCommand", () => {
  it.each([
    [
      { config: undefined, month: "2026-12" },
      "no config file; pass --config FILE or set KEEPWARM_CONFIG",
    ],
    [
      { config: SAMPLE, month: "2026-13" },
      '--month "2026-13" is not YYYY-MM; allowed: e.g. 2026-12',
    ],
    [{ config: SAMPLE, month: "Dec" }, '--month "Dec" is not YYYY-MM; allowed: e.g. 2026-12'],
    [
      { config: SAMPLE, month: "2026-12", days: "40" },
      '--days "40" is not an integer from 1 to 31',
    ],
  ])("refuses %o with exit 2 and says why", async (opts, message) => {
    const { out, stdout, stderr } = collect();
    expect(await simulateCommand({ ...opts, now: NOW }, out)).toBe(2);
    expect(stderr).toEqual([`keepwarm simulate: ${message}`]);
    expect(stdout).toEqual([]);
  });

  it("prints every problem of an invalid config and exits 2 before simulating", async () => {
    const { out, stderr } = collect();
    const file = `${BROKEN}cadence-15m.yaml`;
    expect(await simulateCommand({ config: file, month: "2026-12", now: NOW }, out)).toBe(2);
    expect(stderr).toEqual(
      readFileSync(`${BROKEN}cadence-15m.expected`, "utf8")
        .trim()
        .split("\n")
        .map((l) => `${BROKEN}${l}`),
    );
  });
});

describe("simulateCommand --sim-config", () => {
  const dir = mkdtempSync(join(tmpdir(), "keepwarm-simulate-cli-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it("reports every problem of a bad sim config as file:line:col and exits 2 before simulating", async () => {
    const bad = file(
      "bad.yaml",
      [
        "settings:",
        "  eviction: sometimes",
        "models:",
        "  - modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel",
        "    customModelUnits: 4",
        "    settings: {evictionDelay: soon}",
        "",
      ].join("\n"),
    );
    const { out, stdout, stderr } = collect();
    const opts = { config: SAMPLE, month: "2026-12", simConfig: bad, now: NOW };
    expect(await simulateCommand(opts, out)).toBe(2);
    expect(stderr).toEqual([
      `${bad}:2:13: settings.eviction: is "sometimes"; allowed: afterLastCall or billingWindows`,
      `${bad}:6:31: models[0].settings.evictionDelay: is "soon"; allowed: a duration such as 0s, 90s, 15m or 1h`,
    ]);
    expect(stdout).toEqual([]);
  });

  it("says a missing sim config cannot be read, with exit 2", async () => {
    const { out, stderr } = collect();
    const missing = join(dir, "missing.yaml");
    const opts = { config: SAMPLE, month: "2026-12", simConfig: missing, now: NOW };
    expect(await simulateCommand(opts, out)).toBe(2);
    expect(stderr).toEqual([`${missing}:1:1: (file): cannot be read (ENOENT)`]);
  });

  it("says a daemon log that cannot be written, with exit 2, before simulating", async () => {
    const { out, stdout, stderr } = collect();
    const log = join(dir, "no-such-dir", "daemon.jsonl");
    const opts = { config: SAMPLE, month: "2026-12", daemonLog: log, now: NOW };
    expect(await simulateCommand(opts, out)).toBe(2);
    expect(stderr).toEqual([`keepwarm simulate: --daemon-log "${log}" cannot be written (ENOENT)`]);
    expect(stdout).toEqual([]);
  });

  it("runs against the sim config's rule, prints it, and draws a progress line per simulated day", async () => {
    const sim = file("five.yaml", "settings: {eviction: afterLastCall, evictionDelay: 5m}\n");
    const { out, stdout, stderr } = collect();
    const progress: string[] = [];
    const daemonLog = join(dir, "daemon.jsonl");
    const opts = {
      config: SAMPLE,
      month: "2026-12",
      days: "1",
      simConfig: sim,
      daemonLog,
      json: true,
      now: NOW,
      progress: (line: string) => progress.push(line),
    };
    const code = await simulateCommand(opts, out);
    expect(stderr).toEqual([]);
    expect(code).toBe(0);
    const json = JSON.parse(stdout.join("\n"));
    expect(json.simulator).toMatchObject({
      evictionRule: "afterLastCall",
      evictionDelayMs: 300_000,
    });
    expect(json.to).toBe("2026-12-02T00:00:00.000Z");
    // The daemon read CloudWatch by its own rule, and says what that cost.
    expect(json.overhead.metricsRequested).toBeGreaterThan(0);
    expect(json.overhead.metricsPerModelMinute).toBeLessThanOrEqual(0.6);
    expect(json.overhead.usd).toBeCloseTo(json.overhead.metricsRequested / 100_000, 10);
    const llama = json.models.find((m: { model: string }) => m.model === "batch-llama");
    expect(llama.cron.coveragePct).toBeLessThan(60);
    // A day's ledger is no check of the month's projection.
    expect(llama.keepwarm.projectedUsd).toBeGreaterThan(0);
    expect(llama.keepwarm.projectionErrorPct).toBeUndefined();
    expect(progress).toEqual([
      "keepwarm simulate: keepwarm day 1/2 (run 1 of 3)",
      "keepwarm simulate: keepwarm day 2/2 (run 1 of 3)",
      "keepwarm simulate: cron */14 day 1/2 (run 2 of 3)",
      "keepwarm simulate: cron */14 day 2/2 (run 2 of 3)",
      "keepwarm simulate: always-on day 1/2 (run 3 of 3)",
      "keepwarm simulate: always-on day 2/2 (run 3 of 3)",
      // Cleared before the report.
      "",
    ]);
    // The daemon's log, on simulated time: what it learned of the 5-minute rule, and when.
    const lines = readFileSync(daemonLog, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const times = lines.map((l) => Date.parse(String(l.time)));
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.parse("2026-11-30T00:00:00Z"));
    expect(Math.max(...times)).toBeLessThanOrEqual(Date.parse(json.to));
    const learned = lines.filter((l) => l.event === "timings" && l.model === "batch-llama").at(-1);
    expect(learned?.timings).toMatchObject({
      evictionDelay: { source: "learned" },
      cadence: { source: "learned" },
    });
    const seconds = (learned?.timings as { evictionDelay?: { seconds: number } } | undefined)
      ?.evictionDelay?.seconds;
    expect(seconds).toBeGreaterThanOrEqual(240);
    expect(seconds).toBeLessThanOrEqual(300);
    expect(lines.some((l) => l.event === "spend")).toBe(true);
  }, 120_000);
});

describe("formatSimulation", () => {
  it("shows each scenario of each model with coverage, billed minutes, USD and the projection's error", () => {
    const result: MonthSimulation = {
      month: "2026-12",
      range: { start: Date.parse("2026-12-01T00:00:00Z"), end: Date.parse("2027-01-01T00:00:00Z") },
      overhead: {
        getMetricDataCalls: 11_520,
        metricsRequested: 22_464,
        metricsPerModelMinute: 0.2516,
        usd: 0.22464,
      },
      elapsedMs: 12_345,
      scenarioMs: { keepwarm: 11_000, cron: 845, alwaysOn: 500 },
      models: [
        {
          model: "batch-llama",
          policy: "night-batch",
          region: "us-east-1",
          cmuVersion: "v1.0",
          usdPerCmuMinute: 0.05718,
          cmu: 2,
          keepwarm: {
            ...scenario(7905, 2, 100, 0),
            projectedUsd: 907.9158,
            projectionErrorPct: 0,
            dailyProjectedUsd: [907.9158],
          },
          cron: scenario(7440, 2, 99.16666, 31),
          alwaysOn: scenario(44640, 2, 100, 0),
        },
      ],
    };
    const lines = formatSimulation("config/keepwarm.yaml", result);
    const text = lines.join("\n");
    expect(lines[0]).toBe(
      "keepwarm simulate: config/keepwarm.yaml, 2026-12 (UTC), simulated: restore 90 s +-10 s, idle eviction 15 min after the last call, billing windows 5 min",
    );
    const own = formatSimulation(
      "config/keepwarm.yaml",
      result,
      { ...DEFAULT_SIM_SETTINGS, evictionRule: "billingWindows" },
      new Map([
        ["batch-llama", { ...DEFAULT_SIM_SETTINGS, restoreMs: 60_000, restoreJitterMs: 0 }],
      ]),
    );
    expect(own[0]).toMatch(
      /idle eviction at the end of the last call's billing window \+ 2 idle windows/,
    );
    expect(own).toContain(
      "  simulated for this model: restore 60 s +-0 s, idle eviction 15 min after the last call, billing windows 5 min",
    );
    expect(text).toContain(
      "batch-llama  (night-batch, us-east-1, 2 CMU v1.0 at $0.05718/CMU-minute; 7,440 window minutes)",
    );
    expect(lines.find((l) => l.startsWith("  keepwarm"))).toMatch(
      /^ {2}keepwarm +100\.00% +0 +558 +7,905 +\$904\.02 +\$907\.92 +projected \$907\.92 \(\+0\.00% vs ledger\)$/,
    );
    expect(lines.find((l) => l.startsWith("  cron */14"))).toMatch(
      /^ {2}cron \*\/14 +99\.17% +31 +558 +7,440 +\$850\.84 +\$854\.74 +keepwarm costs \$53\.18 more$/,
    );
    expect(lines.find((l) => l.startsWith("  always-on"))).toMatch(
      /keepwarm costs \$4,201\.01 less$/,
    );
    expect(text).toContain(
      "cron */14: a ping at minutes 0, 14, 28, 42 and 56 of every hour inside a window, the keep-alive of the seed article (https://blog.bitipcman.com/post/bedrock-import-model-mimo-vl).",
    );
    expect(text).toContain(
      "keepwarm's own CloudWatch reads: 22,464 GetMetricData metrics in 11,520 calls (0.25 per model-minute), $0.22",
    );
    expect(text).toContain("ran in 12.3 s (keepwarm 11.0 s, cron 0.8 s, always-on 0.5 s)");
  });
});
