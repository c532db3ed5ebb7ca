import {
  closeSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { lastDays } from "../../../src/cli/report.js";
import { parseJsonLines } from "../../../src/runtime/state/stateFiles.js";
import {
  appendSummary,
  archiveFileOf,
  archiveSummaries,
  type DailySummary,
  type ModelDaySummary,
  retentionStart,
  SUMMARIES_FILE,
  SUMMARY_MAX_LINE_BYTES,
  totalOf,
} from "../../../src/runtime/state/summaries.js";
import { readRecentSummaries, readSummaries } from "../../../src/runtime/state/summaryReader.js";
import { type Child, type Line, startNode, stop } from "../childProcess.js";

const reportChild = fileURLToPath(new URL("./reportChild.ts", import.meta.url));

function model(name: string, dayUsd: number): ModelDaySummary {
  return {
    model: name,
    policy: "business-hours",
    cmu: 4,
    plannedWarmMinutes: 547,
    observedWarmMinutes: 546,
    coldStarts: 1,
    coldStartsInWindow: 0,
    windowsOpenedCold: 0,
    restoreSecondsMedian: 92.3,
    restoreSecondsMax: 95.1,
    evictionMinutesMedian: 14.5,
    restoreSecondsMedianAllTime: 92.3,
    pingsOk: 39,
    pingsFailed: 0,
    recoveries: 0,
    dayUsd,
    monthToDateUsd: 1_234.5,
    projectedMonthUsd: 2_397.92,
    alwaysOnMonthUsd: 10_217.86,
    savingUsd: 7_819.94,
    timings: {
      cadence: { seconds: 290, source: "learned" },
      leadTime: { seconds: 129, source: "learned" },
      evictionDelay: { seconds: 350, source: "learned" },
      restore: { seconds: 90, source: "learned" },
    },
    budget: { budgetUsd: 2_800, projectedMonthUsd: 2_397.92, ratio: 0.856 },
  };
}

function summary(date: string, models: readonly ModelDaySummary[] = [model("mimo-vl", 1)]) {
  const s: DailySummary = {
    date,
    timezone: "Asia/Shanghai",
    at: `${date}T16:00:00.000Z`,
    simulated: false,
    models,
    total: totalOf(models),
    hint: null,
  };
  return s;
}

/** `count` consecutive dates from `first` (yyyy-MM-dd), UTC. */
function dates(first: string, count: number): string[] {
  const start = Date.parse(`${first}T00:00:00Z`);
  return Array.from({ length: count }, (_, i) =>
    new Date(start + i * 86_400_000).toISOString().slice(0, 10),
  );
}

const dirs: string[] = [];
const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await stop(c);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "kw-summaries-"));
  dirs.push(dir);
  return dir;
}

describe("readRecentSummaries", () => {
  it("gives the last N days as a whole read does, skipped lines numbered from the start", async () => {
    const dir = stateDir();
    const line = (d: string, usd = 1) => JSON.stringify(summary(d, [model("m", usd)]));
    const days = dates("2026-11-20", 12);
    const torn = line(days[6] as string).slice(0, 300);
    const text = [
      line(days[0] as string),
      "not json",
      line(days[1] as string),
      line(days[2] as string),
      line(days[2] as string, 2),
      "",
      line(days[3] as string),
      line(days[4] as string),
      "[]",
      line(days[5] as string),
      `${torn}${line(days[7] as string)}`,
      line(days[8] as string),
      line(days[9] as string),
      line(days[10] as string),
      line(days[11] as string),
      `{"date":"2026-12-0`,
    ].join("\n");
    writeFileSync(join(dir, SUMMARIES_FILE), text);
    const isSummary = (v: unknown): v is DailySummary =>
      Array.isArray((v as Partial<DailySummary> | null)?.models);
    const whole = parseJsonLines(text, isSummary, '{"date":');
    for (let n = 1; n <= 14; n++) {
      const file = await readRecentSummaries(dir, n);
      expect(lastDays(file.summaries, n)).toEqual(lastDays(whole.records, n));
      for (const s of file.skipped) expect(whole.skipped).toContainEqual(s);
    }
    const all = await readSummaries(dir);
    expect(all.skipped.map((s) => s.line)).toEqual([2, 9, 11, 16]);
    expect(all.summaries.map((s) => s.date)).toEqual(whole.records.map((r) => r.date));
    // Only the end of the file is read for the last days: the garbage near its start is not met.
    expect((await readRecentSummaries(dir, 3)).skipped.map((s) => s.line)).toEqual([16]);
  });

  it("skips a line longer than the bound without holding it, and reads the days around it", async () => {
    const dir = stateDir();
    const path = join(dir, SUMMARIES_FILE);
    const fd = openSync(path, "w");
    writeSync(fd, `${JSON.stringify(summary("2026-12-05"))}\n`);
    const chunk = Buffer.alloc(1024 * 1024, "x");
    for (let i = 0; i <= SUMMARY_MAX_LINE_BYTES / chunk.length; i++) writeSync(fd, chunk);
    writeSync(fd, `\n${JSON.stringify(summary("2026-12-06"))}\n`);
    closeSync(fd);
    const file = await readRecentSummaries(dir, 7);
    expect(file.summaries.map((s) => s.date)).toEqual(["2026-12-05", "2026-12-06"]);
    expect(file.skipped).toEqual([
      { line: 2, reason: expect.stringMatching(/^longer than 33554432 bytes \(34603008\)/) },
    ]);
  });
});

