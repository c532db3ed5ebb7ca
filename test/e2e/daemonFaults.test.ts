import { describe, expect, it, vi } from "vitest";
import type { RuntimeClock } from "../../src/runtime/infra/clock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import {
  ARN,
  at,
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  local,
  MIMO_VL,
  seededRandom,
} from "./daemonHarness.js";

const MINUTE = 60_000;

const YAML = businessHoursYaml({ models: [MIMO_VL], timings: "fixed" });

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("an eviction in the middle of a window", () => {
    it("is detected within a minute of ModelCopy showing 0, and healed", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      // Right after the 11:01 ping: nothing planned would wake the model before 11:15.
      const evictAt = local("11:02");
      h.sim.faults.add({ kind: "evict", modelArn: ARN, at: evictAt });
      await h.daemon.start();
      await h.clock.runUntil(local("12:00"));

      const zeroMinute = Math.ceil(evictAt / MINUTE) * MINUTE;
      const zeroVisibleAt = zeroMinute + MINUTE + h.sim.settings.publishDelayMs;
      const notWarm = eventsOf(h.lines, "not-warm", "mimo-vl");
      expect(notWarm).toHaveLength(1);
      const detectedAt = at(notWarm[0] as { time: string });
      expect(detectedAt).toBeGreaterThanOrEqual(zeroVisibleAt);
      expect(detectedAt).toBeLessThanOrEqual(zeroVisibleAt + MINUTE);

      // The recovery ping rides out the cold start and ModelCopy shows the model warm again.
      const healed = eventsOf(h.lines, "warm", "mimo-vl").filter((l) => at(l) > detectedAt);
      expect(healed).toHaveLength(1);
      const warmAgain = eventsOf(h.lines, "observed", "mimo-vl").filter(
        (l) => at(l) > detectedAt && l.state === "warm",
      );
      expect(warmAgain.length).toBeGreaterThan(0);
      const runs = h.sim.ledger().models[0]?.copies[0]?.runs ?? [];
      expect(runs).toHaveLength(2);
      expect(runs[1]?.start).toBeLessThan(detectedAt + 3 * MINUTE);
      expect(h.sim.modelState(ARN).state).not.toBe("cold");
    });
  });

  describe("a 10-minute throttling storm", () => {
    it("sends one request per backoff step and is warm again after it", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      const storm = { start: local("10:05"), end: local("10:15") };
      h.sim.faults.add({ kind: "throttling", modelArn: ARN, from: storm.start, until: storm.end });
      await h.daemon.start();
      await h.clock.runUntil(local("11:00"));

      const requests = (h.invokeTimes.get(ARN) ?? []).filter(
        (t) => t >= storm.start && t < storm.end,
      );
      // The 10:05 ping meets the storm; its retries back off: 2 s, 4 s, 8 s ... capped at 2 min,
      // each step waiting at least half its ceiling.
      expect(requests[0]).toBe(local("10:05"));
      const backoffs = eventsOf(h.lines, "ping-backoff", "mimo-vl");
      expect(backoffs.length).toBe(requests.length);
      for (let i = 1; i < requests.length; i++) {
        const gap = (requests[i] as number) - (requests[i - 1] as number);
        const ceiling = Math.min(120_000, 2_000 * 2 ** (i - 1));
        expect(gap).toBeGreaterThanOrEqual(ceiling / 2);
        expect(gap).toBeLessThanOrEqual(ceiling);
      }
      // Half-ceilings 1, 2, 4 ... 64 s then 60 s: at most 16 requests fit in 10 minutes.
      expect(requests.length).toBeGreaterThanOrEqual(8);
      expect(requests.length).toBeLessThanOrEqual(16);

      // After the storm the model had been evicted (last success 09:51): a cold start, then warm.
      const warm = eventsOf(h.lines, "warm", "mimo-vl").filter((l) => at(l) >= storm.end);
      expect(warm).toHaveLength(1);
      expect(at(warm[0] as { time: string })).toBeLessThan(storm.end + 5 * MINUTE);
      expect(h.sim.modelState(ARN).state).not.toBe("cold");
      const okAfter = eventsOf(h.lines, "ping", "mimo-vl").filter(
        (l) => l.result === "ok" && at(l) >= storm.end,
      );
      expect(okAfter.length).toBeGreaterThanOrEqual(3);
    });
  });

  describe("a 30-minute throttling storm that outlasts the idle eviction", () => {
    it("rides out the restore that begins after it instead of timing the warm-up from the storm", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      // The 10:05 ping meets the storm; the last success (09:51) is evicted at 10:06.
      const storm = { start: local("10:05"), end: local("10:35") };
      h.sim.faults.add({ kind: "throttling", modelArn: ARN, from: storm.start, until: storm.end });
      await h.daemon.start();
      await h.clock.runUntil(local("11:00"));

      expect(eventsOf(h.lines, "warmup-timeout", "mimo-vl")).toHaveLength(0);
      const cold = eventsOf(h.lines, "cold-start", "mimo-vl").filter((l) => at(l) >= storm.end);
      expect(cold).toHaveLength(1);
      const warm = eventsOf(h.lines, "warm", "mimo-vl").filter((l) => at(l) >= storm.end);
      expect(warm).toHaveLength(1);
      // Warm once the simulator's 90 s restore is done, within one 5 s retry.
      const restore = Number(warm[0]?.restoreSeconds);
      expect(restore).toBeGreaterThanOrEqual(90);
      expect(restore).toBeLessThanOrEqual(90 + 6);
      expect(h.sim.modelState(ARN).state).not.toBe("cold");
    });
  });

  describe("a ModelCopy poll that outlasts its minute", () => {
    it("makes the next ticks skip their poll, logged once, and still logs spend every minute", async () => {
      const config = configOf(YAML);
      const h = await startHarness({ config, start: local("08:00") });
      // A real clock does not wait for the minute job: ticks go untracked here, so the next
      // minute can come while a poll still runs, as under a 3 x 20 s CloudWatch timeout.
      let inMinuteJob = false;
      const clock: RuntimeClock = {
        now: () => h.clock.now(),
        setTimer: (at, fn) => h.clock.setTimer(at, fn),
        monotonic: () => h.clock.monotonic(),
        after: (ms, fn) => h.clock.after(ms, fn),
        everyMinute: (fn) =>
          h.clock.everyMinute(() => {
            inMinuteJob = true;
            try {
              fn();
            } finally {
              inMinuteJob = false;
            }
          }),
        dailyAt: (hhmm, zone, fn) => h.clock.dailyAt(hhmm, zone, fn),
        track: (work) => (inMinuteJob ? work : h.clock.track(work)),
      };
      await h.daemon.stop();
      h.daemon = new Daemon(config, {
        clock,
        logger: h.logger,
        clients: h.clients,
        stateDir: h.stateDir,
        random: seededRandom(7),
        // Read every minute, as while something can change: each tick polls.
        poll: { slowMs: MINUTE, idleMs: MINUTE },
      });
      h.sim.faults.add({
        kind: "slow",
        delayMs: 300,
        operations: ["GetMetricData"],
        from: local("08:10"),
        times: 1,
      });
      await h.daemon.start();
      await h.clock.advanceTo(local("08:12"));
      const spend = () => eventsOf(h.lines, "spend", "mimo-vl");
      // The 08:10 poll answers late: its spend line comes when it is done.
      await vi.waitFor(() => expect(spend()).toHaveLength(12));
      await h.clock.advanceTo(local("08:15"));

      const skipped = eventsOf(h.lines, "poll-skipped");
      expect(skipped.map(at)).toEqual([local("08:11")]);
      expect(skipped[0]).toMatchObject({ level: "warn", region: "us-west-2" });
      const minutes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 12, 13, 14, 15].map(
        (m) => local("08:00") + m * MINUTE,
      );
      expect(spend().map(at)).toEqual(minutes);
    });
  });

  describe("a ping that never gets an answer", () => {
    it("is given up after the ping timeout and retried, so the model's pings go on", async () => {
      const h = await startHarness({
        config: configOf(YAML),
        start: local("08:00"),
        timing: { pingTimeoutMs: 1_000 },
      });
      // The 10:05 request hangs (a stalled connection): the answer would come in an hour.
      h.sim.faults.add({
        kind: "slow",
        delayMs: 3_600_000,
        modelArn: ARN,
        from: local("10:05"),
        times: 1,
      });
      await h.daemon.start();
      await h.clock.runUntil(local("11:00"));

      const backoff = eventsOf(h.lines, "ping-backoff", "mimo-vl");
      expect(backoff).toHaveLength(1);
      expect(at(backoff[0] as { time: string })).toBeLessThan(local("10:06"));
      const okAfter = eventsOf(h.lines, "ping", "mimo-vl").filter(
        (l) => l.result === "ok" && at(l) >= local("10:05"),
      );
      expect(okAfter.length).toBeGreaterThanOrEqual(4);
      expect(at(okAfter[0] as { time: string })).toBeLessThan(local("10:06"));
    });
  });

  describe("a restart in the middle of the month", () => {
    it.each([
      ["inside a window, model warm", "14:00"],
      ["after closing time, model cold", "20:00"],
    ])("keeps month to date to the cent (%s)", async (_label, hhmm) => {
      const h = await startHarness({ config: configOf(YAML), start: local("00:00", 7) });
      await h.daemon.start();
      await h.clock.runUntil(local(hhmm, 9));
      const before = h.daemon.status().models[0];
      expect(before?.monthToDateUsd).toBeGreaterThan(0);

      await h.restart();
      const after = h.daemon.status().models[0];
      expect(after?.monthToDateUsd?.toFixed(2)).toBe(before?.monthToDateUsd?.toFixed(2));
      expect(after?.billedCopyMinutes).toBe(before?.billedCopyMinutes);
      expect(eventsOf(h.lines, "month-to-date").at(-1)?.monthToDateUsd).toBe(
        Math.round((before?.monthToDateUsd ?? 0) * 100) / 100,
      );

      // Two days later, month to date still equals what the simulator bills: nothing lost
      // across the restart and nothing counted twice.
      await h.clock.runUntil(local("20:00", 11));
      const ledgerUsd = h.sim.ledger({
        start: Date.UTC(2026, 11, 1),
        end: Date.UTC(2027, 0, 1),
      }).usd;
      expect(h.daemon.status().models[0]?.monthToDateUsd?.toFixed(2)).toBe(ledgerUsd.toFixed(2));
    });

    it("keeps month to date when the history could only be read a quarter of an hour late", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("00:00", 7) });
      await h.daemon.start();
      await h.clock.runUntil(local("14:00", 9));
      const before = h.daemon.status().models[0];
      expect(before?.monthToDateUsd).toBeGreaterThan(0);

      // The month's history fails to read for 15 minutes after the restart (throttled),
      // while the minute polls of the last ten minutes go through.
      const readsUntil = local("14:15", 9);
      h.clients.get("us-west-2").cloudwatch.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { StartTime?: Date };
          if (h.clock.now() < readsUntil && input.StartTime?.getTime() === Date.UTC(2026, 11, 1)) {
            throw Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
          }
          return next(args);
        },
        { step: "initialize", name: "failBackfill" },
      );
      await h.restart();
      // After closing time, month to date is what the simulator bills: nothing lost.
      await h.clock.runUntil(local("20:00", 9));
      const ledgerUsd = h.sim.ledger({ start: Date.UTC(2026, 11, 1), end: local("20:00", 9) }).usd;
      expect(h.daemon.status().models[0]?.monthToDateUsd?.toFixed(2)).toBe(ledgerUsd.toFixed(2));
    });
  });
  describe("a model deleted from the account", () => {
    it("says to check that the model still exists, and projects nothing more for it", async () => {
      const h = await startHarness({ config: configOf(YAML), start: local("08:00") });
      await h.daemon.start();
      await h.clock.runUntil(local("11:00"));
      const before = h.daemon.status().models[0];
      expect(before?.projectedMonthUsd).toBeGreaterThan((before?.monthToDateUsd ?? 0) + 100);
      h.sim.deleteModel(ARN);
      await h.clock.runUntil(local("11:30"));
      const rejected = eventsOf(h.lines, "ping-rejected", "mimo-vl");
      expect(rejected.length).toBeGreaterThan(0);
      expect(rejected[0]?.remedy).toMatch(/still exists.*get-imported-model/);
      expect(rejected[0]?.remedy).not.toMatch(/grant|request/);
      const after = h.daemon.status().models[0];
      expect(after?.projectedMonthUsd).toBeCloseTo(after?.monthToDateUsd ?? -1, 6);
    });
  });
});
