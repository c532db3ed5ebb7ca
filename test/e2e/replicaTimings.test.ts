import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../src/aws/clients.js";
import { seededRandom } from "../../src/domain/random.js";
import type { ModelTimings } from "../../src/domain/timings.js";
import { VirtualClock } from "../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import { Simulator } from "../../src/sim/index.js";
import {
  ARN,
  businessHoursYaml,
  collectingLogger,
  configOf,
  local,
  MIMO_VL,
} from "./daemonHarness.js";

const SIM = { restoreMs: 30_000, restoreJitterMs: 3_000, evictionDelayMs: 15 * 60_000 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * `replicas` daemons of one config against one simulator on one clock, each with its own
 * clients and seed, sharing `stateDir` as replicas on one volume do; run for three business
 * days. Returns each replica's timings at the end.
 */
async function run(replicas: number, stateDir: string): Promise<ModelTimings[]> {
  const clock = new VirtualClock(local("06:00", 7));
  const sim = new Simulator({
    clock: clock.reference,
    settings: SIM,
    models: [{ modelArn: ARN, customModelUnits: 4 }],
  });
  const server = await sim.listen();
  closers.push(() => server.close());
  const daemons: Daemon[] = [];
  for (let i = 0; i < replicas; i++) {
    const clients = new RegionClientPool({
      endpoint: server.url,
      credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
      retryBackoffMs: 0,
    });
    const { logger } = collectingLogger(() => clock.now());
    const daemon = new Daemon(configOf(businessHoursYaml({ models: [MIMO_VL] }), stateDir), {
      clock,
      logger,
      clients,
      stateDir,
      random: seededRandom(7 + i),
    });
    closers.push(async () => {
      await daemon.stop({ graceMs: 1_000 });
      clients.destroy();
    });
    daemons.push(daemon);
  }
  for (const d of daemons) await d.start();
  await clock.runUntil(local("20:00", 9));
  return daemons.map((d) => d.status().models[0]?.timings as ModelTimings);
}

describe("two replicas against one Bedrock", { timeout: 120_000 }, () => {
  it("both keep the restore and lead time one replica learns alone (a shared state directory)", async () => {
    const [alone] = await run(1, mkdtempSync(join(tmpdir(), "kw-alone-")));
    const pair = await run(2, mkdtempSync(join(tmpdir(), "kw-pair-")));
    expect(alone?.restore.source).toBe("learned");
    for (const t of pair) {
      expect(t.restore.source).toBe("learned");
      // Within the simulator's jitter of the restore one replica measures alone.
      expect(Math.abs(t.restore.ms - (alone?.restore.ms ?? 0))).toBeLessThanOrEqual(
        2 * SIM.restoreJitterMs,
      );
      expect(t.leadTime.ms).toBeGreaterThanOrEqual(
        (alone?.leadTime.ms ?? 0) - 2 * SIM.restoreJitterMs,
      );
    }
  });
});
