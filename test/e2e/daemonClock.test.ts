import { describe, expect, it } from "vitest";
import {
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
const CADENCE = 14 * MINUTE;
const YAML = businessHoursYaml({ models: [MIMO_VL], timings: "fixed" });

/** Successful InvokeModel calls, at the world's time (the simulator's, which no step moves). */
function recordOk(h: Harness): number[] {
  const ok: number[] = [];
  h.clients.get("us-west-2").runtime.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      ok.push(h.clock.reference.now());
      return result;
    },
    { step: "initialize", name: "recordOk" },
  );
  return ok;
}

function gaps(times: readonly number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("a wall clock stepped back 10 minutes inside a window", () => {
    it("keeps pings no further apart than the cadence, with one keep-alive ping and one jump line", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      const ok = recordOk(h);
      await h.daemon.start();
      // 11:00:30: the 10:47 ping was the last; the next planned one is 11:01 on the wall,
      // which the step puts 10.5 minutes off.
      await h.clock.runUntil(local("11:00") + 30_000);
      const stepAt = h.clock.reference.now();
      h.clock.stepWall(-10 * MINUTE);
      await h.clock.runUntil(local("12:30"));

      const inWindow = ok.filter((t) => t >= local("09:00") && t < local("12:30"));
      expect(Math.max(...gaps(inWindow))).toBeLessThanOrEqual(CADENCE);
      const keepAlive = eventsOf(h.lines, "ping", "mimo-vl").filter((l) =>
        String(l.reason).startsWith("keep-alive"),
      );
      expect(keepAlive).toHaveLength(1);
      // Fourteen minutes of monotonic time after the 10:47 ping, wherever the wall clock is.
      expect(ok.filter((t) => t > stepAt)[0]).toBe(local("10:47") + CADENCE);
      // No burst: after the keep-alive, the planned pings go on at their wall-clock instants.
      expect(Math.min(...gaps(ok.filter((t) => t > stepAt)))).toBeGreaterThanOrEqual(5 * MINUTE);
      expect(h.sim.ledger().models[0]?.copies[0]?.runs).toHaveLength(1);

      const jumps = eventsOf(h.lines, "clock-jump");
      expect(jumps).toHaveLength(1);
      expect(jumps[0]).toMatchObject({ direction: "back", jumpSeconds: 600, level: "warn" });
    });
  });

  describe("a wall clock stepped forward 3 hours inside a window", () => {
    it("sends one catch-up ping, not one per missed instant, and says so in one line", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      const ok = recordOk(h);
      await h.daemon.start();
      await h.clock.runUntil(local("10:00") + 30_000);
      const stepAt = h.clock.reference.now();
      h.clock.stepWall(3 * 60 * MINUTE);
      await h.clock.advanceBy(30 * MINUTE);

      const after = ok.filter((t) => t >= stepAt);
      // The wall clock reads 13:00:30: the 12:53 ping is due, and it alone goes out.
      expect(after[0]).toBe(stepAt);
      expect(after.filter((t) => t < stepAt + 5 * MINUTE)).toHaveLength(1);
      expect(Math.max(...gaps(ok.filter((t) => t >= local("09:00"))))).toBeLessThanOrEqual(CADENCE);
      const jumps = eventsOf(h.lines, "clock-jump");
      expect(jumps).toHaveLength(1);
      expect(jumps[0]).toMatchObject({ direction: "forward", jumpSeconds: 10_800 });
      expect(at(jumps[0] as { time: string })).toBeLessThan(stepAt + 3 * 60 * MINUTE + MINUTE);
    });
  });
});
