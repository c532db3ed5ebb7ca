import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

describe("keepwarm (the entry point)", () => {
  describe("when the reader of its output goes away", () => {
    it("ends `plan --json | head -c 100` quietly with exit 0, not a stack trace", async () => {
      // A year of pings is megabytes of JSON: far more than the pipe holds once closed.
      const child = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          MAIN,
          "plan",
          "--config",
          "config/keepwarm.yaml",
          "--from",
          "2026-01-01T00:00Z",
          "--to",
          "2027-01-01T00:00Z",
          "--json",
        ],
        { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
      );
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      let head = "";
      child.stdout.once("data", (chunk: Buffer) => {
        head = chunk.toString().slice(0, 100);
        child.stdout.destroy();
      });
      const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
      expect(head).toMatch(/^\{"range":/);
      expect(stderr).not.toMatch(/EPIPE|Error/);
      expect(code).toBe(0);
    });
  });
});
