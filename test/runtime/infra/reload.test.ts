import { chmod, mkdir, mkdtemp, rename, rm, symlink, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { LoadResult } from "../../../src/config/load.js";
import type { ResolvedConfig } from "../../../src/domain/types.js";
import { type ConfigWatcher, watchConfig } from "../../../src/runtime/infra/reload.js";
import { collectingLogger } from "../../e2e/daemonHarness.js";
import { kubeletMount, kubeletUpdate } from "./kubelet.js";

/**
 * A stand-in loader: the file holds a tag; "BROKEN" fails with two problems. The real
 * loader is exercised by the end-to-end reload test with the daemon.
 */
async function fakeLoad(path: string): Promise<LoadResult> {
  const { readFile } = await import("node:fs/promises");
  const text = (await readFile(path, "utf8")).trim();
  if (text.startsWith("BROKEN")) {
    return {
      ok: false,
      problems: [
        {
          file: path,
          line: 3,
          column: 5,
          path: "models.0.policy",
          message: 'unknown policy "biz"',
        },
        {
          file: path,
          line: 7,
          column: 14,
          path: "defaults.cadence",
          message: "must be less than 15m",
        },
      ],
    };
  }
  return { ok: true, config: { timezone: text } as unknown as ResolvedConfig, warnings: [] };
}

function until(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (predicate()) resolve();
      else if (Date.now() - start > timeoutMs) reject(new Error("condition not met in time"));
      else setTimeout(poll, 10);
    };
    poll();
  });
}

