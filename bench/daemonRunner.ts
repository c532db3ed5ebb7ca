import { fork } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { DateTime } from "luxon";
import { RegionClientPool } from "../src/aws/clients.js";
import { parseConfigText } from "../src/config/load.js";
import { createLogger } from "../src/runtime/infra/logger.js";
import { VirtualClock } from "../src/runtime/infra/virtualClock.js";
import { Daemon } from "../src/runtime/keep/daemon.js";

// The daemon side of bench/daemon.bench.ts, run as compiled JavaScript under plain node
// as in production. 1,000 models in two regions on business hours in Asia/Shanghai, run
// for one weekday against the simulator over the wire, on virtual time. The simulator
// runs in a child process that follows this process's virtual clock, so the figures are
// the daemon's own. Log lines are serialised in full and counted, then dropped. Prints
// one JSON object with the figures. KEEPWARM_BENCH_POLICIES (comma-separated, e.g.
// business-hours,always-on,off) gives the models those policies in turn. The state
// directory is a fresh one, so nothing learned by an earlier run is planned from.
// KEEPWARM_BENCH_POLL=every-minute reads CloudWatch for every model every minute, as the
// daemon did before its poll rule (keep/pollRule.ts). KEEPWARM_BENCH_HOURS=N runs N simulated
// hours instead of the day.
const EVERY_MINUTE = process.env.KEEPWARM_BENCH_POLL === "every-minute";
/** Simulated hours to run (KEEPWARM_BENCH_HOURS), 24 unless told: a shorter run for profiling. */
const HOURS = Number(process.env.KEEPWARM_BENCH_HOURS ?? 24);
const MODELS = Number(process.env.KEEPWARM_BENCH_MODELS ?? 1_000);
const POLICIES = (process.env.KEEPWARM_BENCH_POLICIES ?? "business-hours").split(",");
const stateDir = mkdtempSync(join(tmpdir(), "keepwarm-bench-daemon-"));
const ZONE = "Asia/Shanghai";
const day = DateTime.fromISO("2026-12-07T00:00", { zone: ZONE });

const id = (i: number) => i.toString(36).padStart(12, "0");
const yaml = [
  `timezone: ${ZONE}`,
  "models:",
  ...Array.from({ length: MODELS }, (_, i) =>
    [
      `  - name: model-${i}`,
      `    modelArn: arn:aws:bedrock:${i % 2 === 0 ? "us-east-1" : "us-west-2"}:123456789012:imported-model/${id(i)}`,
      `    policy: ${POLICIES[i % POLICIES.length]}`,
      `    customModelUnits: ${2 + (i % 4) * 2}`,
    ].join("\n"),
  ),
].join("\n");
const loaded = parseConfigText(yaml, "bench.yaml", { stateDir });
if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems.slice(0, 3)));
const config = loaded.config;

const simScript = process.env.KEEPWARM_BENCH_SIM_SCRIPT;
if (!simScript) throw new Error("KEEPWARM_BENCH_SIM_SCRIPT names bench/daemonSimProcess.ts");
const child = fork(simScript, [], { execArgv: ["--import", "tsx"] });
const replies: unknown[] = [];
const waiting: ((m: unknown) => void)[] = [];
child.on("message", (m) => {
  const next = waiting.shift();
  if (next) next(m);
  else replies.push(m);
});
const reply = () =>
  new Promise<unknown>((resolve) => {
    const ready = replies.shift();
    if (ready !== undefined) resolve(ready);
    else waiting.push(resolve);
  });
