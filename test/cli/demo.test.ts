import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { planCommand } from "../../src/cli/plan.js";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
/** The README promises the whole story within two minutes; a cold start and warm come first. */
const BOUND_MS = 80_000;

interface DemoRun {
  readonly events: string[];
  readonly lines: Record<string, unknown>[];
  readonly code: number | null;
}

/**
 * `npm start`'s run (`run --simulate`, as with no credentials) until `warm` or the bound,
 * then SIGTERM, which writes what it learned to the state directory.
 */
function demo(stateDir: string): Promise<DemoRun> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        MAIN,
        "run",
        "--config",
        SAMPLE,
        "--simulate",
        "on",
        "--http-port",
        "0",
        "--state-dir",
        stateDir,
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    const lines: Record<string, unknown>[] = [];
    let rest = "";
    const stop = () => proc.kill("SIGTERM");
    const bound = setTimeout(stop, BOUND_MS);
    proc.stdout?.on("data", (chunk: Buffer) => {
      const parts = (rest + chunk.toString("utf8")).split("\n");
      rest = parts.pop() ?? "";
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.event === "warm") stop();
      }
    });
    proc.on("error", reject);
    proc.on("close", (code) => {
      clearTimeout(bound);
      resolve({ code, lines, events: lines.map((l) => String(l.event)) });
    });
  });
}

describe("npm start's demo", () => {
  const stateDir = mkdtempSync(join(tmpdir(), "kw-demo-"));
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it(
    "shows a cold start and the model warm again on the second run in the same state directory",
    async () => {
      const first = await demo(stateDir);
      expect(first.events).toContain("cold-start");
      expect(first.events).toContain("warm");
      expect(first.code).toBe(0);
      expect(first.lines.filter((l) => l.event === "mode")).toEqual([
        expect.objectContaining({ mode: "simulated", reason: "--simulate on" }),
      ]);
      // The second run plans with the restore the first one measured, and so must its clock.
      const second = await demo(stateDir);
      expect(second.events).toContain("cold-start");
      expect(second.events).toContain("warm");
      const timings = second.lines.find((l) => l.event === "timings" && l.model === "mimo-vl");
      expect(timings).toMatchObject({ timings: { leadTime: { source: "learned" } } });
    },
    2 * BOUND_MS + 60_000,
  );

  it("keeps what it learned apart from the state a real run and `plan` read", async () => {
    expect(existsSync(join(stateDir, "simulated", "timings.json"))).toBe(true);
    expect(existsSync(join(stateDir, "timings.json"))).toBe(false);
    const stderr: string[] = [];
    const code = await planCommand(
      { config: SAMPLE, stateDir, now: Date.parse("2026-12-07T00:00:00Z") },
      { stdout: () => {}, stderr: (l) => stderr.push(l) },
    );
    expect(code).toBe(0);
    expect(stderr.join("\n")).toContain(
      `no learned timings read from ${join(stateDir, "timings.json")} (nothing learned there yet)`,
    );
  });
});
