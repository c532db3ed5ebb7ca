import { describe, expect, it } from "vitest";
import type { SimModelSpec } from "../../src/sim/index.js";
import {
  ARN,
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  type LogLine,
  local,
  MIMO_VL,
} from "./daemonHarness.js";

const MINUTE = 60_000;
/** The simulator's idle rule: a copy goes 15 minutes after the last call it served. */
const EVICTION_MS = 15 * MINUTE;

/** Users who call the business-hours model in the evenings and on Saturday morning too. */
const USERS: SimModelSpec = {
  modelArn: ARN,
  customModelUnits: 4,
  traffic: {
    timezone: "Asia/Shanghai",
    rates: [
      {
        days: new Set([1, 2, 3, 4, 5] as const),
        fromMinute: 9 * 60 + 30,
        toMinute: 17 * 60,
        perHour: 10,
      },
      { days: new Set([1, 2, 3, 4] as const), fromMinute: 19 * 60, toMinute: 22 * 60, perHour: 20 },
      { days: new Set([6] as const), fromMinute: 10 * 60, toMinute: 12 * 60, perHour: 20 },
    ],
    strayPerWeek: 0,
    dayToDay: 0,
  },
};

/** Tuesday 8 to Sunday 13 December 2026: business days with evenings, then a Saturday. */
async function week(
  startHarness: ReturnType<typeof harnessPerTest>,
  simModels: readonly SimModelSpec[],
): Promise<{ lines: LogLine[]; users: number }> {
  const h = await startHarness({
    config: configOf(businessHoursYaml({ models: [MIMO_VL] })),
    start: local("06:00", 8),
    sim: { evictionDelayMs: EVICTION_MS, restoreMs: 90_000 },
    simModels,
  });
  await h.daemon.start();
  await h.clock.runUntil(local("06:00", 13));
  const users = h.sim.userCalls(ARN).ok;
  return { lines: h.lines, users };
}

function evictions(lines: readonly LogLine[]): { minutes: number; bound: string }[] {
  return eventsOf(lines, "measured", "mimo-vl")
    .filter((l) => l.measure === "eviction")
    .map((l) => ({ minutes: l.minutes as number, bound: l.bound as string }));
}

function lastCadenceSeconds(lines: readonly LogLine[]): number | undefined {
  const last = eventsOf(lines, "timings", "mimo-vl").at(-1);
  const t = last?.timings as Record<string, { seconds: number; source: string }> | undefined;
  return t?.cadence?.seconds;
}

describe("evictions learned while users call the model", { timeout: 600_000 }, () => {
  const startHarness = harnessPerTest();

  it("learns only evictions the idle rule made, and keeps the cadence it learns without users", async () => {
    const alone = await week(startHarness, []);
    const withUsers = await week(startHarness, [USERS]);
    // The users called: evenings after the closing ping, and on Saturday.
    expect(withUsers.users).toBeGreaterThan(100);
    const learned = evictions(withUsers.lines);
    expect(learned.length).toBeGreaterThan(0);
    // Each eviction learned is the idle rule's (15 minutes; ModelCopy resolves to a minute):
    // none measured from keepwarm's closing ping across an evening the users kept warm.
    for (const e of learned) {
      expect(e.minutes, JSON.stringify(learned)).toBeLessThanOrEqual(EVICTION_MS / MINUTE + 2);
    }
    const cadence = lastCadenceSeconds(withUsers.lines);
    expect(cadence).toBeDefined();
    expect(cadence).toBe(lastCadenceSeconds(alone.lines));
    expect(cadence).toBeGreaterThanOrEqual(12 * 60);
  });
});