child.send({
  start: day.toMillis(),
  models: config.models.map((m) => ({
    modelArn: m.modelArn,
    customModelUnits: m.customModelUnits ?? 4,
  })),
});
const { url } = (await reply()) as { url: string };
const clock = new VirtualClock(day.toMillis(), {
  onAdvance: async (t) => {
    child.send(t);
    await reply();
  },
});
const clients = new RegionClientPool({
  endpoint: url,
  credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
});
let lines = 0;
/** Lines of models left cold for the rate, and of keep-alives dropped past their eviction. */
const marks = {
  leftCold: Buffer.from('"event":"left-cold"'),
  dropped: Buffer.from('"dropped":true'),
};
const counted = { leftCold: 0, dropped: 0 };
const countIn = (chunk: Buffer, mark: Buffer) => {
  let n = 0;
  for (let i = chunk.indexOf(mark); i >= 0; i = chunk.indexOf(mark, i + mark.length)) n++;
  return n;
};
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    for (const b of chunk) if (b === 10) lines++;
    counted.leftCold += countIn(chunk, marks.leftCold);
    counted.dropped += countIn(chunk, marks.dropped);
    done();
  },
});
const logger = createLogger({ destination: sink, now: () => clock.now() });
const daemon = new Daemon(config, {
  clock,
  logger,
  clients,
  stateDir,
  ...(EVERY_MINUTE ? { poll: { slowMs: 60_000, idleMs: 60_000 } } : {}),
});

globalThis.gc?.();
const baselineRssMb = process.memoryUsage().rss / 2 ** 20;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
await daemon.start();
if (process.env.KEEPWARM_BENCH_TRACE) {
  const step = Number(process.env.KEEPWARM_BENCH_TRACE_MINUTES ?? 60);
  const mb = (x: number) => (x / 2 ** 20).toFixed(0);
  for (let minute = 0; minute <= HOURS * 60; minute += step) {
    await clock.runUntil(day.plus({ minutes: minute }).toMillis());
    const m = process.memoryUsage();
    const cpu = process.cpuUsage(cpu0);
    process.stderr.write(
      `${day.plus({ minutes: minute }).toFormat("HH:mm")} cpu ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s rss ${mb(m.rss)} heapTotal ${mb(m.heapTotal)} heapUsed ${mb(m.heapUsed)} external ${mb(m.external)} ab ${mb(m.arrayBuffers)} maxRss ${(process.resourceUsage().maxRSS / 1024).toFixed(0)}\n`,
    );
  }
}
await clock.runUntil(day.plus({ hours: HOURS }).toMillis());
const wallMs = performance.now() - wall0;
const cpu = process.cpuUsage(cpu0);
await daemon.stop({ graceMs: 1_000 });
clients.destroy();
child.send("stop");
const simUsage = (await reply()) as {
  cpuMs: number;
  maxRssKb: number;
  calls: number;
  metricsRequested: number;
};
await once(child, "exit");

const status = daemon.status();
const pings = status.models.reduce((n, m) => n + m.counters.pingsOk, 0);
const coldStarts = status.models.reduce((n, m) => n + m.counters.coldStarts, 0);
const modelsPinged = status.models.filter((m) => m.counters.pingsOk > 0).length;
const peakRssMb = process.resourceUsage().maxRSS / 1024;
globalThis.gc?.();
const heapMb = process.memoryUsage().heapUsed / 2 ** 20;
console.log(
  JSON.stringify({
    models: MODELS,
    day: day.toISODate(),
    wallS: wallMs / 1000,
    cpuS: (cpu.user + cpu.system) / 1e6,
    userS: cpu.user / 1e6,
    systemS: cpu.system / 1e6,
    peakRssMb,
    baselineRssMb,
    heapAfterGcMb: heapMb,
    pings,
    coldStarts,
    modelsPinged,
    leftColdLines: counted.leftCold,
    keepAlivesDropped: counted.dropped,
    logLines: lines,
    simCpuS: simUsage.cpuMs / 1000,
    simPeakRssMb: simUsage.maxRssKb / 1024,
    getMetricDataCalls: simUsage.calls,
    metricsRequested: simUsage.metricsRequested,
    metricsPerModelMinute: simUsage.metricsRequested / (MODELS * HOURS * 60),
  }),
);
