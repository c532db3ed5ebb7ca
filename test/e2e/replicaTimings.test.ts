import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { afterEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../src/aws/clients.js";
import { seededRandom } from "../../src/domain/random.js";
import type { ModelTimings } from "../../src/domain/timings.js";
import { VirtualClock } from "../../src/runtime/infra/virtualClock.js";
import { Daemon } from "../../src/runtime/keep/daemon.js";
import { type SimSettings, Simulator } from "../../src/sim/index.js";
import {
  ARN,
  businessHoursYaml,
  collectingLogger,
  configOf,
  eventsOf,
  type LogLine,
  local,
  MIMO_VL,
} from "./daemonHarness.js";

const SIM = { restoreMs: 30_000, restoreJitterMs: 3_000, evictionDelayMs: 15 * 60_000 };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Run {
  /** Each replica's timings at the end. */
  readonly timings: ModelTimings[];
  /** Each replica's log lines. */
  readonly lines: LogLine[][];
}

interface RunOptions {
  /** One state directory for all (replicas on one volume), or one each. */
  readonly stateDirs: "shared" | "separate";
  /** When a user's call meets the model: before a replica's lead ping, say. */
  readonly userCallsAt?: readonly number[];
  /** Where the run ends. */
  readonly until?: number;
  /** Simulator settings over SIM. */
  readonly sim?: Partial<SimSettings>;
}

/**
 * `replicas` daemons of one config against one simulator on one clock, each with its own
 * clients and seed, on one state directory or one each; run for three business days.
 */
async function run(replicas: number, options: RunOptions): Promise<Run> {
  const clock = new VirtualClock(local("06:00", 7));
  const sim = new Simulator({
    clock: clock.reference,
    settings: { ...SIM, ...options.sim },
    models: [{ modelArn: ARN, customModelUnits: 4 }],
  });
  const server = await sim.listen();
  closers.push(() => server.close());
  const shared = mkdtempSync(join(tmpdir(), "kw-replicas-"));
  const daemons: Daemon[] = [];
  const lines: LogLine[][] = [];
  for (let i = 0; i < replicas; i++) {
    const stateDir =
      options.stateDirs === "shared" ? shared : mkdtempSync(join(tmpdir(), "kw-replica-"));
    const clients = new RegionClientPool({
      endpoint: server.url,
      credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
      retryBackoffMs: 0,
    });
    const log = collectingLogger(() => clock.now());
    lines.push(log.lines);
    const daemon = new Daemon(configOf(businessHoursYaml({ models: [MIMO_VL] }), stateDir), {
      clock,
      logger: log.logger,
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
  const user = new BedrockRuntimeClient({
    region: "us-west-2",
    endpoint: server.url,
    credentials: { accessKeyId: "AKIDUSER", secretAccessKey: "user" },
    maxAttempts: 1,
  });
  closers.push(async () => user.destroy());
  // A caller that rides out a restore as keepwarm does: again every 5 s until it answers.
  const callUntilAnswered = (tries: number): void => {
    const call = user
      .send(
        new InvokeModelCommand({
          modelId: ARN,
          contentType: "application/json",
          body: JSON.stringify({ prompt: "hi", max_gen_len: 1 }),
        }),
      )
      .then(
        () => undefined,
        () => {
          if (tries > 1) clock.setTimer(clock.now() + 5_000, () => callUntilAnswered(tries - 1));
        },
      );
    void clock.track(call);
  };
  for (const t of options.userCallsAt ?? []) clock.setTimer(t, () => callUntilAnswered(20));
  for (const d of daemons) await d.start();
  await clock.runUntil(options.until ?? local("20:00", 9));
  return { timings: daemons.map((d) => d.status().models[0]?.timings as ModelTimings), lines };
}

describe("two replicas against one Bedrock", { timeout: 120_000 }, () => {
  it("both keep the restore and lead time one replica learns alone (a shared state directory)", async () => {
    const [alone] = (await run(1, { stateDirs: "separate" })).timings;
    const pair = (await run(2, { stateDirs: "shared" })).timings;
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

describe("a restore another caller began", { timeout: 180_000 }, () => {
  const within = (t: ModelTimings | undefined, alone: ModelTimings | undefined): void => {
    expect(t?.restore.source).toBe("learned");
    expect(Math.abs((t?.restore.ms ?? 0) - (alone?.restore.ms ?? 0))).toBeLessThanOrEqual(
      2 * SIM.restoreJitterMs,
    );
  };

  it("two replicas on state directories of their own both keep the restore one learns alone", async () => {
    const [alone] = (await run(1, { stateDirs: "separate" })).timings;
    const pair = await run(2, { stateDirs: "separate" });
    for (const t of pair.timings) within(t, alone);
  });

  it("is withdrawn when another caller met the model cold first; the next restore is learned", async () => {
    const alone = await run(1, { stateDirs: "separate", until: local("12:00", 7) });
    const firstCold = eventsOf(alone.lines[0] ?? [], "cold-start")[0];
    expect(firstCold).toBeDefined();
    const coldAt = Date.parse(firstCold?.time ?? "");
    // Another caller meets the cold model 15 s before keepwarm's lead ping, on the first day only.
    const userCallsAt = [coldAt - 15_000];

    const firstDay = await run(1, { stateDirs: "separate", userCallsAt, until: local("12:00", 7) });
    const [joined] = eventsOf(firstDay.lines[0] ?? [], "restore-check");
    expect(joined).toMatchObject({
      verdict: "joined",
      effect: "withdrawn from the learned timings",
    });
    expect(joined?.othersColdCalls as number).toBeGreaterThan(joined?.ownColdCalls as number);
    // The short sample (about 15 s of a 30 s restore) did not shorten the lead time.
    const [afterFirstDay] = firstDay.timings;
    expect(afterFirstDay?.restore.source).not.toBe("learned");
    expect(afterFirstDay?.leadTime.ms).toBeGreaterThanOrEqual(alone.timings[0]?.leadTime.ms ?? 0);

    const [aloneAfterDays] = (await run(1, { stateDirs: "separate" })).timings;
    const threeDays = await run(1, { stateDirs: "separate", userCallsAt });
    within(threeDays.timings[0], aloneAfterDays);
  });

  it("keeps a restore as measured, and says so, when the metric counts no cold calls (Bedrock counting them elsewhere, and a slower restore)", async () => {
    const run1 = await run(1, {
      stateDirs: "separate",
      until: local("12:00", 7),
      sim: { coldCallMetric: "InvocationClientErrors", restoreMs: 150_000 },
    });
    const [check] = eventsOf(run1.lines[0] ?? [], "restore-check");
    expect(check).toMatchObject({
      verdict: "unverifiable",
      metric: "InvocationThrottles",
      countedColdCalls: 0,
      effect: "kept as measured",
    });
    expect(run1.timings[0]?.restore.source).toBe("learned");
    expect(Math.abs((run1.timings[0]?.restore.ms ?? 0) - 150_000)).toBeLessThanOrEqual(
      SIM.restoreJitterMs + 6_000,
    );
  });
});
