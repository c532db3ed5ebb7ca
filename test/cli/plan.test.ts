import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { type PlanOptions, PlanUsageError, planCommand, planRange } from "../../src/cli/plan.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const issueExample = join(root, "test/fixtures/valid/issue-example.yaml");
const dir = mkdtempSync(join(tmpdir(), "keepwarm-plan-"));

function yamlFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const PRICING = "pricing:\n  usdPerCmuMinute: 0.05718\n  storageUsdPerCmuMonth: 1.95\n";
const alwaysOn = yamlFile(
  "always-on.yaml",
  `${PRICING}models:
  - name: mimo-vl
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel
    policy: always-on
    customModelUnits: 4
`,
);
const unknownCmu = yamlFile(
  "unknown-cmu.yaml",
  `${PRICING}timezone: Asia/Shanghai
models:
  - name: mimo-vl
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel
    policy: business-hours
`,
);

/** Always-on (4 CMU, $10,217.86 in December 2026) and business hours in UTC (4 CMU). */
const budgeted = (budgets: string) =>
  yamlFile(
    "budgets.yaml",
    `${PRICING}models:
  - name: mimo-vl
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel
    policy: always-on
    customModelUnits: 4
  - name: office
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/a1b2c3d4e5f6
    policy: business-hours
    customModelUnits: 4
  - name: unsized
    modelArn: arn:aws:bedrock:us-west-2:123456789012:imported-model/b2b2b2b2b2b2
    policy: business-hours
budgets:
${budgets}`,
  );
const DECEMBER = { from: "2026-12-01T00:00Z", to: "2027-01-01T00:00Z" };

async function plan(opts: Partial<PlanOptions>) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await planCommand(
    { config: issueExample, now: Date.parse("2026-11-25T12:00:00Z"), stateDir: dir, ...opts },
    { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) },
  );
  return { code, stdout: stdout.join("\n"), stderr: stderr.join("\n") };
}

