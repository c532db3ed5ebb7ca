import { readFileSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
        cmuVersion: undefined,
        prices: {
          "v1.0": { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95, source: "pricing" },
        },
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
        coldCallMetric: "InvocationThrottles",
        reconcile: { enabled: true },
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
      expect(model?.prices["v1.0"]).toEqual({
        usdPerCmuMinute: 0.05718,
        storageUsdPerCmuMonth: 1.95,
        source: PRICE_TABLE_SOURCE,
      });
      expect(model?.prices["v2.0"]?.usdPerCmuMinute).toBe(0.1433);
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
      expect(resolved(parseConfigText(text, "m.yaml")).models[0]?.prices["v1.0"]).toEqual({
        usdPerCmuMinute: 0.07,
        storageUsdPerCmuMonth: 2,
        source: "pricing.regions.ap-south-1",
      });
    });
  });

  describe("CMU versions", () => {
    it("keeps a configured customModelUnitsVersion and prices every version of the region", () => {
      const text = minimal("", "    customModelUnits: 8\n    customModelUnitsVersion: v2.0\n");
      const [model] = resolved(parseConfigText(text, "m.yaml")).models;
      expect(model?.cmuVersion).toBe("v2.0");
      expect(Object.keys(model?.prices ?? {})).toEqual(["v1.0", "v2.0"]);
      expect(model?.prices["v2.0"]?.usdPerCmuMinute).toBe(0.1433);
    });

    it("prices a version the table lacks from pricing.regions.<region>.versions", () => {
      const text = minimal(
        "pricing:\n  regions:\n    us-east-1:\n      versions:\n        v3.0: {usdPerCmuMinute: 0.2, storageUsdPerCmuMonth: 2.5}",
        "    customModelUnits: 8\n    customModelUnitsVersion: v3.0\n",
      );
      expect(resolved(parseConfigText(text, "m.yaml")).models[0]?.prices["v3.0"]).toEqual({
        usdPerCmuMinute: 0.2,
        storageUsdPerCmuMonth: 2.5,
        source: "pricing.regions.us-east-1.versions.v3.0",
      });
    });

    it.each([
      [
        "a version without a price, at its line",
        minimal("", "    customModelUnits: 8\n    customModelUnitsVersion: v3.0\n"),
        "m.yaml:7:30: models[0].customModelUnitsVersion: no known price for region us-east-1, CMU version v3.0; set pricing.regions.us-east-1.versions.v3.0.usdPerCmuMinute and pricing.regions.us-east-1.versions.v3.0.storageUsdPerCmuMonth",
      ],
      [
        "a version priced in another region only",
        minimal("", "    customModelUnits: 8\n    customModelUnitsVersion: v2.0\n").replace(
          "us-east-1",
          "us-west-2",
        ),
        "m.yaml:7:30: models[0].customModelUnitsVersion: no known price for region us-west-2, CMU version v2.0; set pricing.regions.us-west-2.versions.v2.0.usdPerCmuMinute and pricing.regions.us-west-2.versions.v2.0.storageUsdPerCmuMonth",
      ],
      [
        "a version without customModelUnits",
        minimal("", "    customModelUnitsVersion: v2.0\n"),
        "m.yaml:6:30: models[0].customModelUnitsVersion: is set without customModelUnits; allowed: next to customModelUnits (both from the config), or neither (both read from GetImportedModel)",
      ],
      [
        "a malformed version",
        minimal("", "    customModelUnits: 8\n    customModelUnitsVersion: '2.0'\n"),
        'm.yaml:7:30: models[0].customModelUnitsVersion: is "2.0"; allowed: a CMU version such as v1.0 or v2.0',
      ],
    ])("refuses %s", (_what, text, problem) => {
      const result = parseConfigText(text, "m.yaml");
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([problem]);
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
        "a price for a region no model runs in, with the region likely meant",
        minimal("pricing:\n  regions:\n    us-east-2:\n      usdPerCmuMinute: 0.06"),
        'm.yaml:3:5: pricing.regions.us-east-2: no model runs in us-east-2, so this price is unused; did you mean "us-east-1"? the models run in us-east-1',
      ],
      [
        "a window whose to equals its from",
        minimal(
          'policies:\n  p:\n    windows:\n      - {days: daily, from: "08:00", to: "20:00"}\n      - {days: sat, from: "09:00", to: "09:00"}',
        ),
        'm.yaml:5:40: policies.p.windows[1].to: is "09:00", the same as from: the window lasts 24 hours, until 09:00 the next day',
      ],
    ])("warns about %s without failing", (_what, text, warning) => {
      const result = parseConfigText(text, "m.yaml");
      expect(result.ok).toBe(true);
      expect(result.ok && result.warnings.map(formatProblem)).toEqual([warning]);
    });

    describe("an override", () => {
      const text = minimal(
        "overrides:\n  - {models: [m], policy: off, from: 2026-12-01T00:00, until: 2026-12-03T00:00}",
      );

      it.each([
        ["ended before now: a warning", Date.parse("2026-12-07T14:00:00Z"), 1],
        ["ending exactly now: a warning", Date.parse("2026-12-03T00:00:00Z"), 1],
        ["still running: no warning", Date.parse("2026-12-02T23:59:00Z"), 0],
      ])("%s", (_what, now, count) => {
        const result = parseConfigText(text, "m.yaml", { now });
        expect(result.ok && result.warnings.map(formatProblem)).toEqual(
          count === 0
            ? []
            : [
                'm.yaml:2:63: overrides[0].until: is "2026-12-03T00:00", already past; the override no longer applies and can be removed',
              ],
        );
      });

      it("is not held against a time when none is given", () => {
        const result = parseConfigText(text, "m.yaml");
        expect(result.ok && result.warnings).toEqual([]);
      });
    });
  });

  describe("a policy that extends another", () => {
    const models = (policy: string) =>
      `models:\n  - {name: m, modelArn: "${ARN}", policy: ${policy}}\n`;

    it("takes the built-in business-hours and adds its holidays, with no windows restated", () => {
      const config = resolved(
        parseConfigText(
          `timezone: Asia/Shanghai\npolicies:\n  cn-office:\n    extends: business-hours\n    holidays: [2027-02-16..2027-02-18]\n${models("cn-office")}`,
          "e.yaml",
        ),
      );
      expect(config.policies.get("cn-office")).toEqual({
        ...config.policies.get("business-hours"),
        name: "cn-office",
        holidays: [{ first: "2027-02-16", last: "2027-02-18" }],
      });
      expect(config.policies.get("cn-office")?.timezone).toBe("Asia/Shanghai");
    });

    it("adds holidays to business-hours itself when the policy keeps the built-in's name", () => {
      const config = resolved(
        parseConfigText(
          `policies:\n  business-hours:\n    extends: business-hours\n    holidays: [2026-12-25]\n${models("business-hours")}`,
          "e.yaml",
        ),
      );
      expect(config.policies.get("business-hours")).toEqual({
        name: "business-hours",
        kind: "windows",
        timezone: "UTC",
        windows: [{ days: new Set([1, 2, 3, 4, 5]), fromMinute: 540, toMinute: 1080 }],
        holidays: [{ first: "2026-12-25", last: "2026-12-25" }],
      });
    });

    it("follows a chain, keeping the zone and holidays of the policies it extends unless it sets a zone", () => {
      const text = `policies:
  la-nights:
    timezone: America/Los_Angeles
    windows: [{days: daily, from: "22:00", to: "02:00"}]
    holidays: [2026-11-26]
  la-nights-xmas:
    extends: la-nights
    holidays: [2026-12-25]
  berlin-nights:
    extends: la-nights-xmas
    timezone: Europe/Berlin
${models("berlin-nights")}`;
      const policies = resolved(parseConfigText(text, "e.yaml")).policies;
      expect(policies.get("la-nights-xmas")).toMatchObject({
        timezone: "America/Los_Angeles",
        windows: policies.get("la-nights")?.windows,
        holidays: [
          { first: "2026-11-26", last: "2026-11-26" },
          { first: "2026-12-25", last: "2026-12-25" },
        ],
      });
      expect(policies.get("berlin-nights")).toMatchObject({
        timezone: "Europe/Berlin",
        windows: [{ fromMinute: 1320, toMinute: 120 }],
        holidays: policies.get("la-nights-xmas")?.holidays,
      });
    });
  });
});

