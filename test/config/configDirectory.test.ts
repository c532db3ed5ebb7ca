import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatProblem, type LoadResult, loadConfigFile } from "../../src/config/load.js";
import { MAX_YAML_BYTES } from "../../src/config/yamlSchema.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { createLogger } from "../../src/runtime/infra/logger.js";
import { watchConfig } from "../../src/runtime/infra/reload.js";

const ARN = (id: string) => `arn:aws:bedrock:us-east-1:123456789012:imported-model/${id}`;
const NOW = { now: Date.parse("2026-11-25T00:00:00Z") };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "keepwarm-confd-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(entries: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(entries)) await writeFile(join(dir, name), text);
}

function problems(result: LoadResult): string[] {
  return result.ok ? [] : result.problems.map((p) => formatProblem(p).replace(`${dir}/`, ""));
}

function resolved(result: LoadResult): ResolvedConfig {
  if (!result.ok) throw new Error(problems(result).join("\n"));
  return result.config;
}

const BASE = `timezone: Asia/Shanghai
defaults:
  cadence: 14m
policies:
  cn-office:
    extends: business-hours
    holidays: [2027-02-16..2027-02-18]
`;
const TEAM_A = `models:
  - name: a1
    modelArn: ${ARN("a00000000001")}
    policy: cn-office
  - name: a2
    modelArn: ${ARN("a00000000002")}
    policy: always-on
`;
const TEAM_B = `policies:
  nights:
    windows: [{days: daily, from: "22:00", to: "02:00"}]
overrides:
  - {models: [a1, b1], policy: off, from: 2026-12-24T00:00, until: 2026-12-27T00:00}
models:
  - name: b1
    modelArn: ${ARN("b00000000001")}
    policy: nights
`;

