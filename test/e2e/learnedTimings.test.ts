import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { DailySummary } from "../../src/runtime/state/summaries.js";
import type { SimSettings } from "../../src/sim/index.js";
import {
  ARN,
  at,
  businessHoursYaml,
  configOf,
  eventsOf,
  type Harness,
  harnessPerTest,
  local,
  MIMO_VL,
} from "./daemonHarness.js";

const MINUTE = 60_000;
/** Monday 7 to Wednesday 9 December 2026: three business days. */
const DAYS = [7, 8, 9] as const;

/** Whether a user's call at each minute of the day's window would have met a warm copy. */
async function windowMinutes(h: Harness, day: number): Promise<boolean[]> {
  const warm: boolean[] = [];
  for (let t = local("09:00", day); t < local("18:00", day); t += MINUTE) {
    await h.clock.runUntil(t);
    warm.push(h.sim.modelState(ARN).copies > 0);
  }
  return warm;
}

/** Stretches of cold minutes: each one a cold start users met. */
function coldStretches(warm: readonly boolean[]): number {
  return warm.filter((w, i) => !w && (i === 0 || warm[i - 1])).length;
}

/**
 * Runs the three days on the simulator under `sim`, restarting the daemon in the night
 * between the days, and reports per day: cold stretches in the window, warm at opening,
 * and whether the model was still up at closing and at `coolBy` after it.
 */
async function threeDays(
  startHarness: ReturnType<typeof harnessPerTest>,
  sim: Partial<SimSettings>,
  yaml = businessHoursYaml({ models: [MIMO_VL] }),
) {
  const h = await startHarness({ config: configOf(yaml), start: local("06:00", 7), sim });
  await h.daemon.start();
  const days = [];
  for (const day of DAYS) {
    const warm = await windowMinutes(h, day);
    await h.clock.runUntil(local("18:10", day));
    const upAt1810 = h.sim.modelState(ARN).copies > 0;
    days.push({ day, cold: coldStretches(warm), warmAtOpening: warm[0], warm, upAt1810 });
    await h.clock.runUntil(local("02:00", day + 1));
    await h.restart();
  }
  return { h, days };
}

