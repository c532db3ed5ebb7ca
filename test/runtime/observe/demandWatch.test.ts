import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../../src/aws/clients.js";
import { parseConfigText } from "../../../src/config/load.js";
import { configuredUnits } from "../../../src/domain/price.js";
import { NO_OBSERVATIONS, resolveTimings } from "../../../src/domain/timings.js";
import { DemandWatch } from "../../../src/runtime/observe/demandWatch.js";
import { readDemandWeeks } from "../../../src/runtime/state/demandLog.js";
import { PingCounts } from "../../../src/runtime/state/pingCounts.js";
import { ManualClock } from "../../../src/sim/clock.js";
import { InProcessSimHandler, Simulator } from "../../../src/sim/index.js";
import { collectingLogger } from "../../e2e/daemonHarness.js";

const ARN = (i: number) =>
  `arn:aws:bedrock:us-west-2:123456789012:imported-model/demand${String(i).padStart(6, "0")}`;
const MODELS = [0, 1, 2];
/** Monday 14 December 2026, 00:30 in Asia/Shanghai: two weeks of users behind it. */
const MONDAY = Date.parse("2026-12-13T16:30:00Z");
const START = MONDAY - 14 * 86_400_000;

describe("DemandWatch", () => {
  let clients: RegionClientPool | undefined;
  afterEach(() => clients?.destroy());

  function setUp() {
    const yaml = `timezone: Asia/Shanghai
models:
${MODELS.map((i) => `  - name: m${i}\n    modelArn: ${ARN(i)}\n    policy: business-hours\n    customModelUnits: 4`).join("\n")}
`;
    const parsed = parseConfigText(yaml, "keepwarm.yaml", { stateDir: "/nonexistent" });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const config = parsed.config;
    const clock = new ManualClock(START);
    const sim = new Simulator({
      clock,
      models: MODELS.map((i) => ({
        modelArn: ARN(i),
        customModelUnits: 4,
        traffic: {
          timezone: "Asia/Shanghai",
          rates: [
            {
              days: new Set([1, 2, 3, 4, 5] as const),
              fromMinute: 10 * 60,
              toMinute: 12 * 60,
              perHour: 10 + i,
            },
          ],
          strayPerWeek: 0,
          dayToDay: 0,
        },
      })),
    });
    clock.set(MONDAY);
    clients = new RegionClientPool({
      endpoint: "http://127.0.0.1:1",
      credentials: { accessKeyId: "AKIDDEMAND", secretAccessKey: "simulated" },
      retryBackoffMs: 0,
      requestHandler: new InProcessSimHandler(sim),
    });
    const stateDir = mkdtempSync(join(tmpdir(), "kw-demand-"));
    const { logger, lines } = collectingLogger(() => clock.now());
    let afterFirstCall: (() => void) | undefined;
    const calls = { made: 0 };
    const watch = new DemandWatch({
      clients,
      stateDir,
      log: logger,
      lease: { holds: () => true },
      pingCounts: new PingCounts({ stateDir, owner: () => "test", log: logger }),
      config: () => config,
      subjects: () =>
        config.models.map((model) => ({
          model,
          timings: resolveTimings(model.timing, NO_OBSERVATIONS, MONDAY),
          log: logger.child({ model: model.name }),
        })),
      unitsOf: configuredUnits,
      requested: () => {
        calls.made++;
        afterFirstCall?.();
        afterFirstCall = undefined;
      },
      readModels: 1,
    });
    return {
      sim,
      watch,
      lines,
      stateDir,
      calls,
      failAfterFirstCall: () => {
        afterFirstCall = () =>
          sim.faults.add({ kind: "cloudwatchThrottling", operations: ["GetMetricData"] });
      },
    };
  }

  describe("read", () => {
    it("reads the fleet a part at a time: a line and a heatmap for every model, one week written", async () => {
      const t = setUp();
      await t.watch.read(MONDAY, true);
      const demand = t.lines.filter((l) => l.event === "demand");
      expect(demand.map((l) => l.model)).toEqual(["m0", "m1", "m2"]);
      expect(t.calls.made).toBe(3);
      for (const line of demand) expect(line.calls).toBeGreaterThan(0);
      expect(t.watch.views(["m0", "m1", "m2"]).map((v) => v.model)).toEqual(["m0", "m1", "m2"]);
      expect((await readDemandWeeks(t.stateDir)).weeks).toHaveLength(1);
    });

    it("logs nothing, writes nothing and keeps the last heatmaps when CloudWatch fails after the first part", async () => {
      const t = setUp();
      await t.watch.read(MONDAY - 86_400_000, false);
      const before = t.watch.views(["m0", "m1", "m2"]);
      expect(before).toHaveLength(3);
      t.failAfterFirstCall();
      await t.watch.read(MONDAY, true);
      expect(t.lines.filter((l) => l.event === "demand")).toEqual([]);
      const failed = t.lines.filter((l) => l.event === "demand-read-failed");
      expect(failed).toHaveLength(1);
      expect(failed[0]?.retry).toBe("next Monday");
      expect(t.watch.views(["m0", "m1", "m2"])).toEqual(before);
      expect((await readDemandWeeks(t.stateDir)).weeks).toEqual([]);
    });
  });
});
