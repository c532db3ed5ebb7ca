import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { HOUR_MS } from "../../../src/domain/units.js";
import { readTimingsFile, TIMINGS_FILE } from "../../../src/runtime/state/learnedTimings.js";
import { LEASE_FILE } from "../../../src/runtime/state/stateLease.js";
import { SUMMARIES_FILE } from "../../../src/runtime/state/summaries.js";
import {
  ARN,
  businessHoursYaml,
  configOf,
  eventsOf,
  type Harness,
  local,
  startHarness,
} from "../../e2e/daemonHarness.js";

const ARN_B = "arn:aws:bedrock:us-west-2:123456789012:imported-model/b2b2b2b2b2b2";

/** alpha and beta on business hours; alpha's projection crosses 80% of its budget, the fleet's 100%. */
const yaml = () =>
  `${businessHoursYaml({
    models: [
      { name: "alpha", modelArn: ARN, lines: ["customModelUnits: 4"] },
      { name: "beta", modelArn: ARN_B, lines: ["customModelUnits: 2"] },
    ],
    timings: "fixed",
  })}budgets:\n  fleet: 2000\n  models:\n    alpha: 2800\n`;

const harnesses: Harness[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A replica: the daemon against a simulator of its own, its restores lasting `restoreMs`. */
async function replica(stateDir: string, restoreMs: number): Promise<Harness> {
  const h = await startHarness({
    config: configOf(yaml(), stateDir),
    start: local("00:00"),
    sim: { restoreMs },
  });
  harnesses.push(h);
  return h;
}

/** Runs both replicas' clocks to `until`, an hour at a time, so each meets what the other wrote. */
async function runBoth(a: Harness, b: Harness, until: number): Promise<void> {
  for (let t = Math.min(a.clock.now(), b.clock.now()) + HOUR_MS; ; t += HOUR_MS) {
    const to = Math.min(t, until);
    await a.clock.runUntil(to);
    await b.clock.runUntil(to);
    if (to === until) return;
  }
}

const summaryDates = (dir: string) =>
  readFileSync(join(dir, SUMMARIES_FILE), "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { date: string }).date);

describe("two daemons on one state directory", () => {
  it("write one summary line a day and log each budget crossing once; the stand-by takes over at the holder's stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-replicas-"));
    dirs.push(dir);
    const a = await replica(dir, 90_000);
    const b = await replica(dir, 60_000);
    await a.daemon.start();
    await b.daemon.start();
    expect(eventsOf(a.lines, "state-lease")).toMatchObject([{ role: "holder" }]);
    expect(eventsOf(b.lines, "state-lease")).toMatchObject([
      { role: "standby", path: join(dir, LEASE_FILE) },
    ]);

    await runBoth(a, b, local("00:10", 9));
    expect(summaryDates(dir)).toEqual(["2026-12-07", "2026-12-08"]);
    expect(eventsOf(a.lines, "daily-summary")).toHaveLength(2);
    expect(eventsOf(b.lines, "daily-summary")).toEqual([]);
    expect(eventsOf(a.lines, "budget").map((l) => [l.model ?? null, l.threshold])).toEqual([
      ["alpha", 80],
      [null, 80],
      [null, 100],
    ]);
    expect(eventsOf(b.lines, "budget")).toEqual([]);
    // Still one stand-by line: it said so once.
    expect(eventsOf(b.lines, "state-lease")).toHaveLength(1);

    // Each measured its own restores (90 s and 60 s, and the pings' spacing): the file holds both.
    const timings = await readTimingsFile(join(dir, TIMINGS_FILE));
    const restores = (timings.get("alpha")?.restores ?? []).map((r) => r.ms);
    expect(restores.filter((ms) => ms < 75_000)).not.toEqual([]);
    expect(restores.filter((ms) => ms >= 90_000)).not.toEqual([]);

    // The holder stops: the stand-by takes the lease at its next minute and writes the next day.
    await a.daemon.stop({ graceMs: 1_000 });
    await b.clock.runUntil(local("00:12", 9));
    expect(eventsOf(b.lines, "state-lease").map((l) => l.role)).toEqual(["standby", "holder"]);
    await b.clock.runUntil(local("00:10", 10));
    expect(summaryDates(dir)).toEqual(["2026-12-07", "2026-12-08", "2026-12-09"]);
    expect(eventsOf(b.lines, "daily-summary").map((l) => l.date)).toEqual(["2026-12-09"]);
    // The crossings a announced are read from budgets.json, not announced again.
    expect(eventsOf(b.lines, "budget")).toEqual([]);
  }, 120_000);
});
