import { mkdirSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { RegionClientPool } from "../src/aws/clients.js";
import { suggestCommand } from "../src/cli/suggest.js";
import type { IsoWeekday } from "../src/domain/types.js";
import { ManualClock } from "../src/sim/clock.js";
import {
  InProcessSimHandler,
  type SimModelSpec,
  Simulator,
  type TrafficRate,
} from "../src/sim/index.js";

// `keepwarm suggest --json --weeks 8` for 100 models in two regions and three zones, each with
// users of its own (business hours, evenings, a weekend slot, stray calls), against the
// in-process simulator through the real SDK clients. No pings.json: the plan's pings are
// taken out (the longer path: every model's 8 weeks are planned). Three runs.
const DIR = "/tmp/keepwarm-bench-suggest";
const ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin"] as const;
const NOW = Date.parse("2027-03-22T06:00:00Z");
const START = NOW - 8 * 7 * 86_400_000 - 86_400_000;
const MODELS = 100;

const id = (i: number) => i.toString(36).padStart(12, "0");
const arn = (i: number) =>
  `arn:aws:bedrock:${i % 2 === 0 ? "us-east-1" : "us-west-2"}:123456789012:imported-model/${id(i)}`;

function users(i: number): SimModelSpec {
  const weekdays = new Set<IsoWeekday>([1, 2, 3, 4, 5]);
  const rates: TrafficRate[] = [
    { days: weekdays, fromMinute: 9 * 60, toMinute: 18 * 60, perHour: 5 + (i % 7) },
  ];
  if (i % 2 === 0) {
    rates.push({
      days: new Set([1, 2, 3, 4]),
      fromMinute: 19 * 60,
      toMinute: 22 * 60,
      perHour: 20,
    });
  }
  if (i % 5 === 0) rates.push({ days: new Set([6]), fromMinute: 600, toMinute: 720, perHour: 25 });
  return {
    modelArn: arn(i),
    customModelUnits: 2 + (i % 4) * 2,
    traffic: { timezone: ZONES[i % 3] as string, rates, strayPerWeek: 3 + (i % 4), dayToDay: 0.2 },
  };
}

function yaml(): string {
  return [
    "timezone: Asia/Shanghai",
    "policies:",
    ...ZONES.map((z, k) =>
      [
        `  hours-${k}:`,
        `    timezone: ${z}`,
        "    windows:",
        "      - days: mon-fri",
        '        from: "09:00"',
        '        to: "18:00"',
      ].join("\n"),
    ),
    "models:",
    ...Array.from({ length: MODELS }, (_, i) =>
      [
        `  - name: model-${i}`,
        `    modelArn: ${arn(i)}`,
        `    policy: hours-${i % 3}`,
        `    customModelUnits: ${2 + (i % 4) * 2}`,
      ].join("\n"),
    ),
    "daemon:",
    `  stateDir: ${DIR}/state`,
    "",
  ].join("\n");
}

mkdirSync(DIR, { recursive: true });
const file = `${DIR}/keepwarm.yaml`;
writeFileSync(file, yaml());
const clock = new ManualClock(START);
const sim = new Simulator({ clock, models: Array.from({ length: MODELS }, (_, i) => users(i)) });
clock.set(NOW);
let t = performance.now();
sim.ledger();
const generated = performance.now() - t;
let calls = 0;
for (let i = 0; i < MODELS; i++) calls += sim.userCalls(arn(i)).calls;
console.log(
  `suggest bench: ${MODELS} models, 8 weeks: ${calls.toLocaleString("en-US")} users' calls played through the simulator in ${(generated / 1000).toFixed(2)} s (setup, not measured below)`,
);

const rows: string[] = [];
for (let run = 1; run <= 3; run++) {
  const clients = new RegionClientPool({
    endpoint: "http://127.0.0.1:1",
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
    retryBackoffMs: 0,
    requestHandler: new InProcessSimHandler(sim),
  });
  const before = sim.getMetricDataUsage();
  const out: string[] = [];
  const cpu = process.cpuUsage();
  t = performance.now();
  const code = await suggestCommand(
    { config: file, json: true, weeks: "8", now: NOW, clients },
    { stdout: (l) => out.push(l), stderr: () => {} },
  );
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  clients.destroy();
  if (code !== 0) throw new Error(`suggest exited ${code}`);
  const after = sim.getMetricDataUsage();
  const json = JSON.parse(out.join("")) as { models: { calls: number }[] };
  rows.push(
    `| run ${run} | ${(wall / 1000).toFixed(2)} s | ${((used.user + used.system) / 1e6).toFixed(2)} s | ${after.calls - before.calls} | ${after.metricsRequested - before.metricsRequested} | ${json.models.length} |`,
  );
}
console.log("| run | wall | CPU | GetMetricData calls | metrics requested | models |");
console.log("|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
