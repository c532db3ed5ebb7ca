import { performance } from "node:perf_hooks";
import { loadConfigFile, parseConfigText } from "../src/config/load.js";
import type { ResolvedConfig } from "../src/domain/types.js";
import { type SimulateTransport, simulateMonth } from "../src/whatif/simulate.js";

// `keepwarm simulate` for December 2026: the sample config and 100 models (a week), the daemon
// reading ModelCopy every virtual minute (as it runs) and every 5, over the in-process
// transport and, for comparison, over the loopback socket. Wall and CPU time of the whole
// month (three runs: keepwarm, cron, always-on). KEEPWARM_BENCH_SIMULATE selects cases by
// name (comma-separated); all by default except the slow socket runs at 1 minute.
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
  readonly pollMinutes: number;
  readonly transport: SimulateTransport;
  readonly byDefault: boolean;
}

const CASES: Case[] = [
  { name: "sample-1", config: sample, pollMinutes: 1, transport: "inProcess", byDefault: true },
  { name: "sample-5", config: sample, pollMinutes: 5, transport: "inProcess", byDefault: true },
  { name: "sample-5-socket", config: sample, pollMinutes: 5, transport: "socket", byDefault: true },
  {
    name: "sample-1-socket",
    config: sample,
    pollMinutes: 1,
    transport: "socket",
    byDefault: false,
  },
  // A week, not the month: at today's speed the month would take several minutes.
  {
    name: "hundred-1",
    config: hundred,
    days: 7,
    pollMinutes: 1,
    transport: "inProcess",
    byDefault: true,
  },
  // The whole month for 100 models, at the default poll: minutes, so not by default.
  {
    name: "hundred-5-month",
    config: hundred,
    pollMinutes: 5,
    transport: "inProcess",
    byDefault: false,
  },
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
    pollMinutes: c.pollMinutes,
    transport: c.transport,
    ...(c.days !== undefined ? { days: c.days } : {}),
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const total = r.models.reduce((n, m) => n + m.keepwarm.totalUsd, 0);
  console.log(
    `simulate: ${c.name}: ${config.models.length} model(s), December 2026${c.days ? ` (first ${c.days} days)` : ""}, ModelCopy every ${c.pollMinutes} min, ${c.transport}: ` +
      `${(wallMs / 1000).toFixed(1)} s wall, CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s ` +
      `(keepwarm ${(r.scenarioMs.keepwarm / 1000).toFixed(1)} s, cron ${(r.scenarioMs.cron / 1000).toFixed(1)} s, ` +
      `always-on ${(r.scenarioMs.alwaysOn / 1000).toFixed(1)} s); keepwarm total $${total.toFixed(2)}`,
  );
}