describe("planCommand", () => {
  describe("--json", () => {
    it("prints the issue example's Monday 2026-12-07 in each policy's zone", async () => {
      const r = await plan({
        from: "2026-12-07T00:00+08:00",
        to: "2026-12-08T00:00+08:00",
        json: true,
      });
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      const mimo = out.models[0];
      expect(mimo).toMatchObject({
        name: "mimo-vl",
        policy: "business-hours",
        timezone: "Asia/Shanghai",
      });
      expect(mimo.windows).toEqual([
        { start: "2026-12-07T09:00:00+08:00", end: "2026-12-07T18:00:00+08:00" },
      ]);
      expect(mimo.pings[0]).toBe("2026-12-07T08:55:00+08:00");
      // cadence 14m and lead 5m as configured; eviction auto, assumed 5m before anything is
      // measured: the closing ping at 17:57 leaves the model warm to 18:02.
      expect(mimo.pings.at(-1)).toBe("2026-12-07T17:57:00+08:00");
      expect(mimo.pings).toHaveLength(40);
      expect(mimo.timings).toEqual({
        cadence: { seconds: 840, source: "configured" },
        leadTime: { seconds: 300, source: "configured" },
        evictionDelay: { seconds: 300, source: "assumed" },
        restore: { seconds: 300, source: "assumed" },
      });
      // Billed from the first success, 09:00 (a 5-minute restore after 08:55), to 18:02.
      expect(mimo.months).toEqual([
        {
          month: "2026-12",
          warmMinutes: 542,
          billedMinutes: 545,
          computeUsd: 124.65,
          storageUsd: 7.8,
          totalUsd: 132.45,
          alwaysOnUsd: 337.16,
          budget: null,
        },
      ]);
      const batch = out.models[1];
      expect(batch.timezone).toBe("America/Los_Angeles");
      expect(batch.pings[0]).toBe("2026-12-06T21:55:00-08:00");
    });

    it("totals always-on 4 CMU in December 2026 at $10,217.86", async () => {
      const r = await plan({
        config: alwaysOn,
        from: "2026-12-01T00:00Z",
        to: "2027-01-01T00:00Z",
        json: true,
      });
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout);
      expect(out.models[0].months).toEqual([
        {
          month: "2026-12",
          warmMinutes: 44_640,
          billedMinutes: 44_640,
          computeUsd: 10_210.06,
          storageUsd: 7.8,
          totalUsd: 10_217.86,
          alwaysOnUsd: 10_217.86,
          budget: null,
        },
      ]);
      expect(out.totalUsd).toBe(10_217.86);
    });

    it("gives null money for a model without customModelUnits", async () => {
      const r = await plan({
        config: unknownCmu,
        from: "2026-12-01T00:00Z",
        to: "2027-01-01T00:00Z",
        json: true,
      });
      const month = JSON.parse(r.stdout).models[0].months[0];
      // All timings auto and nothing learned: lead 6m, closing ping 17:57, warm 08:59-18:02.
      expect(month).toMatchObject({ billedMinutes: 23 * 545, computeUsd: null, totalUsd: null });
    });
  });

  describe("tables", () => {
    it("shows the model, its pings and the month's money with the saving", async () => {
      const r = await plan({
        config: alwaysOn,
        from: "2026-12-01T00:00Z",
        to: "2027-01-01T00:00Z",
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(
        /mimo-vl\s+2026-12\s+44,640\s+44,640\s+\$10,210\.06\s+\$7\.80\s+\$10,217\.86\s+\$10,217\.86\s+\$0\.00/,
      );
      expect(r.stdout).toMatch(/Grand total\s+\$10,217\.86/);
      // cadence auto, before anything is measured: every 4 minutes, safe under a 5-minute eviction.
      expect(r.stdout).toMatch(/pings\s+11,160/);
      expect(r.stdout).toMatch(
        /timings\s+cadence 4m \(assumed\), lead 6m \(assumed\), eviction 5m \(assumed\), restore 5m \(assumed\)/,
      );
    });

    it("prints minutes and 'unknown' money when the CMU is not in the config", async () => {
      const r = await plan({
        config: unknownCmu,
        from: "2026-12-01T00:00Z",
        to: "2027-01-01T00:00Z",
      });
      expect(r.stdout).toMatch(/mimo-vl\s+2026-12\s+12,489\s+12,535\s+unknown\s+unknown/);
      expect(r.stdout).toContain("No customModelUnits in the config for mimo-vl");
    });

    it("covers every UTC month the range touches", async () => {
      const r = await plan({ from: "2026-11-30T00:00Z", to: "2027-01-02T00:00Z" });
      expect(r.stdout.match(/^ mimo-vl .*$/gm)?.map((l) => l.split(/\s+/)[2])).toEqual([
        "2026-11",
        "2026-12",
        "2027-01",
      ]);
    });
  });

  describe("bad input", () => {
    it.each([
      [{ from: "2026-12-01T00:00" }, /--from "2026-12-01T00:00" has no UTC offset/],
      [{ from: "2026-12-01" }, /--from "2026-12-01" has no UTC offset/],
      [{ to: "tomorrow" }, /--to "tomorrow" is not an ISO 8601 date-time/],
      [{ from: "2026-02-30T00:00Z" }, /--from "2026-02-30T00:00Z" is not a real date-time/],
      [{ from: "2026-12-02T00:00Z", to: "2026-12-01T00:00Z" }, /--to must be later than --from/],
      [{ config: undefined }, /no config file/],
      [{ config: join(dir, "missing.yaml") }, /missing\.yaml: no such file/],
    ])("exits 2 for %o", async (opts, message) => {
      const r = await plan(opts);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    });
  });
});

describe("planRange", () => {
  it("defaults to now until the end of its UTC month", () => {
    const now = Date.parse("2026-11-25T12:34:00Z");
    expect(planRange({ now })).toEqual({ start: now, end: Date.parse("2026-12-01T00:00:00Z") });
  });
  it("throws PlanUsageError naming the flag", () => {
    expect(() => planRange({ now: 0, to: "2026-12-01T00:00" })).toThrow(PlanUsageError);
  });
  it.each(["2026-12-01T00:00+80:00", "2026-12-01T00:00+08:60", "2026-12-01T00:00-1500"])(
    "refuses the offset of %s, which no zone has",
    (from) => {
      expect(() => planRange({ now: 0, from })).toThrow(/--from .*offset/);
    },
  );
});

describe("keepwarm plan (the built CLI entry point)", () => {
  const run = (...args: string[]) =>
    spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "src/cli/main.ts"), "plan", ...args],
      {
        cwd: root,
        encoding: "utf8",
      },
    );

  it("prints JSON and exits 0", () => {
    const r = run(
      "--config",
      alwaysOn,
      "--from",
      "2026-12-01T00:00Z",
      "--to",
      "2027-01-01T00:00Z",
      "--json",
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).models[0].months[0].totalUsd).toBe(10_217.86);
  });

  it("exits 2 for a time without an offset", () => {
    const r = run("--config", alwaysOn, "--from", "2026-12-01T00:00");
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--from");
  });
});