describe("learned timings over the wire", { timeout: 300_000 }, () => {
  const startHarness = harnessPerTest();

  it("holds a model that is evicted 6 minutes after its last call: cold at most once in its first window, never after", async () => {
    const { h, days } = await threeDays(startHarness, {
      evictionDelayMs: 6 * MINUTE,
      restoreMs: 90_000,
    });
    expect(days[0]?.cold).toBeLessThanOrEqual(1);
    expect(days.slice(1).map((d) => d.cold)).toEqual([0, 0]);
    expect(days.slice(1).every((d) => d.warm.every(Boolean))).toBe(true);
    // What was learned: evictions of about 6 minutes (ModelCopy resolves to a minute).
    const measured = eventsOf(h.lines, "measured", "mimo-vl").filter(
      (l) => l.measure === "eviction" && l.bound === "measured",
    );
    expect(measured.length).toBeGreaterThan(0);
    for (const m of measured) {
      expect(m.minutes).toBeGreaterThan(4.9);
      expect(m.minutes).toBeLessThanOrEqual(6);
    }
    const timings = eventsOf(h.lines, "timings", "mimo-vl").at(-1) as Record<string, unknown>;
    const t = timings.timings as Record<string, { seconds: number; source: string }>;
    expect(t.evictionDelay?.source).toBe("learned");
    expect(t.cadence?.seconds).toBeLessThan(6 * 60);
  });

  it("cools a model that is evicted 50 minutes after its last call within 10 minutes of closing from its second day on", async () => {
    const { h, days } = await threeDays(startHarness, {
      evictionDelayMs: 50 * MINUTE,
      restoreMs: 90_000,
    });
    for (const d of days) expect(d.warm.every(Boolean)).toBe(true);
    // Day 1 plans with the shortest eviction AWS has stated (5 minutes): the copy stays up.
    expect(days[0]?.upAt1810).toBe(true);
    expect(days.slice(1).map((d) => d.upAt1810)).toEqual([false, false]);
    // ...and it was still warm at closing time: the last window minute was covered.
    expect(days.slice(1).every((d) => d.warm.at(-1))).toBe(true);
    // The eviction learned on day 1 survived the restarts: day 2 started with it.
    const restarted = eventsOf(h.lines, "timings", "mimo-vl")
      .filter((l) => l.reason === "the daemon started")
      .slice(1);
    expect(restarted.length).toBeGreaterThanOrEqual(2);
    for (const l of restarted) {
      const t = l.timings as Record<string, { seconds: number; source: string }>;
      expect(t.evictionDelay?.source).toBe("learned");
      expect(t.evictionDelay?.seconds).toBeGreaterThan(48 * 60);
    }
  });

  it("warms a model that restores in 7 minutes before opening from its second day on", async () => {
    const { h, days } = await threeDays(startHarness, {
      restoreMs: 7 * MINUTE,
      evictionDelayMs: 15 * MINUTE,
    });
    // Day 1 leads by the assumed 5-minute restore plus a margin: the 7-minute one overruns it.
    expect(days[0]?.warmAtOpening).toBe(false);
    expect(days.slice(1).map((d) => d.warmAtOpening)).toEqual([true, true]);
    expect(days.slice(1).map((d) => d.cold)).toEqual([0, 0]);
    // The warm-up's cold start came before opening (info, inWindow: false); the line that
    // tells operators users met it is `opened-cold`, once, on day 1, naming that restore.
    const coldStarts = eventsOf(h.lines, "cold-start", "mimo-vl");
    expect(coldStarts[0]).toMatchObject({ level: "info", inWindow: false });
    const opened = eventsOf(h.lines, "opened-cold", "mimo-vl");
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({
      level: "warn",
      windowStart: new Date(local("09:00", 7)).toISOString(),
      restoreBeganAt: new Date(coldStarts[0]?.time as string).toISOString(),
      leadTimeSource: "learned",
    });
    // The restore as measured (7 minutes, to the retry that found it done), and the lead the
    // next windows get from it.
    expect(opened[0]?.restoreSeconds).toBeGreaterThanOrEqual(420);
    expect(opened[0]?.restoreSeconds).toBeLessThan(430);
    expect(opened[0]?.leadTimeSeconds).toBeGreaterThan(7 * 60);
    // The daily summaries count it apart from the warm-up's cold start.
    const summaries = readFileSync(join(h.stateDir, "summaries.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as DailySummary);
    const day = (date: string) => summaries.find((x) => x.date === date)?.models[0];
    expect(day("2026-12-07")).toMatchObject({ coldStartsInWindow: 0, windowsOpenedCold: 1 });
    expect(day("2026-12-08")).toMatchObject({ coldStartsInWindow: 0, windowsOpenedCold: 0 });
    expect(day("2026-12-08")?.coldStarts).toBeGreaterThanOrEqual(1);
  });

  it("obeys a fixed cadence of 14m under a 6-minute eviction and says so, at most hourly", async () => {
    const yaml = businessHoursYaml({ models: [MIMO_VL], defaults: ["cadence: 14m"] });
    const h = await startHarness({
      config: configOf(yaml),
      start: local("06:00", 7),
      sim: { evictionDelayMs: 6 * MINUTE, restoreMs: 90_000 },
    });
    await h.daemon.start();
    await h.clock.runUntil(local("18:30", 7));
    // The configured cadence is kept, whatever was measured: about 540 / 14 planned pings in
    // the window (a learned cadence would have sent over a hundred), each meeting a cold model.
    const planned = eventsOf(h.lines, "ping", "mimo-vl").filter(
      (l) => l.reason === "planned" && at(l) >= local("09:00") && at(l) < local("18:00"),
    );
    expect(planned.length).toBeGreaterThanOrEqual(36);
    expect(planned.length).toBeLessThanOrEqual(42);
    const cold = eventsOf(h.lines, "cold-start", "mimo-vl").filter(
      (l) => at(l) >= local("09:00") && at(l) < local("18:00"),
    );
    expect(cold.length).toBeGreaterThan(30);
    const warnings = eventsOf(h.lines, "timings-contradicted", "mimo-vl");
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ setting: "cadence", configured: "14m" });
    expect(String(warnings[0]?.measured)).toMatch(/^evicted [45]m(\d+s)? after a call$/);
    expect(String(warnings[0]?.fix)).toMatch(/^set cadence to \d+m(\d+s)? or auto$/);
    const times = warnings.map((l) => Date.parse(l.time));
    for (let i = 1; i < times.length; i++) {
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(60 * MINUTE);
    }
  });
  it("keeps the learned cadence and lead through a spell of rejected pings inside a window", async () => {
    const h = await startHarness({
      config: configOf(businessHoursYaml({ models: [MIMO_VL] })),
      start: local("06:00", 7),
      sim: { evictionDelayMs: 5 * MINUTE, restoreMs: 90_000 },
    });
    await h.daemon.start();
    // A day to learn the 5-minute rule, then the morning of the next one.
    await h.clock.runUntil(local("10:59", 8));
    const before = h.daemon.status().models[0]?.timings;
    expect(before?.cadence.source).toBe("learned");
    // Expired credentials for 12 minutes: the planned pings are rejected and the copy goes.
    h.sim.faults.add({
      kind: "expiredToken",
      operations: ["InvokeModel"],
      from: local("11:00", 8),
      until: local("11:12", 8),
    });
    await h.clock.runUntil(local("13:00", 8));
    expect(eventsOf(h.lines, "ping-rejected", "mimo-vl").length).toBeGreaterThan(0);
    const after = h.daemon.status().models[0]?.timings;
    expect(after?.cadence).toEqual(before?.cadence);
    expect(after?.leadTime).toEqual(before?.leadTime);
    // No clock was stepped: no line says one was.
    expect(h.lines.filter((l) => String(l.reason ?? "").includes("stepped back"))).toEqual([]);
    // The cold start that ended the spell bounded nothing: the gap was keepwarm's.
    const bounds = eventsOf(h.lines, "measured", "mimo-vl").filter(
      (l) => l.bound === "at-most" && Date.parse(l.time as string) >= local("11:00", 8),
    );
    expect(bounds).toEqual([]);
  });
});
