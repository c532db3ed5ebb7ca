import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readEnv } from "../../src/cli/env.js";
import { runDaemon } from "../../src/cli/run.js";
import { demoOffset } from "../../src/cli/runWiring.js";
import { loadConfigFile } from "../../src/config/load.js";
import type { ModelObservations } from "../../src/domain/timings.js";
import { realClock, type SimServer, Simulator } from "../../src/sim/index.js";

const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("demoOffset", () => {
  // The sample config, timings auto and nothing learned yet (lead 6m, cadence 4m): mimo-vl
  // 09:00-18:00 Mon-Fri Shanghai (pinged from 08:54), batch-llama 22:00-02:00 daily Los
  // Angeles (from 21:54), mimo-vl always-on 1-3 December 2026 (every 4 minutes from 23:54).
  it.each([
    ["Wednesday 20:30 Shanghai", "2026-11-25T20:30:00+08:00", "2026-11-26T08:53:50.000+08:00"],
    ["Thursday 08:00 Shanghai", "2026-11-26T08:00:00+08:00", "2026-11-26T08:53:50.000+08:00"],
    [
      "Friday 21:00 Shanghai: Los Angeles' night first",
      "2026-11-27T21:00:00+08:00",
      "2026-11-28T13:53:50.000+08:00",
    ],
    ["inside the always-on override", "2026-12-02T12:03:00+08:00", "2026-12-02T12:05:50.000+08:00"],
  ])("%s: the clock starts 10 s before the next planned ping", async (_label, now, expected) => {
    const loaded = await loadConfigFile(SAMPLE);
    if (!loaded.ok) throw new Error("sample config invalid");
    const t = Date.parse(now);
    const started = t + demoOffset(loaded.config, t);
    expect(DateTime.fromMillis(started, { zone: "Asia/Shanghai" }).toISO()).toBe(expected);
  });

  it("plans with the timings learned before, as the daemon will", async () => {
    const loaded = await loadConfigFile(SAMPLE);
    if (!loaded.ok) throw new Error("sample config invalid");
    const t = Date.parse("2026-11-25T20:30:00+08:00");
    // A 19 s restore measured by the demo the day before: lead 1m instead of the assumed 6m.
    const restored: ModelObservations = {
      evictions: [],
      restores: [{ at: t - 86_400_000, ms: 19_000 }],
    };
    const started = t + demoOffset(loaded.config, t, () => restored);
    const firstPing = DateTime.fromMillis(started + 10_000, { zone: "Asia/Shanghai" });
    expect(firstPing.toFormat("yyyy-MM-dd HH:mm")).toBe("2026-11-26 08:59");
  });
});

