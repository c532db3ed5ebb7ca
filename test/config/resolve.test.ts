import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  formatProblem,
  type LoadResult,
  loadConfigFile,
  parseConfigText,
} from "../../src/config/load.js";
import { PRICE_TABLE_SOURCE } from "../../src/config/pricing.js";
import type { ResolvedConfig } from "../../src/domain/types.js";

const EXAMPLE = fileURLToPath(new URL("../fixtures/valid/issue-example.yaml", import.meta.url));
const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
const ARN = "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6";
const ARN2 = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";

function resolved(result: LoadResult): ResolvedConfig {
  if (!result.ok) throw new Error(result.problems.map(formatProblem).join("\n"));
  return result.config;
}

function minimal(extra = "", model = ""): string {
  return `${extra}\nmodels:\n  - name: m\n    modelArn: ${ARN}\n    policy: always-on\n${model}`;
}

describe("parseConfigText", () => {
  describe("the documented example config", () => {
    const config = resolved(parseConfigText(readFileSync(EXAMPLE), "issue-example.yaml"));

    it("keeps the config zone and the built-in policies", () => {
      expect(config.timezone).toBe("Asia/Shanghai");
      expect([...config.policies.keys()]).toEqual([
        "always-on",
        "business-hours",
        "off",
        "night-batch",
      ]);
      expect(config.policies.get("always-on")).toMatchObject({ kind: "always-on", windows: [] });
      expect(config.policies.get("off")).toMatchObject({ kind: "off", windows: [] });
    });

    it("reads the redefined business-hours with its holidays", () => {
      const policy = config.policies.get("business-hours");
      expect(policy).toMatchObject({
        kind: "windows",
        timezone: "Asia/Shanghai",
        holidays: [
          { first: "2026-12-25", last: "2026-12-25" },
          { first: "2027-01-01", last: "2027-01-01" },
          { first: "2027-02-16", last: "2027-02-18" },
        ],
      });
      expect(policy?.windows).toEqual([
        { days: new Set([1, 2, 3, 4, 5]), fromMinute: 540, toMinute: 1080 },
      ]);
    });

    it("reads an overnight window in the policy's own zone", () => {
      expect(config.policies.get("night-batch")).toMatchObject({
        timezone: "America/Los_Angeles",
        windows: [{ days: new Set([1, 2, 3, 4, 5, 6, 7]), fromMinute: 1320, toMinute: 120 }],
      });
    });

    it("reads override times in the config zone", () => {
      expect(config.overrides).toEqual([
        {
          models: ["mimo-vl"],
          policy: "always-on",
          from: Date.parse("2026-11-30T16:00:00Z"),
          until: Date.parse("2026-12-02T16:00:00Z"),
        },
      ]);
    });

    it("resolves each model from its ARN, the defaults and the global prices", () => {
      expect(config.models[0]).toEqual({
        name: "mimo-vl",
        modelArn: ARN2,
        region: "us-west-2",
        accountId: "123456789012",
        modelId: "km5b98xhpqel",
        policy: "business-hours",
        customModelUnits: 4,
        timing: {
          cadence: { mode: "fixed", ms: 840_000 },
          leadTime: { mode: "fixed", ms: 300_000 },
          evictionDelay: { mode: "auto" },
        },
        warmupTimeoutMs: 600_000,
        request: { messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
        metric: {
          namespace: "AWS/Bedrock",
          metricName: "ModelCopy",
          dimensionName: "ModelId",
          dimensionValue: ARN2,
        },
        price: { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95, source: "pricing" },
      });
      expect(config.models[1]).toMatchObject({ name: "batch-llama", region: "us-east-1" });
    });

    it("fills the daemon settings with their defaults", () => {
      expect(config.daemon).toEqual({
        stateDir: "./.state",
        httpHost: "127.0.0.1",
        httpPort: 9464,
        selfHostingUsdPerMonth: 2062.26,
        spendLog: { perModel: "every-minute", refreshMs: 15 * 60_000 },
        invokeRatePerSecond: 5,
        invokeBurst: 10,
      });
    });
  });

  describe("defaults", () => {
    it("gives an omitted request the 1-token chat body and the table's price", () => {
      const [model] = resolved(parseConfigText(minimal(), "m.yaml")).models;
      expect(model?.request).toEqual({
        messages: [{ role: "user", content: "ping" }],
        max_tokens: 1,
      });
      expect(model?.customModelUnits).toBeUndefined();
      expect(model?.price).toEqual({
        usdPerCmuMinute: 0.05718,
        storageUsdPerCmuMonth: 1.95,
        source: PRICE_TABLE_SOURCE,
      });
      expect(resolved(parseConfigText(minimal(), "m.yaml")).timezone).toBe("UTC");
    });

    it("lets a model override the defaults block and the metric", () => {
      const text = minimal(
        "defaults:\n  cadence: 10m\n  leadTime: 0s",
        "    cadence: 90s\n    warmupTimeout: 1h\n    metric: {dimensionValue: a1b2c3d4e5f6}\n",
      );
      const [model] = resolved(parseConfigText(text, "m.yaml")).models;
      expect(model).toMatchObject({
        timing: {
          cadence: { mode: "fixed", ms: 90_000 },
          leadTime: { mode: "fixed", ms: 0 },
          evictionDelay: { mode: "auto" },
        },
        warmupTimeoutMs: 3_600_000,
        metric: {
          namespace: "AWS/Bedrock",
          metricName: "ModelCopy",
          dimensionValue: "a1b2c3d4e5f6",
        },
      });
    });

    it.each([
      ["", {}, "./.state"],
      ["", { stateDir: "/var/lib/keepwarm" }, "/var/lib/keepwarm"],
      ["daemon:\n  stateDir: /srv/kw", { stateDir: "/var/lib/keepwarm" }, "/var/lib/keepwarm"],
      ["daemon:\n  stateDir: /srv/kw", {}, "/srv/kw"],
    ])(
      "takes stateDir from the environment, else the YAML, else ./.state (%#)",
      (yaml, env, dir) => {
        expect(resolved(parseConfigText(minimal(yaml), "m.yaml", env)).daemon.stateDir).toBe(dir);
      },
    );

    it("prices a region the table lacks from pricing.regions", () => {
      const text = minimal(
        "pricing:\n  regions:\n    ap-south-1: {usdPerCmuMinute: 0.07, storageUsdPerCmuMonth: 2}",
      ).replace("us-east-1", "ap-south-1");
      expect(resolved(parseConfigText(text, "m.yaml")).models[0]?.price).toEqual({
        usdPerCmuMinute: 0.07,
        storageUsdPerCmuMonth: 2,
        source: "pricing.regions.ap-south-1",
      });
    });
  });

  describe("budgets", () => {
    it("resolves the fleet's and each model's monthly USD", () => {
      const config = resolved(
        parseConfigText(minimal("budgets:\n  fleet: 5000\n  models:\n    m: 3000.5\n"), "b.yaml"),
      );
      expect(config.budgets?.fleetUsd).toBe(5000);
      expect([...(config.budgets?.modelUsd ?? [])]).toEqual([["m", 3000.5]]);
    });

    it("has no budgets when the YAML sets none, and no fleet budget when only models have one", () => {
      expect(resolved(parseConfigText(minimal(), "b.yaml")).budgets).toBeUndefined();
      const config = resolved(
        parseConfigText(minimal("budgets:\n  models:\n    m: 10\n"), "b.yaml"),
      );
      expect(config.budgets?.fleetUsd).toBeUndefined();
      expect(config.budgets?.modelUsd.get("m")).toBe(10);
    });

    it("refuses a budget of a model that does not exist at its key's line:col", () => {
      const result = parseConfigText(minimal("budgets:\n  models:\n    n: 10\n"), "b.yaml");
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
        'b.yaml:3:5: budgets.models.n: unknown model "n"; defined: m',
      ]);
    });
  });

  describe("warnings", () => {
    it.each([
      [
        "a redefined always-on",
        minimal(
          'policies:\n  always-on:\n    windows: [{days: daily, from: "08:00", to: "20:00"}]',
        ),
        'm.yaml:3:5: policies.always-on: redefines the built-in "always-on" policy; its models follow these windows instead',
      ],
      [
        "a fixed cadence not shorter than a fixed evictionDelay",
        minimal("defaults:\n  cadence: 14m\n  evictionDelay: 10m"),
        "m.yaml:2:12: defaults.cadence: 14m is not shorter than evictionDelay 10m; m may cool between pings",
      ],
      [
        "two models with one ARN",
        `${minimal()}  - name: n\n    modelArn: ${ARN}\n    policy: off\n`,
        "m.yaml:7:15: models[1].modelArn: is also the ARN of models[0]; both entries will ping the same model",
      ],
    ])("warns about %s without failing", (_what, text, warning) => {
      const result = parseConfigText(text, "m.yaml");
      expect(result.ok).toBe(true);
      expect(result.ok && result.warnings.map(formatProblem)).toEqual([warning]);
    });
  });
});

describe("loadConfigFile", () => {
  it("loads the sample config/keepwarm.yaml without warnings", async () => {
    const result = await loadConfigFile(SAMPLE);
    expect(result.ok && result.warnings).toEqual([]);
    expect(resolved(result).models.map((m) => m.name)).toEqual(["mimo-vl", "batch-llama"]);
  });

  it("reports a missing file as a problem, not an exception", async () => {
    expect(await loadConfigFile("/nonexistent/keepwarm.yaml")).toEqual({
      ok: false,
      problems: [
        {
          file: "/nonexistent/keepwarm.yaml",
          line: 1,
          column: 1,
          path: "(file)",
          message: "cannot be read (ENOENT); allowed: a readable YAML file",
        },
      ],
    });
  });

  it("refuses a directory", async () => {
    const result = await loadConfigFile(fileURLToPath(new URL(".", import.meta.url)));
    expect(result.ok ? [] : result.problems.map((p) => p.message)).toEqual([
      "is not a regular file; allowed: a YAML file",
    ]);
  });
});
