import { afterAll, describe, expect, it } from "vitest";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import type { FaultSpec } from "../../src/sim/faults.js";
import {
  ARN,
  configOf,
  eventsOf,
  type Harness,
  local,
  startHarness,
  ZONE,
} from "./daemonHarness.js";

const MINUTE = 60_000;
/** A late window, so that a short run crosses the window's end and midnight. */
const YAML = `
timezone: ${ZONE}
policies:
  evenings:
    windows:
      - days: mon-fri
        from: "21:00"
        to: "23:45"
models:
  - name: mimo-vl
    modelArn: ${ARN}
    policy: evenings
    customModelUnits: 4
`;
/** Every run starts in Monday's window and ends after Monday's summary has been written. */
const START = local("22:30", 7);
const END = local("02:40", 8);

/** What the operator sees of Monday: month to date, the projection, the state and the summary. */
interface Seen {
  readonly monthToDateUsd: string | undefined;
  readonly projectedMonthUsd: string | undefined;
  readonly billedCopyMinutes: number | undefined;
  readonly state: string | undefined;
  readonly summary: Record<string, unknown>;
  readonly ledgerUsd: string;
}

function seen(h: Harness): Seen {
  const status = h.daemon.status().models[0];
  const line = eventsOf(h.lines, "daily-summary").find((l) => l.date === "2026-12-07");
  const model = (line?.models as Record<string, unknown>[] | undefined)?.[0] ?? {};
  const { observedWarmMinutes, plannedWarmMinutes, dayUsd, monthToDateUsd, projectedMonthUsd } =
    model;
  return {
    monthToDateUsd: status?.monthToDateUsd?.toFixed(2),
    projectedMonthUsd: status?.projectedMonthUsd?.toFixed(2),
    billedCopyMinutes: status?.billedCopyMinutes,
    state: status?.state,
    summary: { observedWarmMinutes, plannedWarmMinutes, dayUsd, monthToDateUsd, projectedMonthUsd },
    ledgerUsd: h.sim.ledger({ start: Date.UTC(2026, 11, 1), end: END }).usd.toFixed(2),
  };
}

/** A run from START to END with `disturb` applied to it; the harness is closed afterwards. */
async function run(disturb: (h: Harness) => Promise<void> | void): Promise<Seen> {
  const h = await startHarness({ config: configOf(YAML), start: START });
  try {
    await h.daemon.start();
    await disturb(h);
    await h.clock.runUntil(END);
    return seen(h);
  } finally {
    await h.close();
  }
}

const outage =
  (from: number, until: number, kind: FaultSpec["kind"] = "cloudwatchThrottling") =>
  (h: Harness) => {
    h.sim.faults.add({ kind, operations: ["GetMetricData"], from, until } as FaultSpec);
  };

