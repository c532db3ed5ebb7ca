import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { installShutdown } from "../../src/runtime/shutdown.js";
import { captureLogger } from "./captureLogger.js";

const child = fileURLToPath(new URL("./shutdownChild.ts", import.meta.url));

interface ChildRun {
  code: number | null;
  events: string[];
  lines: Record<string, unknown>[];
  url: string;
}

/**
 * Starts the child, sends each signal when the child logs the event paired with it, and
 * collects its log until it exits.
 */
function runChild(
  pingMs: number,
  graceMs: number,
  signals: [afterEvent: string, signal: NodeJS.Signals][],
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      ["--import", "tsx", child, String(pingMs), String(graceMs)],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
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
        if (line.event === "ready") url = String(line.url);
        for (const [after, signal] of signals) if (line.event === after) proc.kill(signal);
      }
    });
    proc.on("error", reject);
    proc.on("close", (code) =>
      resolve({ code, lines, url, events: lines.map((l) => String(l.event)) }),
    );
  });
}

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

  describe("shutdown", () => {
    it("runs once however often it is asked, stopping daemon, watcher and HTTP", async () => {
      const { logger } = captureLogger();
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
