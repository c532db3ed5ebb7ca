import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { kubeletMount, kubeletUpdate } from "../runtime/infra/kubelet.js";
import { businessHoursYaml, MIMO_VL } from "./daemonHarness.js";

const main = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const yaml = (cadence: string) =>
  businessHoursYaml({ defaults: [`cadence: ${cadence}`], models: [MIMO_VL] });

type Line = Record<string, unknown>;

/** `keepwarm run` as a child process, its JSON lines collected as they come. */
function startKeepwarm(args: string[]): { proc: ChildProcess; lines: Line[] } {
  const proc = spawn(process.execPath, ["--import", "tsx", main, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, KEEPWARM_LOG_LEVEL: "info" },
  });
  const lines: Line[] = [];
  let buffered = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString("utf8");
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    for (const part of parts) if (part.startsWith("{")) lines.push(JSON.parse(part) as Line);
  });
  return { proc, lines };
}

async function until<T>(find: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function reloadSuccess(url: string): Promise<string | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /^keepwarm_config_reload_success (\d)/m.exec(text)?.[1];
}

describe("keepwarm run with its config on a Kubernetes ConfigMap volume", () => {
  let proc: ChildProcess | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc?.once("close", r));
      proc.kill("SIGTERM");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
    proc = undefined;
    dir = undefined;
  });

  it("rejects a broken update (success 0, config kept) and applies a good one", async () => {
    dir = await mkdtemp(join(tmpdir(), "kw-k8s-run-"));
    // ConfigMap keepwarm-config, key keepwarm.yaml, mounted as a directory at /etc/keepwarm.
    const mount = join(dir, "etc", "keepwarm");
    await mkdir(mount, { recursive: true });
    await kubeletMount(mount, "keepwarm.yaml", yaml("14m"));
    const run = startKeepwarm([
      "run",
      "--config",
      join(mount, "keepwarm.yaml"),
      "--simulate",
      "on",
      "--http-host",
      "127.0.0.1",
      "--http-port",
      "0",
      "--state-dir",
      join(dir, "state"),
    ]);
    proc = run.proc;
    const listening = await until(() => run.lines.find((l) => l.event === "http-listening"));
    const url = String(listening.url);
    // The gauge is set once the daemon has started with the first config.
    let first: string | undefined;
    for (let i = 0; i < 400 && first !== "1"; i++) {
      first = await reloadSuccess(url);
      if (first !== "1") await new Promise((r) => setTimeout(r, 25));
    }
    expect(first).toBe("1");

    const BROKEN = yaml("15m");
    await kubeletUpdate(mount, "keepwarm.yaml", BROKEN, "2026_12_01_10_05_00.000000001");
    const rejected = await until(() => run.lines.find((l) => l.event === "reload-rejected"));
    expect(rejected).toMatchObject({ trigger: "file-change" });
    expect(String((rejected.problems as string[])[0])).toContain("defaults.cadence");
    expect(await reloadSuccess(url)).toBe("0");
    expect(run.lines.filter((l) => l.event === "reload")).toEqual([]);

    await kubeletUpdate(mount, "keepwarm.yaml", yaml("5m"), "2026_12_01_10_10_00.000000002");
    const applied = await until(() => run.lines.find((l) => l.event === "reload"));
    expect(applied).toMatchObject({ changed: ["mimo-vl"] });
    expect(await reloadSuccess(url)).toBe("1");
    expect(run.lines.filter((l) => l.event === "reload-watch-error")).toEqual([]);
  }, 60_000);
});