describe("planCommand with learned timings", () => {
  const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
  const at = Date.parse("2026-11-24T10:00:00Z");

  function stateWith(models: Record<string, unknown>): string {
    const state = mkdtempSync(join(tmpdir(), "keepwarm-plan-state-"));
    writeFileSync(
      join(state, "timings.json"),
      JSON.stringify({ format: "keepwarm-learned-timings/1", models }),
    );
    return state;
  }

  it("plans with what the daemon learned and says where each timing comes from", async () => {
    const stateDir = stateWith({
      "mimo-vl": {
        modelArn: ARN,
        evictions: [{ at, lastCallAt: at - 50 * 60_000, ms: 50 * 60_000, bound: "measured" }],
        restores: [{ at, ms: 100_000 }],
      },
    });
    const r = await plan({ config: unknownCmu, stateDir, ...DECEMBER, json: true });
    expect(r.stderr).toContain(
      `learned timings from ${join(stateDir, "timings.json")} (1 model(s))`,
    );
    const [model] = JSON.parse(r.stdout).models;
    expect(model.timings).toEqual({
      cadence: { seconds: 840, source: "learned" },
      leadTime: { seconds: 140, source: "learned" },
      evictionDelay: { seconds: 3000, source: "learned" },
      restore: { seconds: 100, source: "learned" },
    });
    // The closing ping 48 minutes (50m eviction less the margin) before 18:00 Shanghai.
    expect(model.pings.filter((p: string) => p.startsWith("2026-12-07"))).toContain(
      "2026-12-07T17:12:00+08:00",
    );
  });

  it("ignores what was learned on another ARN", async () => {
    const stateDir = stateWith({
      "mimo-vl": {
        modelArn: "arn:aws:bedrock:us-west-2:123456789012:imported-model/a1b2c3d4e5f6",
        evictions: [],
        restores: [{ at, ms: 100_000 }],
      },
    });
    const r = await plan({ config: unknownCmu, stateDir, ...DECEMBER, json: true });
    expect(JSON.parse(r.stdout).models[0].timings.restore.source).toBe("assumed");
  });

  it("says so on stderr and plans with the assumed timings when the file cannot be used", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "keepwarm-plan-state-"));
    writeFileSync(join(stateDir, "timings.json"), "{ torn");
    const r = await plan({ config: unknownCmu, stateDir, ...DECEMBER });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/no learned timings read from .*timings\.json \(.*is not JSON\)/);
    expect(r.stdout).toContain("eviction 5m (assumed)");
    const empty = await plan({ config: unknownCmu, stateDir: join(stateDir, "none"), ...DECEMBER });
    expect(empty.stderr).toContain("(nothing learned there yet)");
  });
});

