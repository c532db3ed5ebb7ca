import { describe, expect, it } from "vitest";
import {
  ARN,
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  local,
  localTime,
  MIMO_VL,
} from "./daemonHarness.js";

const MINUTE = 60_000;

const YAML = businessHoursYaml({ models: [MIMO_VL], timings: "fixed" });

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("a business-hours weekday in Asia/Shanghai with a 90 s restore", () => {
    it("warms before 09:00, keeps every window minute warm and cools by 18:05", async () => {
      const h = await startHarness({
        config: configOf(YAML),
        start: local("00:00"),
        sim: { restoreMs: 90_000 },
      });
      await h.daemon.start();
      await h.clock.runUntil(local("00:30", 8));

      const requests = h.invokeTimes.get(ARN) ?? [];
      expect(localTime(requests[0] as number)).toBe("08:55:00");

      const warm = eventsOf(h.lines, "warm", "mimo-vl");
      expect(warm).toHaveLength(1);
      expect(Date.parse((warm[0] as { time: string }).time)).toBeLessThan(local("09:00"));
      expect(warm[0]?.restoreSeconds).toBeGreaterThanOrEqual(90);
      expect(warm[0]?.restoreSeconds).toBeLessThan(100);
      // The warm-up before 09:00 met the model cold, as it was meant to: no warning.
      expect(eventsOf(h.lines, "cold-start", "mimo-vl")).toEqual([
        expect.objectContaining({ level: "info", inWindow: false, reason: "planned" }),
      ]);

      const okPings = eventsOf(h.lines, "ping", "mimo-vl")
        .filter((l) => l.result === "ok")
        .map((l) => Date.parse(l.time));
      for (let i = 1; i < okPings.length; i++) {
        expect((okPings[i] as number) - (okPings[i - 1] as number)).toBeLessThanOrEqual(
          14 * MINUTE,
        );
      }
      const lastPing = okPings[okPings.length - 1] as number;
      expect(lastPing).toBeGreaterThanOrEqual(local("17:46"));
      expect(lastPing).toBeLessThan(local("18:00"));

      const cooled = eventsOf(h.lines, "cooled", "mimo-vl");
      expect(cooled).toHaveLength(1);
      expect(Date.parse(cooled[0]?.zeroSince as string)).toBeLessThanOrEqual(local("18:05"));
      expect(Date.parse((cooled[0] as { time: string }).time)).toBeLessThanOrEqual(local("18:10"));

      // A spend line every minute from the first minute on, none missing, none doubled.
      const spend = eventsOf(h.lines, "spend", "mimo-vl").map((l) => Date.parse(l.time));
      expect(spend[0]).toBe(local("00:01"));
      expect(spend).toHaveLength((local("00:30", 8) - local("00:01")) / MINUTE + 1);
      for (let i = 1; i < spend.length; i++) {
        expect((spend[i] as number) - (spend[i - 1] as number)).toBe(MINUTE);
      }

      // Window coverage from the simulator's ground truth: a copy up every window minute.
      const runs = h.sim.ledger().models[0]?.copies[0]?.runs ?? [];
      const window = { start: local("09:00"), end: local("18:00") };
      let covered = 0;
      for (const r of runs) {
        const start = Math.max(r.start, window.start);
        const end = Math.min(r.end ?? h.clock.now(), window.end);
        if (end > start) covered += end - start;
      }
      expect(covered / (window.end - window.start)).toBe(1);
      expect(eventsOf(h.lines, "not-warm")).toHaveLength(0);

      const summary = eventsOf(h.lines, "daily-summary");
      expect(summary).toHaveLength(1);
    });
  });
});
