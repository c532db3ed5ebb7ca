import { CloudWatchClient, GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { localDayOf } from "../../src/domain/zone.js";
import { ManualClock } from "../../src/sim/clock.js";
import { parseSimConfigText } from "../../src/sim/config.js";
import { Simulator } from "../../src/sim/simulator.js";
import { userCallsOfDay } from "../../src/sim/traffic.js";
import type { TrafficProfile } from "../../src/sim/trafficProfile.js";
import { ARN, CREDENTIALS, MIN } from "./harness.js";

const ZONE = "America/New_York";
const EVENINGS: TrafficProfile = {
  timezone: ZONE,
  rates: [{ days: new Set([1, 2, 3, 4, 5]), fromMinute: 19 * 60, toMinute: 22 * 60, perHour: 30 }],
  strayPerWeek: 0,
  dayToDay: 0,
};
const ny = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toMillis();

describe("userCallsOfDay", () => {
  it("draws a day's calls inside its windows in the users' zone, the same ones every time", () => {
    const day = localDayOf(ZONE, ny("2027-03-15T12:00"));
    const calls = userCallsOfDay(EVENINGS, ARN, 1, day);
    expect(calls).toEqual(userCallsOfDay(EVENINGS, ARN, 1, day));
    expect(calls.length).toBeGreaterThan(60);
    expect(calls.length).toBeLessThan(120);
    for (const t of calls) {
      expect(t).toBeGreaterThanOrEqual(ny("2027-03-15T19:00"));
      expect(t).toBeLessThan(ny("2027-03-15T22:00"));
    }
    expect([...calls].sort((a, b) => a - b)).toEqual(calls);
    expect(userCallsOfDay(EVENINGS, ARN, 2, day)).not.toEqual(calls);
  });

  it("reads the window in local time across the spring-forward change (19:00 EDT, not EST)", () => {
    const sunday = localDayOf(ZONE, ny("2027-03-14T12:00"));
    const monday = sunday + 1;
    const calls = userCallsOfDay(EVENINGS, ARN, 1, monday);
    expect(Math.min(...calls)).toBeGreaterThanOrEqual(Date.parse("2027-03-15T23:00:00Z"));
    expect(userCallsOfDay(EVENINGS, ARN, 1, sunday)).toEqual([]);
  });

  it("averages perHour over many days, and spreads stray calls over whole days", () => {
    const first = localDayOf(ZONE, ny("2027-01-04T12:00"));
    let evening = 0;
    let stray = 0;
    const strays: TrafficProfile = { ...EVENINGS, rates: [], strayPerWeek: 70 };
    for (let d = first; d < first + 70; d++) {
      evening += userCallsOfDay(EVENINGS, ARN, 1, d).length;
      stray += userCallsOfDay(strays, ARN, 1, d).length;
    }
    // 50 weekdays x 3 h x 30/h = 4,500; 10 weeks x 70 = 700 (Poisson: a few percent either way).
    expect(evening).toBeGreaterThan(4_300);
    expect(evening).toBeLessThan(4_700);
    expect(stray).toBeGreaterThan(600);
    expect(stray).toBeLessThan(800);
  });
});

describe("Simulator", () => {
  describe("with users", () => {
    it("answers a user on a cold model ModelNotReady, warms it, and counts calls in the metrics", () => {
      const clock = new ManualClock(ny("2027-03-15T18:00"));
      const sim = new Simulator({
        clock,
        settings: { restoreJitterMs: 0, restoreMs: 90_000 },
        models: [{ modelArn: ARN, customModelUnits: 4, traffic: EVENINGS }],
      });
      clock.set(ny("2027-03-16T00:00"));
      const times = sim.userCallTimes(ARN);
      const counts = sim.userCalls(ARN);
      expect(counts.calls).toBe(times.length);
      expect(counts.calls).toBe(counts.ok + counts.notReady + counts.throttled);
      // The first call of the evening meets a cold model, and so does every call of the
      // 90 s restore it started.
      const first = times[0] as number;
      const inRestore = times.filter((t) => t < first + 90_000).length;
      expect(counts.notReady).toBeGreaterThanOrEqual(inRestore);
      expect(counts.ok).toBe(sim.invokeCount(ARN));
      const state = sim.warmSpans(ARN)[0];
      expect(state?.start).toBe(first + 90_000);

      const sum = (metricName: string) => {
        const out = sim.cloudwatch("GetMetricData", {
          StartTime: ny("2027-03-15T18:00") / 1000,
          EndTime: ny("2027-03-16T00:00") / 1000,
          MetricDataQueries: [
            {
              Id: "m",
              MetricStat: {
                Metric: {
                  Namespace: "AWS/Bedrock",
                  MetricName: metricName,
                  Dimensions: [{ Name: "ModelId", Value: ARN }],
                },
                Period: 21_600,
                Stat: "Sum",
              },
            },
          ],
        });
        if (out.kind !== "ok") throw new Error("GetMetricData failed");
        return out.value.MetricDataResults[0]?.Values.reduce((a, b) => a + b, 0) ?? 0;
      };
      expect(sum("Invocations")).toBe(counts.ok);
      expect(sum("InvocationThrottles")).toBe(counts.notReady + counts.throttled);
      expect(sum("InvocationClientErrors")).toBe(0);
    });

    it("counts cold calls in InvocationClientErrors when coldCallMetric says so", () => {
      const clock = new ManualClock(ny("2027-03-15T18:00"));
      const sim = new Simulator({
        clock,
        settings: { coldCallMetric: "InvocationClientErrors" },
        models: [{ modelArn: ARN, customModelUnits: 4, traffic: EVENINGS }],
      });
      clock.set(ny("2027-03-16T00:00"));
      const keys = sim.cloudwatch("ListMetrics", { Namespace: "AWS/Bedrock" });
      if (keys.kind !== "ok") throw new Error("ListMetrics failed");
      expect(keys.value.Metrics.map((m) => m.MetricName).sort()).toEqual([
        "InvocationClientErrors",
        "Invocations",
        "ModelCopy",
      ]);
    });

    it("plays users before a ping at a later instant, so the ping finds the model they warmed", () => {
      const clock = new ManualClock(ny("2027-03-15T18:00"));
      const sim = new Simulator({
        clock,
        settings: { restoreJitterMs: 0 },
        models: [{ modelArn: ARN, customModelUnits: 4, traffic: EVENINGS }],
      });
      clock.set(ny("2027-03-15T21:00"));
      const answer = sim.invokeModel(ARN, JSON.stringify({ prompt: "ping", max_gen_len: 1 }));
      expect(answer.kind).toBe("ok");
      expect(sim.userCalls(ARN).calls).toBeGreaterThan(30);
    });

    it("gives a sim config's traffic block to its model", () => {
      const parsed = parseSimConfigText(
        `models:
  - modelArn: ${ARN}
    customModelUnits: 4
    traffic:
      timezone: ${ZONE}
      rates:
        - { days: mon-fri, from: "19:00", to: "22:00", perHour: 30 }
      strayPerWeek: 5
      dayToDay: 0.2
settings:
  coldCallMetric: InvocationClientErrors
`,
        "sim.yaml",
      );
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
      expect(parsed.config.settings.coldCallMetric).toBe("InvocationClientErrors");
      const traffic = parsed.config.models[0]?.traffic;
      expect(traffic?.rates[0]).toEqual({
        days: new Set([1, 2, 3, 4, 5]),
        fromMinute: 1140,
        toMinute: 1320,
        perHour: 30,
      });
      expect(traffic?.strayPerWeek).toBe(5);
    });

    it("refuses a traffic block with a bad rate, naming the field", () => {
      const parsed = parseSimConfigText(
        `models:
  - modelArn: ${ARN}
    customModelUnits: 4
    traffic:
      timezone: ${ZONE}
      rates:
        - { days: Mon, from: "19:00", to: "22:00", perHour: -1 }
`,
        "sim.yaml",
      );
      expect(parsed.ok).toBe(false);
      if (parsed.ok) return;
      const paths = parsed.problems.map((p) => `${p.line}:${p.message}`);
      expect(paths.join("\n")).toMatch(/7:.*"Mon"/);
      expect(paths.join("\n")).toMatch(/7:.*-1; allowed: a number from 0 to 100000/);
    });
  });

  describe("over the wire", () => {
    it("serves users' calls in Invocations to the SDK's CloudWatch client", async () => {
      const clock = new ManualClock(ny("2027-03-15T18:00"));
      const sim = new Simulator({
        clock,
        models: [{ modelArn: ARN, customModelUnits: 4, traffic: EVENINGS }],
      });
      const server = await sim.listen();
      const cloudwatch = new CloudWatchClient({
        region: "us-east-1",
        endpoint: server.url,
        credentials: CREDENTIALS,
      });
      try {
        clock.set(ny("2027-03-16T00:00"));
        const out = await cloudwatch.send(
          new GetMetricDataCommand({
            StartTime: new Date(ny("2027-03-15T18:00")),
            EndTime: new Date(ny("2027-03-16T00:00")),
            MetricDataQueries: [
              {
                Id: "calls",
                MetricStat: {
                  Metric: {
                    Namespace: "AWS/Bedrock",
                    MetricName: "Invocations",
                    Dimensions: [{ Name: "ModelId", Value: ARN }],
                  },
                  Period: (5 * MIN) / 1000,
                  Stat: "Sum",
                },
              },
            ],
          }),
        );
        const values = out.MetricDataResults?.[0]?.Values ?? [];
        expect(values.reduce((a, b) => a + b, 0)).toBe(sim.userCalls(ARN).ok);
      } finally {
        cloudwatch.destroy();
        await server.close();
      }
    });
  });
});