describe("runDaemon", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const stderrOf = async (opts: Parameters<typeof runDaemon>[0], env = readEnv({})) => {
    const written: string[] = [];
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    const code = await runDaemon(opts, env);
    vi.restoreAllMocks();
    return { code, stderr: written.join("") };
  };

  it("exits 2 without a config file", async () => {
    expect(await stderrOf({})).toEqual({
      code: 2,
      stderr: "keepwarm run: no config file; pass --config FILE or set KEEPWARM_CONFIG\n",
    });
  });

  it("exits 2 on a simulate mode it does not know", async () => {
    expect(await stderrOf({ config: SAMPLE, simulate: "sometimes" })).toEqual({
      code: 2,
      stderr:
        'keepwarm run: --simulate: "sometimes" is not a simulate mode; allowed: on, off, auto\n',
    });
  });

  it("exits 2 on a bad KEEPWARM_HTTP_PORT", async () => {
    const result = await stderrOf({ config: SAMPLE }, readEnv({ KEEPWARM_HTTP_PORT: "http" }));
    expect(result).toEqual({
      code: 2,
      stderr:
        'keepwarm run: KEEPWARM_HTTP_PORT: "http" is not a port; allowed: an integer 0..65535\n',
    });
  });

  it("exits 2 with every problem of an invalid config, before starting anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kw-run-"));
    const file = join(dir, "bad.yaml");
    writeFileSync(file, "timezone: Mars/Olympus\nmodels: []\n");
    const { code, stderr } = await stderrOf({ config: file, simulate: "on" });
    expect(code).toBe(2);
    expect(stderr).toMatch(
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1:\\d+: timezone: `),
    );
  });
});

describe("credentialsResolve", () => {
  const KEYS = [
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CREDENTIAL_EXPIRATION",
  ];
  const saved = new Map(KEYS.map((k) => [k, process.env[k]]));
  const dir = mkdtempSync(join(tmpdir(), "keepwarm-creds-"));
  afterEach(() => {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  function isolate(): void {
    for (const k of KEYS) delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, "credentials");
    process.env.AWS_CONFIG_FILE = join(dir, "config");
  }

  it("finds none when nothing is configured, so `auto` picks the simulator", async () => {
    isolate();
    const { credentialsResolve } = await import("../../src/cli/run.js");
    expect(await credentialsResolve()).toBe(false);
  });

  it("finds keys in the environment", async () => {
    isolate();
    process.env.AWS_ACCESS_KEY_ID = "AKIDEXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY = "example";
    const { credentialsResolve } = await import("../../src/cli/run.js");
    expect(await credentialsResolve()).toBe(true);
  });

  it("finds a profile in the shared credentials file", async () => {
    isolate();
    const file = join(dir, "credentials-with-profile");
    writeFileSync(file, "[default]\naws_access_key_id = AKIDFILE\naws_secret_access_key = x\n");
    process.env.AWS_SHARED_CREDENTIALS_FILE = file;
    const { credentialsResolve } = await import("../../src/cli/run.js");
    expect(await credentialsResolve()).toBe(true);
  });
});

/** `keepwarm run` in a child process with `env`, until it exits or logs `until`, then SIGTERM. */
function runChild(
  args: readonly string[],
  env: Record<string, string>,
  until?: string,
): Promise<{ code: number | null; stderr: string; lines: Record<string, unknown>[] }> {
  return new Promise((resolve, reject) => {
    const home = mkdtempSync(join(tmpdir(), "kw-home-"));
    const proc = spawn(process.execPath, ["--import", "tsx", MAIN, "run", ...args], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: home,
        AWS_CONFIG_FILE: join(home, "config"),
        AWS_SHARED_CREDENTIALS_FILE: join(home, "credentials"),
        AWS_EC2_METADATA_DISABLED: "true",
        KEEPWARM_HTTP_PORT: "0",
        KEEPWARM_STATE_DIR: home,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: Record<string, unknown>[] = [];
    let stderr = "";
    let rest = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.event === until) proc.kill("SIGTERM");
      }
    });
    proc.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const bound = setTimeout(() => proc.kill("SIGKILL"), 60_000);
    proc.on("error", reject);
    proc.on("close", (code) => {
      clearTimeout(bound);
      resolve({ code, stderr, lines });
    });
  });
}

describe("keepwarm run with AWS credentials, AWS_ENDPOINT_URL at a simulator", () => {
  const MIMO = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
  const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6";
  const sim = new Simulator({
    clock: realClock,
    models: [
      { modelArn: MIMO, customModelUnits: 4 },
      { modelArn: LLAMA, customModelUnits: 2 },
    ],
  });
  let server: SimServer;
  const credentials = () => ({
    AWS_ENDPOINT_URL: server.url,
    AWS_ACCESS_KEY_ID: "AKIAKEEPWARMTESTKEY1",
    AWS_SECRET_ACCESS_KEY: "not-checked",
  });
  beforeAll(async () => {
    server = await sim.listen();
  });
  afterAll(async () => {
    await server.close();
  });

  it("refuses the sample's placeholder models with exit 2 and invokes nothing (--simulate auto)", async () => {
    const run = await runChild(["--config", SAMPLE, "--simulate", "auto"], credentials());
    expect(run.code).toBe(2);
    expect(run.lines).toEqual([]);
    expect(run.stderr).toContain(
      "mimo-vl, batch-llama are in account 123456789012, the placeholder of the sample config, and this run is live (--simulate auto found AWS credentials)",
    );
    expect(run.stderr).toContain("keepwarm discover --region REGION");
    const window = { start: 0, end: Date.now() + 86_400_000 };
    expect(sim.invokeCount(MIMO, window) + sim.invokeCount(LLAMA, window)).toBe(0);
    // A call to a cold model would have started a restore.
    expect([sim.modelState(MIMO).state, sim.modelState(LLAMA).state]).toEqual(["cold", "cold"]);
  }, 70_000);

  it("refuses them without --simulate too, the default being live", async () => {
    const run = await runChild(["--config", SAMPLE], credentials());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("this run is live (no --simulate: off by default)");
  }, 70_000);

  it("logs one `mode` line first: live, the regions, the caller and where its credentials come from", async () => {
    const run = await runChild(
      ["--config", SAMPLE, "--simulate", "off", "--allow-example-account"],
      credentials(),
      "mode",
    );
    const modes = run.lines.filter((l) => l.event === "mode");
    expect(modes).toEqual([
      expect.objectContaining({
        level: "info",
        mode: "live",
        reason: "--simulate off",
        regions: ["us-west-2", "us-east-1"],
        account: "123456789012",
        callerArn: "arn:aws:iam::123456789012:user/keepwarm-simulator",
        credentialSource: "environment",
        endpoint: server.url,
      }),
    ]);
    expect(String(modes[0]?.msg)).toMatch(/^mode: LIVE \(--simulate off\): pings go to AWS at /);
  }, 70_000);
});
