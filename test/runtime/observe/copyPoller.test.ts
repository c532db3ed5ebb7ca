import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { RegionClientPool } from "../../../src/aws/clients.js";
import { invokePing } from "../../../src/aws/invoke.js";
import type { CopyPoint } from "../../../src/aws/metrics.js";
import { parseConfigText } from "../../../src/config/load.js";
import type { ModelConfig } from "../../../src/domain/types.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { noopObserver } from "../../../src/runtime/infra/observer.js";
import { ProblemLog } from "../../../src/runtime/infra/problemLog.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";
import { CopyPoller } from "../../../src/runtime/observe/copyPoller.js";
import { Simulator } from "../../../src/sim/index.js";

const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 7, 2, 0);

interface Read {
  readonly kind: "month" | "poll";
  readonly name: string;
  readonly copies: readonly CopyPoint[];
  readonly invocations: readonly CopyPoint[];
}

/** The poller against the simulator over the wire (real SDK clients), on one virtual clock. */
async function setup() {
  const clock = new VirtualClock(T0);
  const sim = new Simulator({
    clock: clock.reference,
    settings: { restoreMs: 0, restoreJitterMs: 0 },
    models: [{ modelArn: ARN, customModelUnits: 4 }],
  });
  const server = await sim.listen();
  const clients = new RegionClientPool({
    endpoint: server.url,
    credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
    retryBackoffMs: 0,
  });
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    destination: new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  });
  const reads: Read[] = [];
  const poller = new CopyPoller({
    clients,
    now: () => clock.now(),
    log,
    observer: noopObserver,
    problems: new ProblemLog(() => clock.now(), 60 * MIN),
    sink: {
      monthRead: (m, points) =>
        reads.push({ kind: "month", name: m.name, copies: points, invocations: [] }),
      pointsRead: (m, copies, invocations) =>
        reads.push({ kind: "poll", name: m.name, copies, invocations }),
    },
  });
  const loaded = parseConfigText(
    `timezone: Asia/Shanghai\nmodels:\n  - name: m\n    modelArn: ${ARN}\n    policy: business-hours\n    customModelUnits: 4\n`,
    "k.yaml",
    { stateDir: "/tmp" },
  );
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  const model = loaded.config.models[0] as ModelConfig;
  const ping = async () => {
    for (;;) {
      try {
        return await invokePing(clients.get("us-west-2").runtime, ARN, model.request);
      } catch {
        await clock.advanceBy(5_000);
      }
    }
  };
  const close = async () => {
    clients.destroy();
    await server.close();
  };
  return { clock, sim, poller, reads, lines, model, ping, close };
}

describe("CopyPoller", () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it("hands the month, then each minute's ModelCopy and Invocations, to the sink", async () => {
    const s = await setup();
    close = s.close;
    await s.ping();
    await s.clock.advanceBy(10 * MIN);
    await s.poller.backfill([s.model]);
    const month = s.reads.find((r) => r.kind === "month");
    expect(month?.copies.some((p) => p.copies >= 1)).toBe(true);
    expect(s.poller.readThrough("m")).toBe(s.clock.now());

    await s.ping();
    await s.clock.advanceBy(5 * MIN);
    expect(await s.poller.poll([s.model], s.clock.now())).toBe(true);
    const poll = s.reads.filter((r) => r.kind === "poll").at(-1);
    expect(poll?.copies.at(-1)?.copies).toBe(1);
    // The ping's minute shows a call in Invocations: the last call an eviction is timed from.
    expect(poll?.invocations.some((p) => p.copies > 0)).toBe(true);
    // The next read starts the lookback before the last one ended.
    expect(s.poller.readFrom([s.model], s.clock.now() + MIN)).toBe(s.clock.now() - 10 * MIN);
  });

  it("hands nothing on while CloudWatch refuses, keeps its read position, and says so once an hour", async () => {
    const s = await setup();
    close = s.close;
    await s.poller.backfill([s.model]);
    const through = s.poller.readThrough("m");
    s.sim.faults.add({ kind: "accessDenied", operations: ["GetMetricData"] });
    const before = s.reads.length;
    for (let i = 0; i < 3; i++) {
      await s.clock.advanceBy(MIN);
      await s.poller.poll([s.model], s.clock.now());
    }
    expect(s.reads.length).toBe(before);
    expect(s.poller.readThrough("m")).toBe(through);
    const failed = s.lines.filter((l) => l.event === "metrics-failed");
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ region: "us-west-2", errorName: "AccessDeniedException" });
  });

  it("skips a region whose previous poll still runs, and logs the skip once", async () => {
    const s = await setup();
    close = s.close;
    s.sim.faults.add({ kind: "slow", delayMs: 300, operations: ["GetMetricData"] });
    const first = s.poller.poll([s.model], s.clock.now());
    expect(await s.poller.poll([s.model], s.clock.now())).toBe(false);
    expect(await s.poller.poll([s.model], s.clock.now())).toBe(false);
    expect(await first).toBe(true);
    expect(s.lines.filter((l) => l.event === "poll-skipped")).toHaveLength(1);
  });
});
