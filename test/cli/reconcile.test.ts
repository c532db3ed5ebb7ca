import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { UsageError } from "../../src/cli/env.js";
import { ExitCode } from "../../src/cli/exitCodes.js";
import { reconcileCommand, reconcileRange } from "../../src/cli/reconcile.js";
import {
  type Account,
  account,
  blip,
  CONFIG_YAML,
  dec,
  LLAMA,
  MIN,
  OSS,
} from "../reconcile/account.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

function configFile(yaml: string = CONFIG_YAML): string {
  const file = join(mkdtempSync(join(tmpdir(), "kw-reconcile-")), "keepwarm.yaml");
  writeFileSync(file, yaml);
  return file;
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

describe("reconcileRange", () => {
  const now = Date.parse("2026-12-10T15:00:00Z");

  it("defaults to the last 7 days Cost Explorer has final: up to the day before yesterday", () => {
    expect(reconcileRange({ now })).toEqual({ from: "2026-12-02", to: "2026-12-09" });
    expect(reconcileRange({ now, to: "2026-12-05" })).toEqual({
      from: "2026-11-28",
      to: "2026-12-05",
    });
    expect(reconcileRange({ now, from: "2026-12-08" })).toEqual({
      from: "2026-12-08",
      to: "2026-12-09",
    });
  });

  it.each([
    [{ from: "2026-12-32" }, '--from "2026-12-32" is not a date'],
    [{ to: "12/01/2026" }, '--to "12/01/2026" is not a date'],
    [{ from: "2026-12-05", to: "2026-12-05" }, "--to 2026-12-05 must be after --from 2026-12-05"],
    [{ from: "2026-12-11", to: "2026-12-12" }, "--from 2026-12-11 is after today (2026-12-10)"],
  ])("refuses %j", (flags, message) => {
    expect(() => reconcileRange({ now, ...flags })).toThrow(UsageError);
    expect(() => reconcileRange({ now, ...flags })).toThrow(message);
  });
});

describe("keepwarm reconcile", () => {
  let current: Account | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });

  /** batch-llama called every hour (15-minute runs) from 1 to 6 December, an OSS import nobody configured; now 6 December 12:00. */
  async function billedAccount() {
    current = account([LLAMA, OSS], dec(0));
    const calls: [string, number][] = [];
    for (let t = dec(1); t < dec(6); t += 60 * MIN) calls.push(...blip(LLAMA, t));
    calls.push(...blip(OSS, dec(2, "10:00")));
    current.play(calls);
    return current;
  }

  it("prints a table of each day's usage types, keepwarm's and AWS's figures and their status; exit 0 when nothing mismatches", async () => {
    const a = await billedAccount();
    a.clock.set(dec(6, "12:00"));
    const clients = await a.serve();
    const { stdout, stderr, out } = output();
    const code = await reconcileCommand(
      { config: configFile(), from: "2026-12-01", to: "2026-12-06", now: a.clock.now() },
      out,
      clients,
    );
    expect({ code, stderr: stderr.filter((l) => l.includes("failed")) }).toEqual({
      code: ExitCode.ok,
      stderr: [],
    });
    expect(stdout[0]).toMatch(/^date\s+usage type\s+models\s+keepwarm\s+AWS\s+diff\s+status$/);
    const row = stdout.find((l) =>
      l.startsWith("2026-12-01  USE1-Llama-CustomModelImport-Inference-v1:0"),
    );
    // 24 runs of 15 minutes at 2 CMU: $41.17 each side.
    expect(row).toMatch(/batch-llama\s+\$41\.17\s+\$41\.17\s+0\.0%\s+match/);
    expect(
      stdout.find((l) => l.startsWith("2026-12-02  USE1-OSS-CustomModelImport-Inference-v2:0")),
    ).toMatch(/gptossgptos1 \(unmanaged\)|gpt-oss-120b-trial \(unmanaged\)/);
    expect(
      stdout.find((l) => l.startsWith("2026-12-05  USE1-Llama-CustomModelImport-Inference-v1:0")),
    ).toMatch(/pending \(estimated\)$/);
    expect(stdout).toContain(
      "this reconciliation: 1 Cost Explorer request(s) ($0.01), 2 GetMetricData metric(s) ($0.00)",
    );
  });

  it("prints JSON with --json and exits 3 when a day mismatches", async () => {
    const a = await billedAccount();
    a.sim.faults.add({ kind: "priceChange", usdPerCmuMinute: 0.07, from: dec(3), until: dec(4) });
    a.clock.set(dec(6, "12:00"));
    const clients = await a.serve();
    const { stdout, out } = output();
    const code = await reconcileCommand(
      {
        config: configFile(),
        from: "2026-12-02",
        to: "2026-12-05",
        json: true,
        now: a.clock.now(),
      },
      out,
      clients,
    );
    expect(code).toBe(ExitCode.mismatch);
    const json = JSON.parse(stdout.join("\n")) as {
      days: {
        date: string;
        groups: { usageType: string; status: string; diffPct: number; keepwarmUsd: number }[];
      }[];
      costExplorerRequests: number;
    };
    const inference = json.days.map((d) => {
      const g = d.groups.find((x) => x.usageType === "USE1-Llama-CustomModelImport-Inference-v1:0");
      return [d.date, g?.status, g?.diffPct, g?.keepwarmUsd];
    });
    expect(inference).toEqual([
      ["2026-12-02", "match", 0, 41.17],
      ["2026-12-03", "mismatch", 22.42, 41.17],
      ["2026-12-04", "match", 0, 41.17],
    ]);
    expect(json.costExplorerRequests).toBe(1);
  });

  it("names ce:GetCostAndUsage when Cost Explorer refuses, and exits 1", async () => {
    const a = await billedAccount();
    a.sim.faults.add({ kind: "accessDenied", operations: ["GetCostAndUsage"] });
    a.clock.set(dec(6, "12:00"));
    const clients = await a.serve();
    const { stdout, stderr, out } = output();
    const code = await reconcileCommand(
      { config: configFile(), from: "2026-12-01", to: "2026-12-03", now: a.clock.now() },
      out,
      clients,
    );
    expect(code).toBe(ExitCode.failure);
    expect(stdout).toEqual([]);
    expect(stderr.at(-1)).toMatch(
      /^keepwarm reconcile: ce:GetCostAndUsage was refused \(AccessDeniedException\): grant ce:GetCostAndUsage to the credentials keepwarm runs with/,
    );
  });

  it("exits 2 for a bad flag or config, naming it", async () => {
    const { stderr, out } = output();
    expect(await reconcileCommand({ config: undefined, now: dec(6) }, out)).toBe(ExitCode.badInput);
    expect(
      await reconcileCommand({ config: configFile(), from: "yesterday", now: dec(6) }, out),
    ).toBe(ExitCode.badInput);
    expect(
      await reconcileCommand({ config: configFile(), simConfig: "sim.yaml", now: dec(6) }, out),
    ).toBe(ExitCode.badInput);
    expect(stderr).toEqual([
      "keepwarm reconcile: no config file; pass --config FILE or set KEEPWARM_CONFIG",
      'keepwarm reconcile: --from "yesterday" is not a date; allowed: a UTC day yyyy-MM-dd, e.g. 2026-12-01',
      "keepwarm reconcile: --sim-config needs --simulate on",
    ]);
  });

  it("runs from the command line against the built-in simulator with --simulate on; a priceChange in --sim-config is a mismatch (exit 3)", () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-reconcile-sim-"));
    const config = join(dir, "keepwarm.yaml");
    writeFileSync(
      config,
      `models:\n  - name: always\n    modelArn: ${LLAMA}\n    policy: always-on\n    customModelUnits: 2\n    request: { prompt: ping, max_gen_len: 1 }\n`,
    );
    const simConfig = join(dir, "sim.yaml");
    writeFileSync(simConfig, "faults:\n  - { kind: priceChange, usdPerCmuMinute: 0.1 }\n");
    const cli = (...args: string[]) =>
      spawnSync(
        process.execPath,
        ["--import", "tsx", MAIN, "reconcile", "--config", config, ...args],
        {
          encoding: "utf8",
          timeout: 120_000,
          env: { ...process.env, KEEPWARM_SIMULATE: "" },
        },
      );
    const plain = cli("--simulate", "on", "--json");
    expect({ status: plain.status, stderr: plain.stderr }).toMatchObject({ status: 0 });
    const report = JSON.parse(plain.stdout) as { days: { groups: { status: string }[] }[] };
    expect(report.days).toHaveLength(7);
    expect(report.days.flatMap((d) => d.groups.map((g) => g.status))).toEqual(
      expect.arrayContaining(["match"]),
    );
    expect(new Set(report.days.flatMap((d) => d.groups.map((g) => g.status)))).toEqual(
      new Set(["match"]),
    );
    expect(plain.stderr).toContain("SIMULATED");
    const faulty = cli("--simulate", "on", "--sim-config", simConfig);
    expect(faulty.status).toBe(ExitCode.mismatch);
    expect(faulty.stdout).toMatch(/always\s+\$\S+\s+\$\S+\s+\+74\.9%\s+mismatch/);
  }, 180_000);
});
