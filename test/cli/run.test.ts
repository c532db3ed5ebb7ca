import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readEnv } from "../../src/cli/env.js";
import { demoOffset, runDaemon } from "../../src/cli/run.js";
import { loadConfigFile } from "../../src/config/load.js";

const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));

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