describe("Daemon", () => {
  let baseline: Promise<Seen> | undefined;
  const undisturbed = () => {
    baseline ??= run(() => {});
    return baseline;
  };
  afterAll(async () => {
    await baseline;
  });

  describe("ModelCopy that cannot be read for a while", () => {
    it.each([
      // Throttled calls are retried by the SDK (with no real backoff on the virtual clock): a
      // quarter of an hour of them is already more than the lookback of a poll.
      [
        "15 minutes of GetMetricData throttling inside the window",
        outage(local("22:45"), local("23:00")),
      ],
      [
        "a 30-minute outage inside the window (expired credentials)",
        outage(local("22:45"), local("23:15"), "expiredToken"),
      ],
      [
        "a 3-hour outage over closing time and midnight (expired credentials)",
        outage(local("23:00"), local("02:00", 8), "expiredToken"),
      ],
    ])(
      "loses no minute: %s",
      async (_label, disturb) => {
        const [expected, actual] = [await undisturbed(), await run(disturb)];
        expect(expected.monthToDateUsd).toBe(expected.ledgerUsd);
        expect(Number(expected.summary.observedWarmMinutes)).toBeGreaterThan(60);
        expect(actual.ledgerUsd).toBe(expected.ledgerUsd);
        expect(actual).toEqual(expected);
      },
      30_000,
    );

    it("counts the day of a 3-hour suspend over midnight as the simulator bills it", async () => {
      const actual = await run(async (h) => {
        await h.clock.runUntil(local("23:20"));
        h.clock.jumpTo(local("02:20", 8));
      });
      expect(actual.monthToDateUsd).toBe(actual.ledgerUsd);
      // The day is all of the month so far: its summary bills what the month does.
      expect(actual.summary.dayUsd).toBe(Number(actual.ledgerUsd));
      expect(actual.summary.monthToDateUsd).toBe(Number(actual.ledgerUsd));
      // 22:30 to the eviction 15 minutes after the 23:15 ping, give or take the windows.
      expect(actual.summary.observedWarmMinutes).toBeGreaterThanOrEqual(55);
    });
  });

  describe("a restart after an outage", () => {
    it("shows the same month to date as the daemon that rode the outage out", async () => {
      const h = await startHarness({ config: configOf(YAML), start: START });
      try {
        outage(local("22:45"), local("23:15"), "expiredToken")(h);
        await h.daemon.start();
        await h.clock.runUntil(local("23:20"));
        const rode = h.daemon.status().models[0];
        await h.restart();
        const restarted = h.daemon.status().models[0];
        expect(rode?.billedCopyMinutes).toBeGreaterThan(0);
        expect(restarted?.monthToDateUsd?.toFixed(2)).toBe(rode?.monthToDateUsd?.toFixed(2));
        expect(restarted?.billedCopyMinutes).toBe(rode?.billedCopyMinutes);
        // Both see the minutes of the outage: 22:30 to 23:17 (the last minute published).
        expect(rode?.billedCopyMinutes).toBeGreaterThanOrEqual(45);
      } finally {
        await h.close();
      }
    }, 120_000);
  });

  it("reads a gap in one poll, at 1-minute resolution", async () => {
    const h = await startHarness({ config: configOf(YAML), start: START });
    try {
      outage(local("22:45"), local("23:15"), "expiredToken")(h);
      const reads: [number, number][] = [];
      h.clients.get("us-west-2").cloudwatch.middlewareStack.add(
        (next) => async (args) => {
          const input = args.input as { StartTime?: Date; EndTime?: Date };
          const result = await next(args);
          reads.push([input.StartTime?.getTime() ?? 0, input.EndTime?.getTime() ?? 0]);
          return result;
        },
        { step: "initialize", name: "recordReads" },
      );
      await h.daemon.start();
      await h.clock.runUntil(local("23:20"));
      // The first poll after the outage starts ten minutes before the last one that worked
      // (a read every 5 minutes while the model stays warm inside its window).
      const lastBefore = reads.filter(([, end]) => end < local("22:45")).at(-1)?.[1];
      expect(lastBefore).toBe(local("22:40"));
      const first = reads.find(([, end]) => end >= local("23:15"));
      expect(first?.[0]).toBe((lastBefore as number) - 10 * MINUTE);
    } finally {
      await h.close();
    }
  });
  describe("while GetMetricData is denied", () => {
    it("says the state is unknown and why, in spend lines, /api/status and the gauges, and loses no minute", async () => {
      const gauges = new PromMetrics();
      const h = await startHarness({ config: configOf(YAML), start: START, observer: gauges });
      const warmGauge = async () =>
        (await gauges.registry.getSingleMetric("keepwarm_warm_state")?.get())?.values.find(
          (v) => v.labels.state === "warm",
        )?.value;
      try {
        outage(local("22:45"), local("23:15"), "accessDenied")(h);
        await h.daemon.start();
        await h.clock.runUntil(local("22:44"));
        expect(h.daemon.status().models[0]?.state).toBe("warm");
        // Within the publishing delay and the margin, the last read still stands.
        await h.clock.runUntil(local("22:48"));
        expect(h.daemon.status().models[0]?.stale).toBeUndefined();
        await h.clock.runUntil(local("23:00"));
        const status = h.daemon.status().models[0];
        expect(status?.state).toBe("unknown");
        expect(status?.stale?.reason).toMatch(/cloudwatch:GetMetricData failed: AccessDenied/);
        expect(await warmGauge()).toBe(0);
        const at = (l: { time: string }) => Date.parse(l.time);
        const during = eventsOf(h.lines, "spend").filter(
          (l) => at(l) >= local("22:51") && at(l) <= local("23:14"),
        );
        expect(during.length).toBeGreaterThan(5);
        for (const l of during) {
          expect(l).toMatchObject({ state: "unknown", copies: null, stale: true });
          expect(l.staleReason).toMatch(/AccessDenied/);
        }
        await h.clock.runUntil(local("23:20"));
        expect(h.daemon.status().models[0]?.state).toBe("warm");
        expect(h.daemon.status().models[0]?.stale).toBeUndefined();
        expect(await warmGauge()).toBe(1);
        await h.clock.runUntil(END);
        const after = h.daemon.status().models[0];
        const ledger = h.sim.ledger({ start: Date.UTC(2026, 11, 1), end: END }).usd.toFixed(2);
        expect(after?.monthToDateUsd?.toFixed(2)).toBe(ledger);
      } finally {
        await h.close();
      }
    }, 60_000);
  });
});
