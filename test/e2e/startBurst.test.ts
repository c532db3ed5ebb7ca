import { describe, expect, it } from "vitest";
import { peakIn } from "../peakIn.js";
import { configOf, harnessPerTest, local, ZONE } from "./daemonHarness.js";

/**
 * Enough to keep all 2,000 models warm at the starting 4-minute cadence (8.3 requests/s,
 * plus a tenth for restore retries), not enough to send their first pings at once: at the
 * default 5/s the rate keeps 1,090 and leaves the rest cold (test/e2e/rateShort.test.ts).
 */
const RATE = 10;

/** `n` models of one policy, with ids of 12 characters as Bedrock gives them. */
function models(policy: string, n: number, offset: number): { name: string; arn: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const id = `k${(offset + i).toString(36).padStart(11, "0")}`;
    return {
      name: `${policy}-${i}`,
      arn: `arn:aws:bedrock:us-west-2:123456789012:imported-model/${id}`,
    };
  });
}

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("a start-up with 2,000 models", () => {
    it("stays under the configured InvokeModel rate and still warms each model by its window", async () => {
      // Half are inside their window at start; the other half open at 08:10 (lead ping 08:04:
      // timings auto, nothing measured yet, so the lead is the assumed 5-minute restore + 1).
      const open = models("open", 1000, 0);
      const soon = models("soon", 1000, 1000);
      const entry = (m: { name: string; arn: string }, policy: string) =>
        `  - name: ${m.name}\n    modelArn: ${m.arn}\n    policy: ${policy}\n    customModelUnits: 2\n`;
      const yaml = `
timezone: ${ZONE}
daemon:
  invokeRatePerSecond: ${RATE}
  invokeBurst: 1
policies:
  open:
    windows:
      - days: mon-fri
        from: "07:00"
        to: "18:00"
  soon:
    windows:
      - days: mon-fri
        from: "08:10"
        to: "18:00"
models:
${open.map((m) => entry(m, "open")).join("")}${soon.map((m) => entry(m, "soon")).join("")}`;
      const h = await startHarness({ config: configOf(yaml), start: local("08:00") });
      await h.daemon.start();
      await h.clock.runUntil(local("08:10"));

      const sent = [...h.invokeTimes.values()].flat();
      expect(sent.length).toBeGreaterThanOrEqual(2000);
      expect(peakIn(sent, 1_000)).toBeLessThanOrEqual(RATE);
      // Spread, not dropped: every model was asked, the open ones first.
      const firstOf = (arn: string) => h.invokeTimes.get(arn)?.[0] ?? Number.POSITIVE_INFINITY;
      expect(Math.max(...open.map((m) => firstOf(m.arn)))).toBeLessThan(local("08:04"));
      expect(Math.min(...soon.map((m) => firstOf(m.arn)))).toBeGreaterThanOrEqual(local("08:04"));
      // The lead time is met: at 08:10 no model of either half is cold or still restoring.
      const notWarm = [...open, ...soon].filter((m) => h.sim.modelState(m.arn).state !== "warm");
      expect(notWarm.map((m) => m.name)).toEqual([]);
    }, 300_000);
  });
});
