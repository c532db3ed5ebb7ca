import { performance } from "node:perf_hooks";
import { loadConfigFile, parseConfigText } from "../src/config/load.js";
import type { ResolvedConfig } from "../src/domain/types.js";
import { type SimulateTransport, simulateMonth } from "../src/whatif/simulate.js";

// `keepwarm simulate` for December 2026: the sample config (the month) and 100 models (a
// week, and the month), over the in-process transport and, for comparison, over the
// loopback socket. Wall and CPU time of the whole run (three runs: keepwarm, cron,
// always-on). KEEPWARM_BENCH_SIMULATE selects cases by name (comma-separated); all by
// default except the 100-model month.
const STATE_DIR = "/tmp/keepwarm-bench-state";

async function sample(): Promise<ResolvedConfig> {
  const loaded = await loadConfigFile("config/keepwarm.yaml", { stateDir: STATE_DIR });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

/** 100 models in two regions, business hours in Asia/Shanghai, 2-8 CMU. */
function hundred(): ResolvedConfig {
  const id = (i: number) => i.toString(36).padStart(12, "0");
  const yaml = [
    "timezone: Asia/Shanghai",
    "models:",
    ...Array.from({ length: 100 }, (_, i) =>
      [
        `  - name: model-${i}`,
        `    modelArn: arn:aws:bedrock:${i % 2 === 0 ? "us-east-1" : "us-west-2"}:123456789012:imported-model/${id(i)}`,
        "    policy: business-hours",
        `    customModelUnits: ${2 + (i % 4) * 2}`,
      ].join("\n"),
    ),
  ].join("\n");
  const loaded = parseConfigText(yaml, "bench.yaml", { stateDir: STATE_DIR });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems.slice(0, 3)));
  return loaded.config;
}

interface Case {
  readonly name: string;
  /** The month's first days only; the whole month when undefined. */
  readonly days?: number;
  readonly config: () => Promise<ResolvedConfig> | ResolvedConfig;
  readonly transport: SimulateTransport;
  readonly byDefault: boolean;
}

// The daemon reads CloudWatch by its own rule (keep/pollRule.ts) in every case: every
// minute while something can change for a model, every 5 or 15 minutes otherwise.
const CASES: Case[] = [
  { name: "sample", config: sample, transport: "inProcess", byDefault: true },
  { name: "sample-socket", config: sample, transport: "socket", byDefault: true },
  { name: "hundred-week", config: hundred, days: 7, transport: "inProcess", byDefault: true },
  { name: "hundred", config: hundred, transport: "inProcess", byDefault: false },
];

const chosen = process.env.KEEPWARM_BENCH_SIMULATE?.split(",");
for (const c of CASES) {
  if (chosen ? !chosen.includes(c.name) : !c.byDefault) continue;
  const config = await c.config();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await simulateMonth({
    config,
    month: "2026-12",
    transport: c.transport,
    ...(c.days !== undefined ? { days: c.days } : {}),
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const total = r.models.reduce((n, m) => n + m.keepwarm.totalUsd, 0);
  console.log(
    `simulate: ${c.name}: ${config.models.length} model(s), December 2026${c.days ? ` (first ${c.days} days)` : ""}, ${c.transport}: ` +
      `${(wallMs / 1000).toFixed(1)} s wall, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s ` +
      `(keepwarm ${(r.scenarioMs.keepwarm / 1000).toFixed(1)} s, cron ${(r.scenarioMs.cron / 1000).toFixed(1)} s, ` +
      `always-on ${(r.scenarioMs.alwaysOn / 1000).toFixed(1)} s); keepwarm total $${total.toFixed(2)}; ` +
      `GetMetricData ${r.overhead.getMetricDataCalls} calls, ${r.overhead.metricsRequested} metrics, ` +
      `${r.overhead.metricsPerModelMinute.toFixed(3)} per model-minute`,
  );
}
