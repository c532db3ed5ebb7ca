import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRegionClients } from "../../src/aws/clients.js";
import { discover } from "../../src/cli/discover.js";
import { planCommand } from "../../src/cli/plan.js";
import { validateConfig } from "../../src/cli/validate.js";
import { cents } from "../../src/domain/format.js";
import { projectMonth } from "../../src/domain/spend.js";
import { initialTimings } from "../../src/domain/timings.js";
import type { ModelConfig, Price } from "../../src/domain/types.js";
import type { SimModelSpec } from "../../src/sim/index.js";
import { simulateMonth } from "../../src/whatif/simulate.js";
import {
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  type LogLine,
  local,
} from "./daemonHarness.js";

/**
 * Each model priced by its own CMU version, over the wire: a GPT-OSS import (8 CMU, CMU
 * v2.0, us-east-1, both read from GetImportedModel) costs $0.1433 per CMU-minute in
 * `plan`, `run` and `simulate`; a version nobody priced (v3.0) is an error at
 * `validate`/`plan` and, in `run`, a warning with its spend unknown.
 */

const GPT_OSS = "arn:aws:bedrock:us-east-1:123456789012:imported-model/g9p7t0ss1a2b";
const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/l1a2m3a4b5c6";
const NEXT = "arn:aws:bedrock:us-east-1:123456789012:imported-model/n3xtv3rs10n0";
const V2_PRICE = 0.1433;
const V1_PRICE = 0.05718;
/** What a minute of one GPT-OSS copy costs: 8 CMU x $0.1433. */
const GPT_OSS_MINUTE = 8 * V2_PRICE;

const SIM_MODELS: SimModelSpec[] = [
  { modelArn: GPT_OSS, customModelUnits: 8, cmuVersion: "v2.0", architecture: "gpt_oss" },
  { modelArn: LLAMA, customModelUnits: 2, cmuVersion: "v1.0" },
  { modelArn: NEXT, customModelUnits: 8, cmuVersion: "v3.0" },
];

/** The models with no customModelUnits: CMUs and version come from GetImportedModel. */
const yaml = (names: readonly ("gpt-oss" | "llama" | "next")[], before = "") =>
  before +
  businessHoursYaml({
    models: names.map((name) => ({
      name,
      modelArn: name === "gpt-oss" ? GPT_OSS : name === "llama" ? LLAMA : NEXT,
    })),
    timings: "fixed",
  });

const lineAt = (lines: readonly LogLine[], t: number) =>
  lines.find((l) => Date.parse(l.time) === t) as LogLine;

function tempFile(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "kw-cmu-version-")), name);
  writeFileSync(path, text);
  return path;
}

function output() {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return {
    stdout,
    stderr,
    out: { stdout: (l: string) => stdout.push(l), stderr: (l: string) => stderr.push(l) },
  };
}

