import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { installShutdown } from "../../../src/runtime/infra/shutdown.js";
import { collectingLogger } from "../../e2e/daemonHarness.js";
import { type Child, type Line, runSample, startNode, stop } from "../childProcess.js";

const childScript = fileURLToPath(new URL("./shutdownChild.ts", import.meta.url));
const main = fileURLToPath(new URL("../../../src/cli/main.ts", import.meta.url));
const sample = fileURLToPath(new URL("../../../config/keepwarm.yaml", import.meta.url));

interface ChildRun {
  code: number | null;
  events: string[];
  lines: Record<string, unknown>[];
  url: string;
}

type SignalPlan = [afterEvent: string, signal: NodeJS.Signals][];

/** The stand-in daemon of shutdownChild.ts, whose one ping takes `pingMs`. */
function runChild(pingMs: number, graceMs: number, signals: SignalPlan): Promise<ChildRun> {
  return runProcess(["--import", "tsx", childScript, String(pingMs), String(graceMs)], signals, {});
}

/**
 * Starts node with `args`, sends each signal when the process logs the event paired with
 * it, and collects its JSON log lines until it exits.
 */
function runProcess(
  args: string[],
  signals: SignalPlan,
  env: Record<string, string>,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "ignore"],
      env: { ...process.env, ...env },
    });
    const lines: Record<string, unknown>[] = [];
    let buffered = "";
    let url = "";
    proc.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const part of parts) {
        const line = JSON.parse(part) as Record<string, unknown>;
        lines.push(line);
        if (line.event === "ready" || line.event === "http-listening") url = String(line.url);
        for (const [after, signal] of signals) if (line.event === after) proc.kill(signal);
      }
    });
    proc.on("error", reject);
    proc.on("close", (code) =>
      resolve({ code, lines, url, events: lines.map((l) => String(l.event)) }),
    );
  });
}

/** Whether something accepts connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

const ignoredLine = (signal: string) => (l: Line) =>
  l.event === "signal-ignored" && l.signal === signal;

/** Whether the process is still there (signal 0 only checks). */
const alive = (child: Child) => child.proc.exitCode === null && child.proc.signalCode === null;

