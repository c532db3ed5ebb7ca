import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { planCommand } from "../src/cli/plan.js";
import { parseConfigText } from "../src/config/load.js";
import { planModel } from "../src/domain/plan.js";
import { configuredUnits } from "../src/domain/price.js";
import { monthRange, projectMonth } from "../src/domain/spend.js";
import { initialTimings } from "../src/domain/timings.js";
import type { Price } from "../src/domain/types.js";

// 1,000 models over eight policies in five zones, a tenth of them with an override, planned
// for a whole month the way `keepwarm plan` does it (windows + pings, then the month's cost).
const MODELS = 1_000;
const MONTHS = ["2026-12", "2027-03"];

const policies = `policies:
  business-hours:
    windows: [{ days: mon-fri, from: "09:00", to: "18:00" }]
    holidays: [2026-12-25, 2027-01-01]
  ny-hours:
    timezone: America/New_York
    windows: [{ days: mon-fri, from: "08:30", to: "17:30" }]
  berlin-split:
    timezone: Europe/Berlin
    windows:
      - { days: mon-fri, from: "08:00", to: "12:00" }
      - { days: mon-fri, from: "12:10", to: "18:00" }
  night-batch:
    timezone: America/Los_Angeles
    windows: [{ days: daily, from: "22:00", to: "02:00" }]
  weekends:
    timezone: Asia/Tokyo
    windows: [{ days: sat-sun, from: "00:00", to: "24:00" }]
`;
const policyNames = [
  "business-hours",
  "ny-hours",
  "berlin-split",
  "night-batch",
  "weekends",
  "always-on",
  "off",
  "business-hours",
];
const id = (i: number) => `m${String(i).padStart(11, "0")}`;
const models = Array.from({ length: MODELS }, (_, i) => {
  const policy = policyNames[i % policyNames.length];
  return `  - { name: model-${i}, modelArn: "arn:aws:bedrock:us-east-1:123456789012:imported-model/${id(i)}", policy: ${policy}, customModelUnits: ${1 + (i % 8)} }`;
});
const overrides = Array.from({ length: MODELS / 10 }, (_, k) => `model-${k * 10}`);
const yaml = `timezone: Asia/Shanghai
${policies}overrides:
  - { models: [${overrides.join(", ")}], policy: always-on, from: "2026-12-14T08:00", until: "2026-12-16T20:30" }
models:
${models.join("\n")}
`;

const loaded = parseConfigText(yaml, "bench.yaml");
if (!loaded.ok) throw new Error(`bench config is invalid: ${JSON.stringify(loaded.problems[0])}`);
const config = loaded.config;

function planAll(month: string): { ms: number; pings: number; usd: number } {
  const range = monthRange(month);
  const t0 = performance.now();
  let pings = 0;
  let usd = 0;
  for (const model of config.models) {
    pings += planModel(config, model, range, initialTimings(model)).pings.length;
    usd += projectMonth(
      config,
      model,
      configuredUnits(model) ?? { cmu: 1, price: model.prices["v1.0"] as Price },
      month,
      initialTimings(model),
    ).totalUsd;
  }
  return { ms: performance.now() - t0, pings, usd };
}

function slidingTicks(ticks: number): number {
  const t0 = performance.now();
  const start = monthRange("2026-12").start;
  for (let tick = 0; tick < ticks; tick++) {
    const now = start + tick * 60_000;
    for (const model of config.models)
      planModel(
        config,
        model,
        { start: now - 3_600_000, end: now + 3_600_000 },
        initialTimings(model),
      );
  }
  return (performance.now() - t0) / ticks;
}

async function wholeCommand(json: boolean): Promise<{ ms: number; bytes: number }> {
  const file = join(mkdtempSync(join(tmpdir(), "keepwarm-bench-")), "fleet.yaml");
  writeFileSync(file, yaml);
  let bytes = 0;
  const sink = (line: string) => {
    bytes += line.length + 1;
  };
  const t0 = performance.now();
  const code = await planCommand(
    { config: file, from: "2026-12-01T00:00Z", to: "2027-01-01T00:00Z", json, now: 0 },
    { stdout: sink, stderr: sink },
  );
  if (code !== 0) throw new Error(`keepwarm plan exited ${code}`);
  return { ms: performance.now() - t0, bytes };
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MiB`;
const results: string[] = [];
for (const month of MONTHS) {
  const cold = planAll(month);
  const warm = planAll(month);
  results.push(
    `plan ${MODELS} models for ${month}: ${cold.ms.toFixed(0)} ms first run, ${warm.ms.toFixed(0)} ms again; ` +
      `${cold.pings.toLocaleString("en-US")} pings, projected $${cold.usd.toFixed(2)}`,
  );
}
results.push(
  `daemon-style query [now-1h, now+1h] for ${MODELS} models: ${slidingTicks(60).toFixed(1)} ms per tick`,
);
// Peak RSS so far covers planning only; rendering a month of pings as JSON adds its own.
const planningRss = process.resourceUsage().maxRSS * 1024;
results.push(`peak RSS after planning ${mb(planningRss)}`);
for (const json of [false, true]) {
  const r = await wholeCommand(json);
  results.push(
    `keepwarm plan${json ? " --json" : ""} (load YAML, plan, render) for ${MODELS} models, December 2026: ` +
      `${r.ms.toFixed(0)} ms, ${mb(r.bytes)} of output`,
  );
}
for (const line of results) console.log(line);
console.log(`peak RSS after the whole commands ${mb(process.resourceUsage().maxRSS * 1024)}`);