describe("CMU versions over the wire", () => {
  const startHarness = harnessPerTest();

  it("run: a GPT-OSS model read from GetImportedModel is billed 8 x $0.1433 a minute, a v1.0 one beside it at v1.0's price", async () => {
    const h = await startHarness({
      config: configOf(yaml(["gpt-oss", "llama"])),
      start: local("08:00"),
      simModels: SIM_MODELS,
    });
    await h.daemon.start();
    await h.clock.runUntil(local("11:00"));
    expect(eventsOf(h.lines, "cmu", "gpt-oss")).toMatchObject([
      {
        cmu: 8,
        unitsVersion: "v2.0",
        usdPerCmuMinute: V2_PRICE,
        source: "bedrock:GetImportedModel",
      },
    ]);
    expect(eventsOf(h.lines, "cmu", "llama")).toMatchObject([
      { cmu: 2, unitsVersion: "v1.0", usdPerCmuMinute: V1_PRICE },
    ]);

    const spend = eventsOf(h.lines, "spend", "gpt-oss");
    const [ten, eleven] = [lineAt(spend, local("10:00")), lineAt(spend, local("11:00"))];
    expect(eleven).toMatchObject({ cmu: 8, cmuVersion: "v2.0", usdPerCmuMinute: V2_PRICE });
    // Warm all hour: 12 more billing windows, 60 minutes at 8 x $0.1433.
    const hour = (eleven.monthToDateUsd as number) - (ten.monthToDateUsd as number);
    expect(Math.abs(hour - 60 * GPT_OSS_MINUTE)).toBeLessThanOrEqual(0.011);
    // Always-on December: 44,640 minutes x 8 x $0.1433 + 8 CMU x $1.95 of storage.
    expect(eleven.alwaysOnMonthUsd).toBe(cents(44_640 * GPT_OSS_MINUTE + 8 * 1.95));

    const status = h.daemon.status().models.find((m) => m.name === "gpt-oss");
    expect(status?.billedCopyMinutes).toBeGreaterThan(120);
    expect(status?.monthToDateUsd).toBeCloseTo(
      (status?.billedCopyMinutes ?? 0) * GPT_OSS_MINUTE,
      10,
    );
    expect(lineAt(eventsOf(h.lines, "spend", "llama"), local("11:00"))).toMatchObject({
      cmu: 2,
      cmuVersion: "v1.0",
      usdPerCmuMinute: V1_PRICE,
    });

    // The simulator bills AWS's list price of each model's region and version.
    const ledger = h.sim.ledger({ start: Date.UTC(2026, 11, 1), end: local("11:00") });
    const billed = ledger.models.find((m) => m.modelArn === GPT_OSS);
    expect(billed).toMatchObject({ cmuVersion: "v2.0", usdPerCmuMinute: V2_PRICE });
    expect(billed?.usd).toBeCloseTo((billed?.billedMinutes ?? 0) * GPT_OSS_MINUTE, 10);
    expect(ledger.models.find((m) => m.modelArn === LLAMA)?.usdPerCmuMinute).toBe(V1_PRICE);
  });

  it("plan: the snippet discover writes from GetImportedModel prices the month at 8 x $0.1433", async () => {
    const h = await startHarness({
      config: configOf(yaml(["gpt-oss"])),
      start: local("08:00"),
      simModels: SIM_MODELS,
    });
    const found = output();
    const clientsFor = (region: string) =>
      createRegionClients(region, {
        endpoint: h.server.url,
        credentials: { accessKeyId: "AKIDSIMULATED", secretAccessKey: "simulated" },
      });
    const code = await discover(
      { region: "us-east-1", model: GPT_OSS, namespace: "AWS/Bedrock", metricName: "ModelCopy" },
      found.out,
      clientsFor,
    );
    expect(code).toBe(0);
    const snippet = found.stdout.slice(found.stdout.findIndex((l) => l.startsWith("models:")));
    expect(snippet.join("\n")).toContain(
      "customModelUnitsVersion: v2.0 # from GetImportedModel: selects the price",
    );
    const file = tempFile("gpt-oss.yaml", `${snippet.join("\n")}\n`);

    const planned = output();
    const exit = await planCommand(
      {
        config: file,
        from: "2026-12-07T00:00Z",
        to: "2026-12-08T00:00Z",
        json: true,
        stateDir: mkdtempSync(join(tmpdir(), "kw-cmu-state-")),
        now: local("08:00"),
      },
      planned.out,
    );
    expect(exit, planned.stderr.join("\n")).toBe(0);
    const plan = JSON.parse(planned.stdout.join(""));
    const [model] = plan.models;
    expect(model).toMatchObject({
      customModelUnits: 8,
      customModelUnitsVersion: "v2.0",
      usdPerCmuMinute: V2_PRICE,
    });
    const [month] = model.months;
    expect(month.billedMinutes).toBeGreaterThan(540);
    expect(month.computeUsd).toBe(cents(month.billedMinutes * GPT_OSS_MINUTE));
    expect(month.storageUsd).toBe(cents(8 * 1.95));
    expect(month.alwaysOnUsd).toBe(cents(1440 * GPT_OSS_MINUTE + 8 * 1.95));
  });

  it("simulate: the simulator's GPT-OSS model is billed and projected at 8 x $0.1433", async () => {
    const config = configOf(yaml(["gpt-oss"]));
    const result = await simulateMonth({
      config,
      month: "2026-12",
      days: 1,
      simModels: SIM_MODELS,
    });
    const [m] = result.models;
    expect(m).toMatchObject({ cmu: 8, cmuVersion: "v2.0", usdPerCmuMinute: V2_PRICE });
    for (const scenario of [m?.keepwarm, m?.cron, m?.alwaysOn]) {
      expect(scenario?.billedMinutes).toBeGreaterThan(0);
      expect(scenario?.computeUsd).toBeCloseTo((scenario?.billedMinutes ?? 0) * GPT_OSS_MINUTE, 8);
    }
    // Always-on for the day: 1,440 minutes at 8 x $0.1433.
    expect(m?.alwaysOn.billedMinutes).toBe(1440);
    // The daemon projected the month at v2.0's price too: near the plan's December at it
    // (its timings learned in the preroll differ a little), far from v1.0's 2.5 times less.
    const model = config.models[0] as ModelConfig;
    const planned = projectMonth(
      config,
      model,
      { cmu: 8, price: model.prices["v2.0"] as Price },
      "2026-12",
      initialTimings(model),
    ).totalUsd;
    expect(Math.abs((m?.keepwarm.projectedUsd ?? 0) / planned - 1)).toBeLessThan(0.05);
  }, 120_000);

  it("simulate: refuses a model whose simulated version has no price, naming the field", async () => {
    await expect(
      simulateMonth({
        config: configOf(yaml(["next"])),
        month: "2026-12",
        days: 1,
        simModels: SIM_MODELS,
      }),
    ).rejects.toThrow(
      "next: no known price for region us-east-1, CMU version v3.0; set pricing.regions.us-east-1.versions.v3.0.usdPerCmuMinute",
    );
  });

  it("run: a v3.0 model is warned about once, kept warm, its spend unknown until a reload prices it", async () => {
    const h = await startHarness({
      config: configOf(yaml(["next", "gpt-oss"])),
      start: local("08:00"),
      simModels: SIM_MODELS,
    });
    await h.daemon.start();
    await h.clock.runUntil(local("09:30"));
    const warnings = eventsOf(h.lines, "price-unknown", "next");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: "warn",
      region: "us-east-1",
      cmuVersion: "v3.0",
      field: "pricing.regions.us-east-1.versions.v3.0.usdPerCmuMinute",
    });
    expect(eventsOf(h.lines, "price-unknown", "gpt-oss")).toEqual([]);
    const unknown = lineAt(eventsOf(h.lines, "spend", "next"), local("09:30"));
    expect(unknown).toMatchObject({
      cmu: 8,
      cmuVersion: "v3.0",
      usdPerCmuMinute: null,
      monthToDateUsd: null,
      projectedMonthUsd: null,
      alwaysOnMonthUsd: null,
    });
    expect(unknown.spendUnknown).toContain("CMU version v3.0");
    expect(eventsOf(h.lines, "warm", "next")).toHaveLength(1);
    // Left out of the fleet's sums, not counted at another version's price.
    expect(h.daemon.status().models.find((m) => m.name === "next")?.monthToDateUsd).toBeUndefined();

    await h.daemon.applyConfig(
      configOf(
        yaml(
          ["next", "gpt-oss"],
          "pricing:\n  regions:\n    us-east-1:\n      versions:\n        v3.0: {usdPerCmuMinute: 0.2, storageUsdPerCmuMonth: 2.5}\n",
        ),
      ),
    );
    await h.clock.runUntil(local("09:40"));
    const priced = lineAt(eventsOf(h.lines, "spend", "next"), local("09:40"));
    expect(priced).toMatchObject({ cmu: 8, cmuVersion: "v3.0", usdPerCmuMinute: 0.2 });
    const status = h.daemon.status().models.find((m) => m.name === "next");
    expect(status?.monthToDateUsd).toBeCloseTo((status?.billedCopyMinutes ?? 0) * 8 * 0.2, 10);
    expect(eventsOf(h.lines, "price-unknown", "next")).toHaveLength(1);
  });

  it("validate and plan: a configured v3.0 without a price is an error naming the field at its line", async () => {
    const file = tempFile(
      "v3.yaml",
      businessHoursYaml({
        models: [
          {
            name: "next",
            modelArn: NEXT,
            lines: ["customModelUnits: 8", "customModelUnitsVersion: v3.0"],
          },
        ],
        timings: "fixed",
      }),
    );
    const want =
      "v3.yaml:18:30: models[0].customModelUnitsVersion: no known price for region us-east-1, CMU version v3.0; set pricing.regions.us-east-1.versions.v3.0.usdPerCmuMinute and pricing.regions.us-east-1.versions.v3.0.storageUsdPerCmuMonth";
    const planned = output();
    expect(await planCommand({ config: file, now: local("08:00") }, planned.out)).toBe(2);
    expect(planned.stderr.map((l) => l.slice(l.indexOf("v3.yaml")))).toEqual([want]);
    const validated = output();
    expect(await validateConfig({ config: file }, validated.out)).toBe(2);
    expect(validated.stderr.join("\n")).toContain(want);
  });
});
