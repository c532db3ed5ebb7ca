import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatReport, lastDays, printReport, reportCommand } from "../../src/cli/report.js";
import {
  appendSummary,
  type DailySummary,
  type ModelDaySummary,
  totalOf,
} from "../../src/runtime/state/summaries.js";

function model(name: string, dayUsd: number | null): ModelDaySummary {
  return {
    model: name,
    policy: "business-hours",
    cmu: dayUsd === null ? null : 4,
    plannedWarmMinutes: 547,
    observedWarmMinutes: 546,
    coldStarts: 1,
    restoreSecondsMedian: 92.3,
    restoreSecondsMax: 92.3,
    evictionMinutesMedian: 15,
    restoreSecondsMedianAllTime: 92.3,
    pingsOk: 39,
    pingsFailed: 0,
    recoveries: 0,
    dayUsd,
    monthToDateUsd: dayUsd === null ? null : 1_234.5,
    projectedMonthUsd: dayUsd === null ? null : 2_397.92,
    alwaysOnMonthUsd: dayUsd === null ? null : 10_217.86,
    savingUsd: dayUsd === null ? null : 7_819.94,
  };
}

function summary(
  date: string,
  models: ModelDaySummary[],
  hint: string | null = null,
): DailySummary {
  return {
    date,
    timezone: "Asia/Shanghai",
    at: `${date}T16:00:00.000Z`,
    simulated: false,
    models,
    total: totalOf(models),
    hint,
  };
}

const run = async (opts: Parameters<typeof printReport>[0]) => {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await printReport(opts, {
    stdout: (l) => stdout.push(l),
    stderr: (l) => stderr.push(l),
  });
  return { code, stdout, stderr };
};