describe("installShutdown", () => {
  describe("on SIGTERM", () => {
    it("lets the in-flight ping finish, closes HTTP, logs `shutdown` last and exits 0", async () => {
      const run = await runChild(300, 10_000, [["ready", "SIGTERM"]]);
      expect(run.code).toBe(0);
      expect(run.events).toEqual([
        "http-listening",
        "ready",
        "shutdown-started",
        "scheduling-stopped",
        "ping-finished",
        "shutdown",
      ]);
      expect(run.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGTERM" });
      expect(Number(run.lines.at(-1)?.durationMs)).toBeGreaterThanOrEqual(200);
      await expect(fetch(`${run.url}/healthz`)).rejects.toThrow();
    });

    it("exits 0 after the grace period when the ping does not finish", async () => {
      const run = await runChild(-1, 200, [["ready", "SIGTERM"]]);
      expect(run.code).toBe(0);
      expect(run.events.slice(-3)).toEqual([
        "scheduling-stopped",
        "shutdown-grace-expired",
        "shutdown",
      ]);
      expect(Number(run.lines.at(-1)?.durationMs)).toBeGreaterThanOrEqual(190);
      expect(Number(run.lines.at(-1)?.durationMs)).toBeLessThan(2000);
    });
  });

  describe("keepwarm run", () => {
    it("stops on SIGTERM once running against the simulator, logs `shutdown` last and exits 0", async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "kw-shutdown-"));
      try {
        const run = await runProcess(
          [
            "--import",
            "tsx",
            main,
            "run",
            "--config",
            sample,
            "--simulate",
            "on",
            "--http-port",
            "0",
            "--state-dir",
            stateDir,
          ],
          // The handlers are installed once start-up is done; debug logging shows when.
          [["shutdown-armed", "SIGTERM"]],
          { KEEPWARM_LOG_LEVEL: "debug" },
        );
        expect(run.code).toBe(0);
        expect(run.events).toContain("simulated");
        expect(run.events.slice(-3)).toEqual(["shutdown-started", "stopped", "shutdown"]);
        expect(run.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGTERM" });
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    });
  });

  describe("on SIGINT", () => {
    it("shuts down the same way", async () => {
      const run = await runChild(50, 10_000, [["ready", "SIGINT"]]);
      expect(run.code).toBe(0);
      expect(run.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGINT" });
    });
  });

  describe("on a second signal", () => {
    it("exits at once with 1", async () => {
      const run = await runChild(-1, 10_000, [
        ["ready", "SIGTERM"],
        ["scheduling-stopped", "SIGTERM"],
      ]);
      expect(run.code).toBe(1);
      expect(run.events.at(-1)).toBe("shutdown-forced");
    });
  });

  describe("on SIGUSR1 and SIGUSR2", () => {
    const children: Child[] = [];
    afterEach(async () => {
      for (const c of children.splice(0)) await stop(c);
    });

    it("opens no inspector on SIGUSR1 and does not die of SIGUSR2: one line each, then a clean stop", async () => {
      const child = startNode(["--import", "tsx", childScript, "50", "10000"]);
      children.push(child);
      const ready = await child.until("ready", (l) => l.event === "ready");
      // Else the check below would mean nothing.
      expect(await listening(9229)).toBe(false);
      child.proc.kill("SIGUSR1");
      await new Promise((r) => setTimeout(r, 300));
      expect(await listening(9229)).toBe(false);
      expect(await child.until("SIGUSR1 ignored", ignoredLine("SIGUSR1"))).toMatchObject({
        level: "warn",
        defaultAction: "open the Node.js inspector on 127.0.0.1:9229",
      });
      child.proc.kill("SIGUSR2");
      await new Promise((r) => setTimeout(r, 300));
      expect(alive(child)).toBe(true);
      await child.until("SIGUSR2 ignored", ignoredLine("SIGUSR2"));
      expect((await fetch(`${ready.url}/healthz`)).status).toBe(200);
      child.proc.kill("SIGTERM");
      const exit = await child.exited;
      expect(exit.code).toBe(0);
      expect(child.lines.filter((l) => l.event === "signal-ignored")).toHaveLength(2);
      expect(child.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGTERM" });
    });

    it("keepwarm run: ignores USR1 and USR2, makes at most three reloads of 100 SIGHUPs in a second, and stops on SIGTERM", async () => {
      const stateDir = mkdtempSync(join(tmpdir(), "kw-signals-"));
      try {
        const child = runSample(stateDir);
        children.push(child);
        await child.until("start-up done", (l) => l.event === "month-to-date", 60_000);
        // The config watcher is set up right after.
        await new Promise((r) => setTimeout(r, 500));
        expect(await listening(9229)).toBe(false);
        child.proc.kill("SIGUSR1");
        child.proc.kill("SIGUSR2");
        await child.until("SIGUSR2 ignored", ignoredLine("SIGUSR2"));
        await child.until("SIGUSR1 ignored", ignoredLine("SIGUSR1"));
        expect(await listening(9229)).toBe(false);
        for (let i = 0; i < 100; i++) {
          child.proc.kill("SIGHUP");
          await new Promise((r) => setTimeout(r, 10));
        }
        await new Promise((r) => setTimeout(r, 2_000));
        expect(alive(child)).toBe(true);
        const reloads = child.lines.filter((l) => l.event === "reload");
        expect(reloads.length).toBeGreaterThanOrEqual(1);
        expect(reloads.length).toBeLessThanOrEqual(3);
        child.proc.kill("SIGTERM");
        expect((await child.exited).code).toBe(0);
        expect(child.lines.at(-1)).toMatchObject({ event: "shutdown", reason: "SIGTERM" });
      } finally {
        rmSync(stateDir, { recursive: true, force: true });
      }
    }, 90_000);
  });

  describe("shutdown", () => {
    it("runs once however often it is asked, stopping daemon, watcher and HTTP", async () => {
      const { logger } = collectingLogger(Date.now);
      const calls: string[] = [];
      const exits: number[] = [];
      const handle = installShutdown({
        daemon: { stop: async () => void calls.push("daemon") },
        watcher: { close: async () => void calls.push("watcher") },
        http: { close: async () => void calls.push("http") },
        logger,
        exit: (code) => exits.push(code),
      });
      try {
        const [a, b] = await Promise.all([handle.shutdown("request"), handle.shutdown("SIGTERM")]);
        expect([a, b]).toEqual([0, 0]);
        expect(calls).toEqual(["watcher", "daemon", "http"]);
        expect(exits).toEqual([0]);
      } finally {
        handle.uninstall();
      }
      expect(process.listenerCount("SIGTERM")).toBe(0);
    });
  });
});
