import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { validateConfig } from "../../src/cli/validate.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const INVALID = fileURLToPath(new URL("../fixtures/invalid/", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI entry point in a child process, as an operator would. */
function keepwarm(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  return new Promise<Run>((resolve) => {
    execFile(
      process.execPath,
      ["--import", "tsx", MAIN, ...args],
      {
        cwd: opts.cwd ?? ROOT,
        env: { ...process.env, KEEPWARM_CONFIG: "", ...opts.env },
      },
      (err, stdout, stderr) => {
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("keepwarm validate", () => {
  it("exits 0 with a one-line summary for the sample config, warnings on stderr", async () => {
    const run = await keepwarm(["validate", "--config", "config/keepwarm.yaml"]);
    expect(run).toEqual({
      code: 0,
      stdout:
        "config/keepwarm.yaml: valid; 2 models: mimo-vl (business-hours), batch-llama (night-batch); 4 policies, 1 override, zone Asia/Shanghai\n",
      stderr:
        'config/keepwarm.yaml:39:12: overrides[0].until: warning: is "2026-12-03T00:00", already past; the override no longer applies and can be removed\n',
    });
  });

  it("says a missing file is missing in plain words, with exit 2", async () => {
    const run = await keepwarm(["validate", "--config", "nope.yaml"], { cwd: INVALID });
    expect(run).toEqual({ code: 2, stdout: "", stderr: "nope.yaml: no such file\n" });
  });

  it("exits 2 with every problem on stderr, one a line", async () => {
    const run = await keepwarm(["validate", "--config", "windows-and-durations.yaml"], {
      cwd: INVALID,
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(readFileSync(`${INVALID}windows-and-durations.expected`, "utf8"));
  });

  it("reads the file from KEEPWARM_CONFIG when --config is absent", async () => {
    const run = await keepwarm(["validate"], {
      cwd: INVALID,
      env: { KEEPWARM_CONFIG: "unknown-policy.yaml" },
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(readFileSync(`${INVALID}unknown-policy.expected`, "utf8"));
  });

  it("exits 2 when no config file is named", async () => {
    const run = await keepwarm(["validate"]);
    expect(run).toEqual({
      code: 2,
      stdout: "",
      stderr: "keepwarm validate: no config file; pass --config FILE or set KEEPWARM_CONFIG\n",
    });
  });
});

describe("validateConfig", () => {
  it("prints warnings on stderr and still succeeds", async () => {
    const dir = await mkdtemp(join(tmpdir(), "keepwarm-validate-"));
    const file = join(dir, "warn.yaml");
    await writeFile(
      file,
      "defaults:\n  cadence: 14m\n  evictionDelay: 5m\nmodels:\n  - name: m\n    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6\n    policy: off\n",
    );
    const out: string[] = [];
    const err: string[] = [];
    const code = await validateConfig(
      { config: file },
      { stdout: (l) => out.push(l), stderr: (l) => err.push(l) },
    );
    await rm(dir, { recursive: true });
    expect(code).toBe(0);
    expect(err).toEqual([
      `${file}:2:12: defaults.cadence: warning: 14m is not shorter than evictionDelay 5m; m may cool between pings`,
    ]);
    expect(out).toEqual([`${file}: valid; 1 model: m (off); 3 policies, 0 overrides, zone UTC`]);
  });
});
