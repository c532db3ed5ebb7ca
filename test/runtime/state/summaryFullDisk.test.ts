import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { appendSummary, type DailySummary, totalOf } from "../../../src/runtime/state/summaries.js";
import { skipWithout } from "../../requiredTools.js";
import { tryTmpfs } from "./fullDisk.js";

const tmpfs = tryTmpfs();
afterAll(() => tmpfs?.unmount());

function summaryOf(day: number): DailySummary {
  const model = {
    model: "mimo-vl",
    policy: "business-hours",
    cmu: 4,
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
    dayUsd: 124.9,
    monthToDateUsd: 1_234.5,
    projectedMonthUsd: 2_397.92,
    alwaysOnMonthUsd: 10_217.86,
    savingUsd: 7_819.94,
  };
  const date = `2026-${String(1 + Math.floor(day / 28)).padStart(2, "0")}-${String(1 + (day % 28)).padStart(2, "0")}`;
  return {
    date,
    timezone: "Asia/Shanghai",
    at: `${date}T16:00:00.000Z`,
    simulated: false,
    models: [model],
    total: totalOf([model]),
    hint: null,
  };
}

describe("appendSummary on a real full disk", () => {
  it.skipIf(skipWithout(tmpfs !== undefined, "a tmpfs mount (root)"))(
    "never leaves a torn line: each summary is on disk whole or the call fails",
    async () => {
      const stateDir = join(tmpfs?.dir as string, "state");
      const written: string[] = [];
      let failures = 0;
      for (let day = 0; day < 60; day++) {
        const s = summaryOf(day);
        try {
          await appendSummary(stateDir, s);
          written.push(s.date);
        } catch (error) {
          failures++;
          expect(String((error as Error).message)).toContain("ENOSPC");
        }
      }
      expect(failures).toBeGreaterThan(0);
      const text = readFileSync(join(stateDir, "summaries.jsonl"), "utf8");
      expect(text.endsWith("\n")).toBe(true);
      const dates = text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (JSON.parse(l) as DailySummary).date);
      expect(dates).toEqual(written);
    },
  );
});