let dir: string;
let file: string;
let watcher: ConfigWatcher | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kw-reload-"));
  file = join(dir, "keepwarm.yaml");
  await writeFile(file, "v1");
});
afterEach(async () => {
  await watcher?.close();
  watcher = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function startWatcher(options: { sighup?: boolean; path?: string; pollMs?: number } = {}) {
  const applied: string[] = [];
  const reloads: boolean[] = [];
  const { logger, lines } = collectingLogger(Date.now);
  watcher = await watchConfig({
    path: options.path ?? file,
    load: fakeLoad,
    apply: async (config) => {
      applied.push(config.timezone);
    },
    logger,
    debounceMs: 40,
    observer: { configReload: (ok) => reloads.push(ok) },
    sighup: options.sighup ?? false,
    // Long unless a test is about the periodic check: the watch must catch the rest.
    pollMs: options.pollMs ?? 60_000,
  });
  return { applied, reloads, lines, watcher };
}

describe("watchConfig", () => {
  describe("reload", () => {
    it("applies a valid file and tells the observer", async () => {
      const { applied, reloads, watcher } = await startWatcher();
      await writeFile(file, "v2");
      expect(await watcher.reload("manual")).toBe("applied");
      expect(applied.at(-1)).toBe("v2");
      expect(reloads.at(-1)).toBe(true);
    });

    it("rejects a broken file with every problem formatted, and keeps the running config", async () => {
      const { applied, reloads, lines, watcher } = await startWatcher();
      await writeFile(file, "BROKEN");
      expect(await watcher.reload("manual")).toBe("rejected");
      expect(applied).toEqual([]);
      expect(reloads).toEqual([false]);
      const rejected = lines.find((l) => l.event === "reload-rejected");
      expect(rejected).toMatchObject({
        level: "error",
        file,
        trigger: "manual",
        problems: [
          `${file}:3:5: models.0.policy: unknown policy "biz"`,
          `${file}:7:14: defaults.cadence: must be less than 15m`,
        ],
      });
    });

    it("keeps the running config when apply throws, and logs reload-failed", async () => {
      const { logger, lines } = collectingLogger(Date.now);
      const outcomes: boolean[] = [];
      watcher = await watchConfig({
        path: file,
        load: fakeLoad,
        apply: async () => {
          throw new Error("region client refused");
        },
        logger,
        observer: { configReload: (ok) => outcomes.push(ok) },
        sighup: false,
      });
      expect(await watcher.reload()).toBe("failed");
      expect(outcomes).toEqual([false]);
      expect(lines.find((l) => l.event === "reload-failed")).toMatchObject({
        error: { name: "Error", message: "region client refused" },
      });
    });

    it("runs reloads one at a time; one asked during another runs after it", async () => {
      let active = 0;
      let maxActive = 0;
      const { logger } = collectingLogger(Date.now);
      watcher = await watchConfig({
        path: file,
        load: fakeLoad,
        apply: async () => {
          active++;
          maxActive = Math.max(maxActive, active);
          await new Promise((r) => setTimeout(r, 30));
          active--;
        },
        logger,
        sighup: false,
      });
      const outcomes = await Promise.all([watcher.reload(), watcher.reload(), watcher.reload()]);
      expect(maxActive).toBe(1);
      expect(outcomes).toEqual(["applied", "applied", "applied"]);
    });
  });

  describe("file changes", () => {
    it("reloads once, debounced, after a burst of writes", async () => {
      const { applied } = await startWatcher();
      await writeFile(file, "v2");
      await writeFile(file, "v3");
      await writeFile(file, "v4");
      await until(() => applied.length > 0);
      await new Promise((r) => setTimeout(r, 150));
      expect(applied).toEqual(["v4"]);
    });

    it("catches an editor that replaces the file by a rename", async () => {
      const { applied } = await startWatcher();
      const tmp = join(dir, ".keepwarm.yaml.swp");
      await writeFile(tmp, "v2");
      await rename(tmp, file);
      await until(() => applied.length > 0);
      expect(applied).toEqual(["v2"]);
      // The watch survives the replacement: a second save is seen too.
      await writeFile(file, "v3");
      await until(() => applied.length > 1);
      expect(applied).toEqual(["v2", "v3"]);
    });

    it("ignores other files in the directory and a chmod that leaves the content alone", async () => {
      const { applied, reloads } = await startWatcher();
      await writeFile(join(dir, "other.yaml"), "x");
      await new Promise((r) => setTimeout(r, 150));
      expect(reloads).toEqual([]);
      await chmod(file, 0o600);
      await new Promise((r) => setTimeout(r, 150));
      expect(applied).toEqual([]);
    });

    it("rejects a broken save and applies the fixed one after it", async () => {
      const { applied, reloads, lines } = await startWatcher();
      await writeFile(file, "BROKEN");
      await until(() => reloads.length === 1);
      expect(lines.filter((l) => l.event === "reload-rejected")).toHaveLength(1);
      expect(applied).toEqual([]);
      await writeFile(file, "v2");
      await until(() => reloads.length === 2);
      expect(applied).toEqual(["v2"]);
    });
  });

  describe("what the path resolves to", () => {
    it("follows a Kubernetes ConfigMap update: applies a good one, rejects a broken one", async () => {
      const mount = join(dir, "etc-keepwarm");
      await mkdir(mount);
      await kubeletMount(mount, "keepwarm.yaml", "k1");
      const { applied, reloads, lines } = await startWatcher({
        path: join(mount, "keepwarm.yaml"),
      });
      await kubeletUpdate(mount, "keepwarm.yaml", "k2", "2026_12_01_10_05_00.000000001");
      await until(() => reloads.length === 1);
      expect(applied).toEqual(["k2"]);
      await kubeletUpdate(mount, "keepwarm.yaml", "BROKEN", "2026_12_01_10_10_00.000000002");
      await until(() => reloads.length === 2);
      expect(reloads).toEqual([true, false]);
      expect(applied).toEqual(["k2"]);
      expect(lines.filter((l) => l.event === "reload-rejected")).toHaveLength(1);
      // The watch on the timestamped directories removed by the updates is no error.
      expect(lines.filter((l) => l.event === "reload-watch-error")).toEqual([]);
      await kubeletUpdate(mount, "keepwarm.yaml", "k3", "2026_12_01_10_15_00.000000003");
      await until(() => reloads.length === 3);
      expect(applied).toEqual(["k2", "k3"]);
    });

    it("follows a symlinked file: a save to its target and a link pointed elsewhere", async () => {
      const real = join(dir, "real");
      await mkdir(real);
      await writeFile(join(real, "a.yaml"), "a1");
      await writeFile(join(real, "b.yaml"), "b1");
      const link = join(dir, "link.yaml");
      await symlink(join(real, "a.yaml"), link);
      const { applied } = await startWatcher({ path: link });
      await writeFile(join(real, "a.yaml"), "a2");
      await until(() => applied.length === 1);
      expect(applied).toEqual(["a2"]);
      await symlink(join(real, "b.yaml"), join(dir, "link.tmp"));
      await rename(join(dir, "link.tmp"), link);
      await until(() => applied.length === 2);
      expect(applied).toEqual(["a2", "b1"]);
      // Now the new target's directory is the one that matters, and still watched.
      await writeFile(join(real, "b.yaml"), "b2");
      await until(() => applied.length === 3);
      expect(applied).toEqual(["a2", "b1", "b2"]);
    });

    it("catches a delete and recreate of the file", async () => {
      const { applied } = await startWatcher();
      await unlink(file);
      await writeFile(file, "v2");
      await until(() => applied.length === 1);
      expect(applied).toEqual(["v2"]);
    });

    it("rejects a file that stays deleted, and applies it once it is back", async () => {
      const { applied, reloads } = await startWatcher();
      await unlink(file);
      await until(() => reloads.length === 1);
      expect(reloads).toEqual([false]);
      await writeFile(file, "v2");
      await until(() => reloads.length === 2);
      expect(applied).toEqual(["v2"]);
    });

    it("catches a config directory removed and made again, by the periodic check", async () => {
      const sub = join(dir, "conf");
      await mkdir(sub);
      await writeFile(join(sub, "keepwarm.yaml"), "c1");
      const { applied } = await startWatcher({ path: join(sub, "keepwarm.yaml"), pollMs: 100 });
      await rm(sub, { recursive: true });
      await new Promise((r) => setTimeout(r, 150));
      await mkdir(sub);
      await writeFile(join(sub, "keepwarm.yaml"), "c2");
      await until(() => applied.includes("c2"));
      expect(applied.at(-1)).toBe("c2");
    });
  });

  describe("SIGHUP", () => {
    it("reloads on SIGHUP even when the file is unchanged, and stops after close()", async () => {
      const { applied, watcher: w } = await startWatcher({ sighup: true });
      process.kill(process.pid, "SIGHUP");
      await until(() => applied.length === 1);
      expect(applied).toEqual(["v1"]);
      await w.close();
      expect(process.listenerCount("SIGHUP")).toBe(0);
    });

    it("turns a burst of 100 signals in a second into two reloads, the last after the last signal", async () => {
      const starts: number[] = [];
      const { logger } = collectingLogger(Date.now);
      watcher = await watchConfig({
        path: file,
        load: fakeLoad,
        // A GetImportedModel per reload, as the daemon's apply makes.
        apply: async () => {
          starts.push(performance.now());
          await new Promise((r) => setTimeout(r, 5));
        },
        logger,
        sighup: true,
        pollMs: 60_000,
      });
      let lastSignal = 0;
      for (let i = 0; i < 100; i++) {
        process.kill(process.pid, "SIGHUP");
        lastSignal = performance.now();
        await new Promise((r) => setTimeout(r, 10));
      }
      await new Promise((r) => setTimeout(r, 1_200));
      expect(starts.length).toBeGreaterThanOrEqual(2);
      expect(starts.length).toBeLessThanOrEqual(3);
      expect(starts.at(-1) as number).toBeGreaterThan(lastSignal);
    });
  });
});