describe("loadConfigFile with a directory", () => {
  it("reads every *.yaml in name order as one config: lists joined, policies joined by name", async () => {
    await files({ "20-team-b.yaml": TEAM_B, "00-base.yaml": BASE, "10-team-a.yaml": TEAM_A });
    const config = resolved(await loadConfigFile(dir, NOW));
    expect(config.timezone).toBe("Asia/Shanghai");
    expect(config.models.map((m) => m.name)).toEqual(["a1", "a2", "b1"]);
    expect(config.models[0]?.timing.cadence).toEqual({ mode: "fixed", ms: 14 * 60_000 });
    expect([...config.policies.keys()]).toEqual([
      "always-on",
      "business-hours",
      "off",
      "cn-office",
      "nights",
    ]);
    expect(config.overrides.map((o) => o.models)).toEqual([["a1", "b1"]]);
  });

  it("skips hidden entries, other extensions and directories", async () => {
    await files({
      "00-base.yaml": BASE,
      "10-team-a.yaml": TEAM_A,
      ".10-team-a.yaml.swp": "not: [yaml",
      ".draft.yaml": "not: [yaml",
      "README.md": "# conf.d",
      "old.yml": "timezone: UTC\n",
    });
    await mkdir(join(dir, "..data"));
    await writeFile(join(dir, "..data", "keepwarm.yaml"), "timezone: UTC\n");
    expect(resolved(await loadConfigFile(dir, NOW)).models.map((m) => m.name)).toEqual([
      "a1",
      "a2",
    ]);
  });

  it("places each problem in its file, at the path as written there", async () => {
    await files({
      "00-base.yaml": BASE.replace("cadence: 14m", "cadence: 15m"),
      "10-team-a.yaml": TEAM_A,
      "20-team-b.yaml": TEAM_B.replace("policy: nights", "policy: night"),
    });
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      '00-base.yaml:3:12: defaults.cadence: is "15m"; allowed: auto, or more than 0s and less than 15m',
      '20-team-b.yaml:9:13: models[0].policy: unknown policy "night"; did you mean "nights"? defined: always-on, business-hours, off, cn-office, nights',
    ]);
  });

  it("refuses a model name or an ARN used in two files, naming both places", async () => {
    await files({
      "00-base.yaml": BASE,
      "10-team-a.yaml": TEAM_A,
      "20-team-b.yaml": `models:\n  - name: a2\n    modelArn: ${ARN("a00000000001")}\n    policy: off\n`,
    });
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      `20-team-b.yaml:2:11: models[0].name: "a2" is already the name of the model at ${dir}/10-team-a.yaml:5:11; allowed: a name no other model has`,
      `20-team-b.yaml:3:15: models[0].modelArn: is also the ARN of "a1" at ${dir}/10-team-a.yaml:3:15; "a2" and "a1" would ping one model and count its spend twice; allowed: each ARN under one model name`,
    ]);
  });

  it("refuses a top-level key or a policy set in two files, naming both", async () => {
    await files({
      "00-base.yaml": BASE,
      "10-team-a.yaml": `timezone: UTC\npolicies:\n  cn-office:\n    windows: [{days: daily, from: "09:00", to: "17:00"}]\n${TEAM_A}`,
    });
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      `10-team-a.yaml:1:1: timezone: is also set at ${dir}/00-base.yaml:1:1; allowed: each top-level key in one file; only models, overrides and policies may be split across files`,
      `10-team-a.yaml:3:3: policies.cn-office: is also set at ${dir}/00-base.yaml:5:3; allowed: each of the policies in one file`,
    ]);
  });

  it("reports only the syntax problems when a file does not parse, from every file", async () => {
    await files({
      "00-base.yaml": BASE.replace("timezone: Asia/Shanghai", " timezone: Asia/Shanghai"),
      "10-team-a.yaml": TEAM_A,
      "20-team-b.yaml": "models: [\n",
    });
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      "00-base.yaml:2:1: (file): YAML syntax error: Unexpected scalar at node end; the file must be valid YAML 1.2",
      "20-team-b.yaml:2:1: (file): YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]; the file must be valid YAML 1.2",
    ]);
  });

  it("says so when there is no *.yaml file in it", async () => {
    await files({ "keepwarm.yml": BASE });
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      `${dir}: has no *.yaml files; allowed: a directory with one or more`,
    ]);
  });

  it("holds the files together to the size limit of one file", async () => {
    const half = `# ${"x".repeat(MAX_YAML_BYTES / 2)}\n`;
    await files({ "00-base.yaml": `${BASE}${half}`, "10-team-a.yaml": `${TEAM_A}${half}` });
    const total = Buffer.byteLength(`${BASE}${half}${TEAM_A}${half}`);
    expect(total).toBeGreaterThan(MAX_YAML_BYTES);
    expect(problems(await loadConfigFile(dir, NOW))).toEqual([
      `${dir}: its 2 *.yaml files are ${total.toLocaleString("en-US")} bytes together; at most 4,194,304 bytes (4 MiB) allowed`,
    ]);
  });

  describe("watched by the daemon", () => {
    const applied: ResolvedConfig[] = [];
    const watch = (pollMs: number) =>
      watchConfig({
        path: dir,
        load: (path) => loadConfigFile(path, NOW),
        apply: async (config) => {
          applied.push(config);
        },
        logger: createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) }),
        sighup: false,
        debounceMs: 10,
        pollMs,
      });
    const names = () => applied.at(-1)?.models.map((m) => m.name);

    it("is reloaded on SIGHUP", async () => {
      await files({ "00-base.yaml": BASE, "10-team-a.yaml": TEAM_A });
      const watcher = await watch(60_000);
      try {
        await files({ "20-team-b.yaml": TEAM_B });
        expect(await watcher.reload("SIGHUP")).toBe("applied");
        expect(names()).toEqual(["a1", "a2", "b1"]);
      } finally {
        await watcher.close();
      }
    });

    it("notices a file added, by the directory's change of time", async () => {
      await files({ "00-base.yaml": BASE, "10-team-a.yaml": TEAM_A });
      const watcher = await watch(20);
      try {
        await files({ "20-team-b.yaml": TEAM_B });
        await expect.poll(names, { timeout: 3000, interval: 20 }).toEqual(["a1", "a2", "b1"]);
      } finally {
        await watcher.close();
      }
    });
  });
});