describe("printReport", () => {
  it("prints a row per model and a total per day, for the last N days", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    for (const date of ["2026-12-07", "2026-12-08", "2026-12-09"]) {
      await appendSummary(dir, summary(date, [model("mimo-vl", 125.8), model("llama", null)]));
    }
    const { code, stdout } = await run({ stateDir: dir, days: "2" });
    expect(code).toBe(0);
    expect(stdout).toEqual([
      "date        model    warm min plan/seen  cold starts  restore s med/max  pings ok/failed      day  month to date  projected     saving  budget",
      "----------  -------  ------------------  -----------  -----------------  ---------------  -------  -------------  ---------  ---------  ------",
      "2026-12-08  mimo-vl             547/546            1          92.3/92.3             39/0  $125.80      $1,234.50  $2,397.92  $7,819.94",
      "2026-12-08  llama               547/546            1          92.3/92.3             39/0  unknown        unknown    unknown    unknown",
      "2026-12-08  TOTAL             1094/1092            2                                78/0  $125.80      $1,234.50  $2,397.92  $7,819.94",
      "2026-12-09  mimo-vl             547/546            1          92.3/92.3             39/0  $125.80      $1,234.50  $2,397.92  $7,819.94",
      "2026-12-09  llama               547/546            1          92.3/92.3             39/0  unknown        unknown    unknown    unknown",
      "2026-12-09  TOTAL             1094/1092            2                                78/0  $125.80      $1,234.50  $2,397.92  $7,819.94",
    ]);
  });

  it("shows the timings each model was planned with, and where they came from", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    const learned = {
      ...model("mimo-vl", 125.8),
      timings: {
        cadence: { seconds: 290, source: "learned" },
        leadTime: { seconds: 129, source: "learned" },
        evictionDelay: { seconds: 350, source: "learned" },
        restore: { seconds: 90, source: "learned" },
      },
    };
    const fixed = {
      ...model("llama", null),
      timings: {
        cadence: { seconds: 840, source: "configured" },
        leadTime: { seconds: 360, source: "assumed" },
        evictionDelay: { seconds: 300, source: "assumed" },
        restore: { seconds: 300, source: "assumed" },
      },
    };
    await appendSummary(dir, summary("2026-12-07", [learned, fixed]));
    const { stdout } = await run({ stateDir: dir });
    expect(stdout[0]).toMatch(/budget +cadence\/lead\/eviction$/);
    expect(stdout[2]).toMatch(/ 4m50s L\/2m9s L\/5m50s L$/);
    expect(stdout[3]).toMatch(/ 14m C\/6m A\/5m A$/);
    expect(stdout).toContain(
      "cadence/lead/eviction: the timings each model was planned with at the end of the day; L learned, C configured, A assumed",
    );
  });

  it("counts the cold starts inside windows apart, and notes a window that opened cold", () => {
    const coldOpening = { ...model("mimo-vl", 125.8), coldStartsInWindow: 0, windowsOpenedCold: 1 };
    const midWindow = {
      ...model("llama", null),
      coldStarts: 2,
      coldStartsInWindow: 1,
      windowsOpenedCold: 0,
    };
    const lines = formatReport([summary("2026-12-14", [coldOpening, midWindow])]);
    expect(lines[0]).toContain("cold starts (in window)");
    const cells = lines.slice(2, 5).map((l) => l.split(/ {2,}/)[3]);
    expect(cells).toEqual(["1 (0)", "2 (1)", "3 (1)"]);
    expect(lines.slice(-1)).toEqual([
      "2026-12-14: mimo-vl: a window opened cold, so users waited for a restore (the opened-cold lines of the log say why)",
    ]);
  });

  it("says so when there is no summary yet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    const { code, stdout } = await run({ stateDir: dir });
    expect(code).toBe(0);
    expect(stdout[0]).toMatch(/^no daily summaries yet in /);
  });

  it.each(["0", "-1", "two", "1.5"])("refuses --days %s with exit 2", async (days) => {
    const { code, stderr } = await run({ stateDir: tmpdir(), days });
    expect(code).toBe(2);
    expect(stderr[0]).toBe(
      `keepwarm report: --days: "${days}" is not a number of days; allowed: an integer 1 or more`,
    );
  });

  it("prints JSON lines with --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    await appendSummary(dir, summary("2026-12-07", [model("mimo-vl", 125.8)]));
    const { stdout } = await run({ stateDir: dir, json: true });
    expect(JSON.parse(stdout[0] as string)).toMatchObject({ date: "2026-12-07" });
  });

  it("skips a line that is not a summary with a warning naming it, and shows every other day", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    const path = join(dir, "summaries.jsonl");
    writeFileSync(
      path,
      [
        JSON.stringify(summary("2026-12-07", [model("mimo-vl", 10)])),
        "not json",
        JSON.stringify(summary("2026-12-09", [model("mimo-vl", 30)])),
        "",
      ].join("\n"),
    );
    const { code, stdout, stderr } = await run({ stateDir: dir, json: true });
    expect(code).toBe(0);
    expect(stdout.map((l) => JSON.parse(l).date)).toEqual(["2026-12-07", "2026-12-09"]);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(new RegExp(`warning: ${path}:2: skipped: not JSON`));
  });

  it("recovers the day glued onto a torn fragment by an older writer, and the days after", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    const path = join(dir, "summaries.jsonl");
    const day8 = JSON.stringify(summary("2026-12-08", [model("mimo-vl", 20)]));
    // What a full disk left: 574 bytes of the 8th, the 9th appended straight after it.
    const fragment = day8.slice(0, 574);
    writeFileSync(
      path,
      `${JSON.stringify(summary("2026-12-07", [model("mimo-vl", 10)]))}\n${fragment}${JSON.stringify(summary("2026-12-09", [model("mimo-vl", 30)]))}\n${JSON.stringify(summary("2026-12-10", [model("mimo-vl", 40)]))}\n`,
    );
    const { code, stdout, stderr } = await run({ stateDir: dir });
    expect(code).toBe(0);
    const dates = stdout.filter((l) => l.includes("TOTAL")).map((l) => l.slice(0, 10));
    expect(dates).toEqual(["2026-12-07", "2026-12-09", "2026-12-10"]);
    expect(stderr).toEqual([
      `keepwarm report: warning: ${path}:2: skipped: a torn fragment of 574 bytes before the record was skipped`,
    ]);
  });

  it("fails with exit 1 naming the file when it cannot be read at all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    mkdirSync(join(dir, "summaries.jsonl"));
    const { code, stderr } = await run({ stateDir: dir });
    expect(code).toBe(1);
    expect(stderr[0]).toContain(`cannot read ${join(dir, "summaries.jsonl")}`);
  });

  it("skips a torn last line, as a power cut mid-write leaves it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-"));
    writeFileSync(
      join(dir, "summaries.jsonl"),
      `${JSON.stringify(summary("2026-12-07", []))}\n{"date":"2026-12-0`,
    );
    const { code, stdout } = await run({ stateDir: dir, json: true });
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
  });
});

describe("keepwarm report --config", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const configWith = (dir: string, stateDir?: string) => {
    const file = join(dir, "keepwarm.yaml");
    writeFileSync(
      file,
      `models:
  - name: mimo-vl
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel
    policy: business-hours
    customModelUnits: 4
${stateDir ? `daemon:\n  stateDir: ${stateDir}\n` : ""}`,
    );
    return file;
  };

  it("is accepted, and reads the summaries where the config's daemon.stateDir says", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-config-"));
    const state = join(dir, "state");
    await appendSummary(state, summary("2026-12-08", [model("mimo-vl", 125.8)]));
    const file = configWith(dir, state);
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "src/cli/main.ts"), "report", "--config", file],
      { cwd: root, encoding: "utf8", env: { PATH: process.env.PATH } },
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^2026-12-08 +mimo-vl /m);
    expect(r.stderr).toContain(
      `keepwarm report: state directory ${state} (from daemon.stateDir in ${file})`,
    );
  });

  it("reads /var/lib/keepwarm, the systemd and container default, before ./.state when it exists", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-config-"));
    const service = join(dir, "var-lib-keepwarm");
    await appendSummary(service, summary("2026-12-09", [model("mimo-vl", 125.8)]));
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await reportCommand(
      { config: configWith(dir), serviceStateDir: service },
      { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) },
    );
    expect(code).toBe(0);
    expect(stdout.some((l) => l.startsWith("2026-12-09  mimo-vl"))).toBe(true);
    expect(stderr[0]).toMatch(
      new RegExp(
        `^keepwarm report: state directory ${service} \\(the systemd and container default; no --state-dir`,
      ),
    );
  });

  it("exits 2 with the config's problems", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-report-config-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "timezone: Mars/Olympus\nmodels: []\n");
    const stderr: string[] = [];
    const code = await reportCommand(
      { config: file },
      { stdout: () => {}, stderr: (l) => stderr.push(l) },
    );
    expect(code).toBe(2);
    expect(stderr[0]).toMatch(/bad\.yaml:1:\d+: timezone: /);
  });
});