describe("planCommand's state directory", () => {
  it("reads /var/lib/keepwarm, the systemd and container default, before ./.state and says so", async () => {
    const service = mkdtempSync(join(tmpdir(), "keepwarm-plan-service-"));
    writeFileSync(
      join(service, "timings.json"),
      JSON.stringify({
        format: "keepwarm-learned-timings/1",
        models: {
          "mimo-vl": {
            modelArn: "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel",
            evictions: [],
            restores: [{ at: Date.parse("2026-11-24T10:00:00Z"), ms: 100_000 }],
          },
        },
      }),
    );
    const r = await plan({
      config: unknownCmu,
      stateDir: undefined,
      serviceStateDir: service,
      ...DECEMBER,
      json: true,
    });
    expect(r.stderr).toContain(
      `keepwarm plan: state directory ${service} (the systemd and container default; no --state-dir`,
    );
    expect(JSON.parse(r.stdout).models[0].timings.restore.source).toBe("learned");
  });

  it("takes KEEPWARM_STATE_DIR before the config's", async () => {
    const r = await plan({
      config: unknownCmu,
      stateDir: undefined,
      envStateDir: dir,
      ...DECEMBER,
    });
    expect(r.stderr).toContain(
      `keepwarm plan: state directory ${dir} (from KEEPWARM_STATE_DIR or STATE_DIRECTORY)`,
    );
  });
});

describe("planCommand with budgets", () => {
  const config = budgeted(
    "  fleet: 12000\n  models:\n    mimo-vl: 10000\n    office: 3000\n    unsized: 100\n",
  );

  it("marks a month over budget and one within 80-100%, per model and for the fleet", async () => {
    const r = await plan({ config, ...DECEMBER });
    expect(r.code).toBe(0);
    const row = (name: string) =>
      r.stdout
        .split("\n")
        .find((l) => l.startsWith(` ${name} `))
        ?.split(/ {2,}/)
        .at(-1);
    // $10,217.86 of $10,000; 23 weekdays x 545 billed minutes (08:59 to 18:02 with the
    // assumed timings) x 4 x $0.05718 + $7.80 = $2,874.81 of $3,000; the fleet's $13,092.67 of
    // $12,000 (unsized is left out: its CMU is unknown).
    expect(row("mimo-vl")).toBe("102% OVER");
    expect(row("office")).toBe("95% near");
    expect(row("unsized")).toBe("unknown");
    expect(row("Month total")).toBe("109% OVER");
    expect(r.stdout).toMatch(/Month total\s+2026-12\s+\$13,092\.67/);
    expect(r.stdout).toContain("near from 80%, OVER from 100%");
  });

  it("gives each month's budget, ratio and level in --json", async () => {
    const r = await plan({ config, ...DECEMBER, json: true });
    const out = JSON.parse(r.stdout);
    expect(out.models.map((m: { months: { budget: unknown }[] }) => m.months[0]?.budget)).toEqual([
      { budgetUsd: 10_000, ratio: 1.022, level: "over" },
      { budgetUsd: 3_000, ratio: 0.958, level: "near" },
      { budgetUsd: 100, ratio: null, level: null },
    ]);
    expect(out.months[0].fleetBudget).toEqual({ budgetUsd: 12_000, ratio: 1.091, level: "over" });
  });

  it("leaves a model under 80% unmarked and the fleet without a budget blank", async () => {
    const r = await plan({
      config: budgeted("  models:\n    office: 5000\n"),
      ...DECEMBER,
      json: true,
    });
    const out = JSON.parse(r.stdout);
    expect(out.models[1].months[0].budget).toEqual({
      budgetUsd: 5_000,
      ratio: 0.575,
      level: "within",
    });
    expect(out.models[0].months[0].budget).toBeNull();
    expect(out.months[0].fleetBudget).toBeNull();
    const text = await plan({ config: budgeted("  models:\n    office: 5000\n"), ...DECEMBER });
    expect(text.stdout).toMatch(/ office\s+2026-12 .*\$2,874\.81 .*\s57%$/m);
    expect(text.stdout).toMatch(/ mimo-vl\s+2026-12 .*\$0\.00$/m);
  });

  it("prints no budget column when the config sets no budget", async () => {
    const r = await plan({ config: alwaysOn, ...DECEMBER });
    expect(r.stdout).not.toContain("Budget");
  });
});
