import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { nodeVersionProblem, REQUIRED_NODE } from "../../src/cli/nodeCheck.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

const PACKAGE = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));

/** The CLI in a child process; `preload` runs first (a module given as a data: URL). */
function keepwarm(args: readonly string[], preload?: string) {
  const imports = preload ? ["--import", `data:text/javascript,${preload}`] : [];
  return spawnSync(process.execPath, [...imports, "--import", "tsx", MAIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
  });
}

describe("keepwarm (the entry point)", () => {
  it("prints the package's version for --version", () => {
    const r = keepwarm(["--version"]);
    expect({ status: r.status, stdout: r.stdout }).toEqual({
      status: 0,
      stdout: `${PACKAGE.version}\n`,
    });
  });

  describe("on a Node.js older than package.json allows", () => {
    it("exits 1 with one line saying what is needed and how to get it", () => {
      const r = keepwarm(
        ["validate", "--config", "config/keepwarm.yaml"],
        'Object.defineProperty(process,"versions",{value:{...process.versions,node:"18.19.0"}})',
      );
      expect(r.status).toBe(1);
      expect(r.stdout).toBe("");
      expect(r.stderr.trimEnd().split("\n")).toEqual([
        expect.stringMatching(
          /^keepwarm needs Node\.js 20\.11 or later and this is Node\.js 18\.19\.0 \(.*node\): install Node\.js 24 LTS from https:\/\/nodejs\.org/,
        ),
      ]);
    });

    it("checks the version of engines.node", () => {
      expect(PACKAGE.engines.node).toBe(`>=${REQUIRED_NODE}`);
    });

    it.each([
      ["18.19.0", false],
      ["20.10.0", false],
      ["20.11.0", true],
      ["20.20.2", true],
      ["22.0.0", true],
      ["24.11.1", true],
    ])("Node.js %s will do: %s", (version, ok) => {
      expect(nodeVersionProblem(version) === undefined).toBe(ok);
    });
  });

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