describe("keepwarm report on a summaries.jsonl larger than a string can hold", () => {
  it("prints the last 7 days, reading only them", async () => {
    const dir = stateDir();
    // A day of 1,000 models: 720 KB a line; 600 MB is 834 days, more than V8's longest string.
    const models = Array.from({ length: 1000 }, (_, i) =>
      model(`team-${i % 97}-model-${i}`, 125.8),
    );
    const days = dates("2024-08-25", 834);
    const fd = openSync(join(dir, SUMMARIES_FILE), "w");
    for (const d of days) writeSync(fd, `${JSON.stringify(summary(d, models))}\n`);
    closeSync(fd);
    const child = startNode(["--import", "tsx", reportChild, dir, "7"]);
    children.push(child);
    const done = (await child.until("the report", (l) => l.event === "done", 60_000)) as Line & {
      dates: string[];
      maxRssKb: number;
      code: number;
    };
    expect(done.code).toBe(0);
    expect(done.dates).toEqual(days.slice(-7));
    // Seven days of 1,000 models, not 600 MB.
    expect(done.maxRssKb).toBeLessThan(300 * 1024);
  }, 120_000);
});

describe("retentionStart", () => {
  it.each([
    ["2027-12-01", "2026-11-01"],
    ["2027-01-31", "2025-12-01"],
    ["2026-12-15", "2025-11-01"],
  ])("keeps 13 months before %s's month: from %s", (date, start) => {
    expect(retentionStart(date)).toBe(start);
  });
});

describe("archiveSummaries", () => {
  it("at the first summary of a month moves those older than 13 months to yearly archives", async () => {
    const dir = stateDir();
    const path = join(dir, SUMMARIES_FILE);
    // 2025-10-01 .. 2026-11-30, with a torn fragment after 2025-10-03.
    const days = dates("2025-10-01", 426);
    for (const d of days) {
      await appendSummary(dir, summary(d));
      if (d === "2025-10-03") writeFileSync(path, '{"date":"2025-10-0', { flag: "a" });
    }
    expect(readdirSync(dir)).toEqual([SUMMARIES_FILE]);
    const before = readFileSync(path, "utf8");

    await appendSummary(dir, summary("2026-12-01"));
    expect(readdirSync(dir).sort()).toEqual([archiveFileOf("2025"), SUMMARIES_FILE]);
    const kept = (await readSummaries(dir)).summaries.map((s) => s.date);
    expect(kept[0]).toBe("2025-11-01");
    expect(kept.at(-1)).toBe("2026-12-01");
    const archived = readFileSync(join(dir, archiveFileOf("2025")), "utf8");
    // Nothing lost, nothing twice: archive and file together are the file as it was.
    const keptText = readFileSync(path, "utf8");
    expect(archived + keptText).toBe(`${before}${JSON.stringify(summary("2026-12-01"))}\n`);
    expect(archived.split("\n")[0]).toMatch(/^\{"date":"2025-10-01"/);
    // The fragment goes with the day before it.
    expect(archived).toContain('"hint":null}\n{"date":"2025-10-0\n{"date":"2025-10-04"');

    // Later days of the month move nothing.
    expect(await archiveSummaries(dir, "2026-12-02")).toBe(0);
    // A year later the next months go to their own archive, after the ones already there.
    for (const d of dates("2026-12-02", 30)) await appendSummary(dir, summary(d));
    expect(await archiveSummaries(dir, "2027-01-01")).toBeGreaterThan(0);
    const again = readFileSync(join(dir, archiveFileOf("2025")), "utf8");
    expect(again.startsWith(archived)).toBe(true);
    expect(again.slice(archived.length).split("\n")[0]).toMatch(/^\{"date":"2025-11-01"/);
    expect((await readSummaries(dir)).summaries[0]?.date).toBe("2025-12-01");
  });

  it("moves nothing in a file younger than 13 months, nor in one that is not there", async () => {
    const dir = stateDir();
    expect(await archiveSummaries(dir, "2026-12-01")).toBe(0);
    for (const d of dates("2026-01-01", 40)) await appendSummary(dir, summary(d));
    expect(await archiveSummaries(dir, "2026-12-01")).toBe(0);
    expect(readdirSync(dir)).toEqual([SUMMARIES_FILE]);
  });
});
