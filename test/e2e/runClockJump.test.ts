import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { skipWithout } from "../requiredTools.js";

/** Debian's libfaketime (apt-get install faketime): it moves the wall clock of a process. */
const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
const ARN = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";

interface Running {
  readonly proc: ChildProcess;
  readonly stdout: string[];
  readonly stderr: string[];
}

function start(args: readonly string[], env: Record<string, string>): Running {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stdout: string[] = [];
  let rest = "";
  proc.stdout?.on("data", (chunk: Buffer) => {
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    stdout.push(...lines.filter((l) => l !== ""));
  });
  const stderr: string[] = [];
  proc.stderr?.on("data", (chunk: Buffer) => stderr.push(chunk.toString("utf8")));
  return { proc, stdout, stderr };
}

async function until(what: string, ok: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const parsed = (line: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

describe("keepwarm run", () => {
  const running: Running[] = [];
  afterEach(() => {
    for (const r of running.splice(0)) r.proc.kill("SIGKILL");
  });

  describe("a wall clock that jumps 3 hours ahead (libfaketime)", () => {
    it.skipIf(skipWithout(existsSync(LIBFAKETIME), "libfaketime (Debian: faketime)"))(
      "writes only JSON lines with an event on stdout, among them one clock-jump",
      async () => {
        const dir = mkdtempSync(join(tmpdir(), "kw-jump-"));
        const sim = start(["sim", "--port", "0"], {});
        running.push(sim);
        await until(
          "the simulator",
          () => sim.stdout.some((l) => l.includes("listening on")),
          20_000,
        );
        const url = /listening on (\S+)/.exec(sim.stdout.join("\n"))?.[1] as string;
        const config = join(dir, "keepwarm.yaml");
        writeFileSync(
          config,
          `timezone: UTC\npolicies:\n  always:\n    windows:\n      - days: mon-sun\n        from: "00:00"\n        to: "24:00"\nmodels:\n  - name: m\n    modelArn: ${ARN}\n    policy: always\n    customModelUnits: 2\n`,
        );
        // The daemon starts just before a minute boundary so that its first minute job
        // comes at once; the jump is made after it.
        const faketime = join(dir, "faketime");
        const startAt = new Date(Math.ceil((Date.now() + 5_000) / 60_000) * 60_000 - 3_000);
        const stamp = (d: Date) => `@${d.toISOString().slice(0, 19).replace("T", " ")}`;
        writeFileSync(faketime, stamp(startAt));
        const run = start(
          ["run", "--config", config, "--simulate", "off", "--allow-example-account"],
          {
            LD_PRELOAD: LIBFAKETIME,
            FAKETIME_TIMESTAMP_FILE: faketime,
            FAKETIME_NO_CACHE: "1",
            // Only the wall clock jumps, as for NTP or a suspend: the monotonic one runs on.
            FAKETIME_DONT_FAKE_MONOTONIC: "1",
            TZ: "UTC",
            AWS_ENDPOINT_URL: url,
            AWS_ACCESS_KEY_ID: "AKIAKEEPWARMSIMULATED",
            AWS_SECRET_ACCESS_KEY: "simulated",
            AWS_REGION: "us-west-2",
            KEEPWARM_STATE_DIR: dir,
            KEEPWARM_HTTP_PORT: "0",
          },
        );
        running.push(run);
        const events = () => run.stdout.map((l) => parsed(l)?.event);
        await until("the first spend line", () => events().includes("spend"), 30_000);
        const jumpedTo = new Date(Date.now() + 3 * 3_600_000);
        writeFileSync(faketime, stamp(jumpedTo));
        // The capped timers look at the wall clock at least every 30 s.
        await until("the clock-jump line", () => events().includes("clock-jump"), 45_000);
        await until(
          "a spend line after the jump",
          () => events().filter((e) => e === "spend").length >= 2,
          10_000,
        );

        const notJson = run.stdout.filter((l) => typeof parsed(l)?.event !== "string");
        expect(notJson).toEqual([]);
        // Nor does a scheduler library report the minutes it missed on stderr.
        expect(run.stderr.join("")).not.toMatch(/missed|NODE-CRON/i);
        const jumps = run.stdout.map(parsed).filter((l) => l?.event === "clock-jump");
        expect(jumps).toHaveLength(1);
        expect(jumps[0]).toMatchObject({ direction: "forward" });
        expect(Math.abs(Number(jumps[0]?.jumpSeconds) - 3 * 3_600)).toBeLessThan(120);
      },
      120_000,
    );
  });
});
