import { performance } from "node:perf_hooks";
import { BedrockRuntimeClient, InvokeModelCommand } from "@aws-sdk/client-bedrock-runtime";
import { ManualClock } from "../src/sim/clock.js";
import { Simulator } from "../src/sim/simulator.js";

// A simulated month (December 2026, 31 days) of models pinged every 14 minutes, in virtual
// time and in process, the way `keepwarm simulate` drives the simulator: a cold start is
// retried every 5 s until it answers. Then what reads the month back: the ledger, a month
// of ModelCopy through GetMetricData (period 300), and a modelState sample every minute.
const MONTH_START = Date.parse("2026-12-01T00:00:00Z");
const MONTH_END = Date.parse("2027-01-01T00:00:00Z");
const CADENCE = 14 * 60_000;
const RETRY = 5_000;
const PING = '{"prompt":"ping","max_gen_len":1}';
const arn = (i: number) =>
  `arn:aws:bedrock:us-east-1:123456789012:imported-model/m${String(i).padStart(11, "0")}`;

function simulateMonth(models: number) {
  const clock = new ManualClock(MONTH_START);
  const sim = new Simulator({ clock });
  const arns = Array.from({ length: models }, (_, i) => arn(i));
  for (const modelArn of arns) sim.addModel({ modelArn, customModelUnits: 4 });

  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let calls = 0;
  for (let t = MONTH_START; t < MONTH_END; t += CADENCE) {
    let pending = arns;
    for (let retry = 0; pending.length > 0; retry++) {
      clock.set(t + retry * RETRY);
      pending = pending.filter((modelArn) => {
        calls++;
        return sim.invokeModel(modelArn, PING).kind !== "ok";
      });
    }
  }
  const driveMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // CPU time as well as wall time: the reference machine is shared, and waiting for a core
  // is not the simulator's cost.
  const driveCpuMs = (cpu.user + cpu.system) / 1000;

  clock.set(MONTH_END + 3_600_000);
  const t1 = performance.now();
  const ledger = sim.ledger({ start: MONTH_START, end: MONTH_END });
  const ledgerMs = performance.now() - t1;

  const t2 = performance.now();
  let datapoints = 0;
  for (let i = 0; i < arns.length; i += 500) {
    const answer = sim.cloudwatch("GetMetricData", {
      StartTime: MONTH_START / 1000,
      EndTime: MONTH_END / 1000,
      MetricDataQueries: arns.slice(i, i + 500).map((modelArn, k) => ({
        Id: `m${k}`,
        MetricStat: {
          Metric: {
            Namespace: "AWS/Bedrock",
            MetricName: "ModelCopy",
            Dimensions: [{ Name: "ModelId", Value: modelArn }],
          },
          Period: 300,
          Stat: "Maximum",
        },
      })),
    });
    if (answer.kind !== "ok") throw new Error(`GetMetricData failed: ${JSON.stringify(answer)}`);
    for (const r of answer.value.MetricDataResults) datapoints += r.Values.length;
  }
  const metricsMs = performance.now() - t2;

  // The daemon's `simulate` samples each model's state once a simulated minute.
  const sampler = new ManualClock(MONTH_START);
  const replay = new Simulator({ clock: sampler });
  for (const modelArn of arns) replay.addModel({ modelArn, customModelUnits: 4 });
  let nextPing = MONTH_START;
  let warmMinutes = 0;
  const t3 = performance.now();
  for (let t = MONTH_START; t < MONTH_END; t += 60_000) {
    sampler.set(t);
    if (t >= nextPing) {
      for (const modelArn of arns) replay.invokeModel(modelArn, PING);
      nextPing += t === MONTH_START ? 120_000 : CADENCE;
    }
    for (const modelArn of arns) if (replay.modelState(modelArn).state === "warm") warmMinutes++;
  }
  const sampleMs = performance.now() - t3;

  return {
    driveMs,
    driveCpuMs,
    ledgerMs,
    metricsMs,
    sampleMs,
    calls,
    datapoints,
    warmMinutes,
    ledger,
  };
}

/** The same pings through the real SDK client and the server (h2c), one at a time. */
async function overTheWire(calls: number): Promise<number> {
  const clock = new ManualClock(MONTH_START);
  const modelArn = arn(0);
  const sim = new Simulator({ clock, models: [{ modelArn, customModelUnits: 4 }] });
  sim.invokeModel(modelArn, PING);
  clock.set(MONTH_START + 120_000);
  const server = await sim.listen();
  const client = new BedrockRuntimeClient({
    region: "us-east-1",
    endpoint: server.url,
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "x" },
    maxAttempts: 1,
  });
  const body = new TextEncoder().encode(PING);
  await client.send(new InvokeModelCommand({ modelId: modelArn, body }));
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    clock.set(MONTH_START + 120_000 + i * CADENCE);
    await client.send(new InvokeModelCommand({ modelId: modelArn, body }));
  }
  const ms = performance.now() - t0;
  client.destroy();
  await server.close();
  return ms;
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
for (const models of [1, 100]) {
  const r = simulateMonth(models);
  const perModel = r.ledger.models[0];
  console.log(
    `sim: a month of ${models} model(s) pinged every 14 min: ${r.driveMs.toFixed(0)} ms ` +
      `(CPU ${r.driveCpuMs.toFixed(0)} ms) ` +
      `(${r.calls.toLocaleString("en-US")} InvokeModel calls); ledger ${r.ledgerMs.toFixed(1)} ms ` +
      `($${r.ledger.usd.toFixed(2)} in all, ${perModel?.billedMinutes} billed minutes per model); ` +
      `ModelCopy month at 300 s ${r.metricsMs.toFixed(0)} ms (${r.datapoints} datapoints); ` +
      `modelState every minute ${r.sampleMs.toFixed(0)} ms (${r.warmMinutes.toLocaleString("en-US")} warm model-minutes)`,
  );
}
const WIRE_CALLS = 300;
const wireMs = await overTheWire(WIRE_CALLS);
console.log(
  `sim: ${WIRE_CALLS} InvokeModel calls through the SDK over h2c: ${wireMs.toFixed(0)} ms ` +
    `(${((wireMs / WIRE_CALLS) * 1000).toFixed(0)} us each)`,
);
console.log(
  `sim: peak RSS ${mb(process.resourceUsage().maxRSS * 1024)}, heap used ${mb(process.memoryUsage().heapUsed)}`,
);