describe("loadConfigFile", () => {
  it("loads the sample config/keepwarm.yaml without a warning while its override is ahead", async () => {
    const result = await loadConfigFile(SAMPLE, { now: Date.parse("2026-11-25T00:00:00Z") });
    expect(result.ok && result.warnings.map((w) => w.path)).toEqual([]);
    expect(resolved(result).models.map((m) => m.name)).toEqual(["mimo-vl", "batch-llama"]);
  });

  it("holds overrides against the wall clock when no time is given", async () => {
    const result = await loadConfigFile(SAMPLE);
    // The sample's override ended on 2026-12-03.
    expect(result.ok && result.warnings.map((w) => w.path)).toContain("overrides[0].until");
  });

  it("reports a missing file in plain words, not an exception or an errno", async () => {
    const result = await loadConfigFile("/nonexistent/keepwarm.yaml");
    expect(result).toEqual({
      ok: false,
      problems: [{ file: "/nonexistent/keepwarm.yaml", path: "(file)", message: "no such file" }],
    });
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
      "/nonexistent/keepwarm.yaml: no such file",
    ]);
  });

  it.each([
    [`${SAMPLE}/keepwarm.yaml`, "no such file (a part of the path is not a directory)"],
    ["/dev/null", "is not a file or a directory; allowed: a YAML file or a directory of them"],
  ])("says what is wrong with %s in plain words", async (path, message) => {
    const result = await loadConfigFile(path);
    expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([`${path}: ${message}`]);
  });

  it.skipIf(process.getuid?.() === 0)(
    "says a file it may not read is permission denied",
    async () => {
      const dir = await mkdtemp(join(tmpdir(), "keepwarm-load-"));
      const file = join(dir, "k.yaml");
      await writeFile(file, "models: []\n");
      await chmod(file, 0o000);
      const result = await loadConfigFile(file);
      await rm(dir, { recursive: true });
      expect(result.ok ? [] : result.problems.map(formatProblem)).toEqual([
        `${file}: permission denied`,
      ]);
    },
  );
});
