import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../../src/aws/clients.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../../src/runtime/keep/daemon.js";
import { readSummaries } from "../../../src/runtime/state/summaryReader.js";
import { Simulator } from "../../../src/sim/index.js";
import {
  ARN,
  businessHoursYaml,
  collectingLogger,
  configOf,
  eventsOf,
  local,
  MIMO_VL,
} from "../../e2e/daemonHarness.js";
import { fullDisk } from "./fullDisk.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** The daemon against the simulator, its state directory on a disk with `free` bytes. */
async function daemonOnDisk(free: number) {
  const stateDir = mkdtempSync(join(tmpdir(), "kw-summary-"));
  const config = configOf(businessHoursYaml({ models: [MIMO_VL] }), stateDir);
  const clock = new VirtualClock(local("23:50", 7));
  const sim = new Simulator({
    clock,
    settings: { restoreJitterMs: 0 },
    models: [{ modelArn: ARN, customModelUnits: 4 }],
  });
  const server = await sim.listen();
  const clients = new RegionClientPool({
    endpoint: server.url,
    credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
  });
  const { logger, lines } = collectingLogger(() => clock.now());
  const { fs, disk } = fullDisk(free);
  const daemon = new Daemon(config, { clock, logger, clients, stateDir, fs });
  closers.push(async () => {
    await daemon.stop({ graceMs: 100 });
    clients.destroy();
    await server.close();
  });
  await daemon.start();
  return { daemon, clock, lines, disk, stateDir, path: join(stateDir, "summaries.jsonl") };
}

describe("Daemon daily summary on a full disk", () => {
  it("logs the path and errno, keeps the day and writes it at the first minute with room", async () => {
    const { clock, lines, disk, stateDir, path } = await daemonOnDisk(100);
    // The summary is made once ModelCopy is read past the day's last published minute: 00:03.
    await clock.advanceTo(local("00:04:30", 8));
    const failed = eventsOf(lines, "summary-write-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({
      level: "error",
      path,
      errno: "ENOSPC",
      date: "2026-12-07",
      attempts: 1,
      retry: "every minute; logged at most hourly",
    });
    // Nothing torn is left behind, and the minutes while the disk is full add no noise.
    expect(existsSync(path) ? readFileSync(path, "utf8") : "").toBe("");
    await clock.advanceTo(local("00:09:30", 8));
    expect(eventsOf(lines, "summary-write-failed")).toHaveLength(1);
    disk.free = 1_000_000;
    await clock.advanceTo(local("00:10:30", 8));
    const written = eventsOf(lines, "summary-written");
    expect(written).toHaveLength(1);
    expect(written[0]).toMatchObject({ date: "2026-12-07", path });
    expect(written[0]?.attempts).toBeGreaterThan(2);
    const file = await readSummaries(stateDir);
    expect(file.skipped).toEqual([]);
    expect(file.summaries.map((s) => s.date)).toEqual(["2026-12-07"]);
  });

  it("tries once more at stop and says the day is only in the log when that fails too", async () => {
    const { daemon, clock, lines } = await daemonOnDisk(0);
    await clock.advanceTo(local("00:00:30", 8));
    await daemon.stop({ graceMs: 100 });
    const failed = eventsOf(lines, "summary-write-failed");
    expect(failed).toHaveLength(2);
    expect(failed[1]).toMatchObject({ level: "error", retry: expect.stringMatching(/^none/) });
    expect(failed[1]?.attempts).toBeGreaterThan(failed[0]?.attempts as number);
    expect(eventsOf(lines, "daily-summary")).toHaveLength(1);
  });
});
