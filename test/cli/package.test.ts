import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const run = promisify(execFile);

/** Scripts npm runs when a package is installed (`prepare` too, for a tarball or a git URL). */
const INSTALL_SCRIPTS = ["preinstall", "install", "postinstall", "prepare"];

describe("the release tarball (npm pack)", () => {
  const work = mkdtempSync(join(tmpdir(), "kw-pack-"));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it("holds the build, runs no install script and installs with npm install -g without a warning", async () => {
    // A copy of the sources, so that packing builds dist/ there, not in the working tree.
    const src = join(work, "src");
    for (const name of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md"]) {
      cpSync(join(ROOT, name), join(src, name));
    }
    cpSync(join(ROOT, "src"), join(src, "src"), { recursive: true });
    cpSync(join(ROOT, "config"), join(src, "config"), { recursive: true });
    symlinkSync(join(ROOT, "node_modules"), join(src, "node_modules"));

    const packed = await run("npm", ["pack", "--json", "--pack-destination", work], {
      cwd: src,
    });
    const [manifest] = JSON.parse(packed.stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = manifest?.files.map((f) => f.path) ?? [];
    expect(files).toContain("dist/cli/main.js");
    expect(files).toContain("config/keepwarm.yaml");
    expect(files.filter((f) => f.startsWith("src/"))).toEqual([]);

    const prefix = join(work, "global");
    const installed = await run(
      "npm",
      [
        "install",
        "-g",
        "--prefix",
        prefix,
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        join(work, manifest?.filename as string),
      ],
      { cwd: work },
    );
    expect(installed.stderr.split("\n").filter((l) => /\bwarn/i.test(l))).toEqual([]);
    const scripts = JSON.parse(
      readFileSync(join(prefix, "lib/node_modules/keepwarm/package.json"), "utf8"),
    ).scripts as Record<string, string>;
    expect(INSTALL_SCRIPTS.filter((s) => scripts[s] !== undefined)).toEqual([]);

    const bin = join(prefix, "bin", "keepwarm");
    expect(existsSync(bin)).toBe(true);
    const version = await run(bin, ["--version"], { cwd: work });
    expect(version.stdout).toBe(`${PACKAGE.version}\n`);
  }, 240_000);
});