describe("lastDays", () => {
  it("keeps the latest summary of a date written twice", () => {
    const a = summary("2026-12-07", [model("a", 1)]);
    const b = summary("2026-12-07", [model("a", 2)]);
    expect(lastDays([a, b], 7)).toEqual([b]);
  });
});

describe("formatReport", () => {
  it("adds the self-hosting hint under its day", () => {
    const lines = formatReport([summary("2026-12-07", [model("a", 1)], "projected $3,000.00 ...")]);
    expect(lines.at(-1)).toBe("2026-12-07: projected $3,000.00 ...");
  });
});

describe("formatReport with budgets", () => {
  const withBudget = (m: ModelDaySummary, budgetUsd: number): ModelDaySummary => ({
    ...m,
    budget: {
      budgetUsd,
      projectedMonthUsd: m.projectedMonthUsd,
      ratio: m.projectedMonthUsd === null ? null : m.projectedMonthUsd / budgetUsd,
    },
  });

  it("shows each budget's share, marks 80-100% near and 100% over, and lists the day's crossings", () => {
    const models = [
      withBudget(model("mimo-vl", 125.8), 2_800),
      withBudget(model("llama", 125.8), 2_000),
      withBudget(model("qwen", 125.8), 10_000),
      withBudget(model("gone", null), 500),
    ];
    const s: DailySummary = {
      ...summary("2026-12-07", models),
      fleetBudget: { budgetUsd: 5_000, projectedMonthUsd: 7_193.76, ratio: 7_193.76 / 5_000 },
      budgetCrossings: [
        {
          model: "mimo-vl",
          month: "2026-12",
          threshold: 80,
          at: "2026-12-07T01:00:00.000Z",
          budgetUsd: 2_800,
          projectedMonthUsd: 2_397.92,
          monthToDateUsd: 1_234.5,
          reachedOn: null,
          modelsWithUnknownCmu: [],
        },
        {
          model: null,
          month: "2026-12",
          threshold: 100,
          at: "2026-12-07T01:00:00.000Z",
          budgetUsd: 5_000,
          projectedMonthUsd: 7_193.76,
          monthToDateUsd: 3_703.5,
          reachedOn: "2026-12-11",
          modelsWithUnknownCmu: ["gone"],
        },
      ],
    };
    const lines = formatReport([s]);
    const budgetColumn = lines.slice(2, 7).map((l) => l.split(/ {2,}/).at(-1));
    // 2,397.92 / 2,800 = 85.6%; / 2,000 = 119.9%; / 10,000 = 23.98%; the fleet 143.9%: rounded down.
    expect(budgetColumn).toEqual([
      "85% near",
      "119% OVER",
      "23%",
      "unknown of $500.00",
      "143% OVER",
    ]);
    expect(lines.slice(-2)).toEqual([
      "2026-12-07: mimo-vl crossed 80% of its $2,800.00 2026-12 budget: projected $2,397.92 (85%), month to date $1,234.50, not reached this month at the current rate",
      "2026-12-07: the fleet crossed 100% of its $5,000.00 2026-12 budget: projected $7,193.76 (143%), month to date $3,703.50, reached on 2026-12-11 at the current rate (left out with CMU unknown: gone)",
    ]);
  });
});

describe("formatReport with keepwarm's own AWS calls", () => {
  it("notes the day's calls and the month's cost under their day, read back from summaries.jsonl", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "kw-report-overhead-"));
    const day: DailySummary = {
      ...summary("2026-12-08", [model("mimo-vl", 125.8)]),
      overhead: {
        getMetricDataCalls: 360,
        metricsRequested: 718,
        listMetricsRequests: 0,
        costExplorerRequests: 2,
        dayUsd: 0.03,
        monthToDateUsd: 0.21,
        projectedMonthUsd: 0.74,
        since: "2026-12-01T00:00:00.000Z",
      },
    };
    await appendSummary(stateDir, summary("2026-12-07", [model("mimo-vl", 125.8)]));
    await appendSummary(stateDir, day);
    const { code, stdout } = await run({ stateDir, days: "7" });
    expect(code).toBe(0);
    expect(stdout.filter((l) => l.includes("own AWS calls"))).toEqual([
      "2026-12-08: keepwarm's own AWS calls $0.03 (718 GetMetricData metrics, 2 Cost Explorer requests); month to date $0.21 counted since 2026-12-01T00:00:00.000Z, projected $0.74",
    ]);
  });
});
