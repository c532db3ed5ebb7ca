import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import { type ConfigWatcher, watchConfig } from "../../src/runtime/infra/reload.js";
import { kubeletMount, kubeletUpdate } from "../runtime/infra/kubelet.js";
import {
  ARN,
  businessHoursYaml,
  eventsOf,
  type Harness,
  local,
  localTime,
  MIMO_VL,
  startHarness,
} from "./daemonHarness.js";

const yaml = (cadence: string) =>
  businessHoursYaml({ defaults: [`cadence: ${cadence}`], models: [MIMO_VL], timings: "fixed" });

/** Two mistakes: a cadence of 15m (must be less) and a policy that does not exist. */
const BROKEN = yaml("15m").replace("policy: business-hours", "policy: busines-hours");

async function until(predicate: () => boolean, timeoutMs = 3_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("watchConfig with the daemon", () => {
  let h: Harness | undefined;
  let watcher: ConfigWatcher | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await watcher?.close();
    await h?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    h = undefined;
    watcher = undefined;
    dir = undefined;
  });

  it("keeps the running config on a broken file and pings on the new plan from the next instant after a good one", async () => {
    dir = await mkdtemp(join(tmpdir(), "kw-reload-e2e-"));
    const file = join(dir, "keepwarm.yaml");
    const env = { stateDir: join(dir, "state") };
    await writeFile(file, yaml("14m"));
    const first = await loadConfigFile(file, env);
    if (!first.ok) throw new Error("fixture config invalid");
    h = await startHarness({ config: first.config, start: local("00:00") });
    const harness = h;
    const metrics = new PromMetrics({ processMetrics: false });
    const applied: ResolvedConfig[] = [];
    await harness.daemon.start();
    watcher = await watchConfig({
      path: file,
      load: (path) => loadConfigFile(path, env),
      apply: async (config) => {
        applied.push(config);
        await harness.daemon.applyConfig(config);
      },
      logger: harness.logger,
      debounceMs: 50,
      observer: metrics,
      now: () => harness.clock.now(),
      sighup: false,
      pollMs: 60_000,
    });
    const requests = () => harness.invokeTimes.get(ARN) ?? [];

    await harness.clock.runUntil(local("10:00"));
    const timingsBefore = harness.daemon.status().models[0]?.timings;
    await writeFile(file, BROKEN);
    expect(await watcher.reload("SIGHUP")).toBe("rejected");
    const rejected = eventsOf(harness.lines, "reload-rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.problems).toEqual([
      `${file}:4:12: defaults.cadence: is "15m"; allowed: auto, or more than 0s and less than 15m`,
      expect.stringMatching(
        new RegExp(`^${file}:16:13: models\\[0\\]\\.policy: unknown policy "busines-hours"`),
      ),
    ]);
    expect(harness.daemon.status().models.map((m) => m.activePolicy)).toEqual([
      first.config.models[0]?.policy,
    ]);
    expect(harness.daemon.status().models[0]?.timings).toEqual(timingsBefore);
    expect(
      await metrics.registry.getSingleMetricAsString("keepwarm_config_reload_success"),
    ).toContain("keepwarm_config_reload_success 0");

    // The old plan runs on: 08:55 wakes the model, then every 14 minutes.
    await harness.clock.runUntil(local("10:58"));
    expect(
      requests()
        .filter((t) => t >= local("09:00"))
        .map(localTime),
    ).toEqual([
      "09:09:00",
      "09:23:00",
      "09:37:00",
      "09:51:00",
      "10:05:00",
      "10:19:00",
      "10:33:00",
      "10:47:00",
    ]);

    // A good file, saved while the daemon runs: caught by the directory watch.
    await writeFile(file, yaml("5m"));
    await until(() => eventsOf(harness.lines, "reload").length === 1);
    expect(applied).toHaveLength(1);
    expect(eventsOf(harness.lines, "reload")[0]).toMatchObject({ changed: ["mimo-vl"] });
    expect(
      await metrics.registry.getSingleMetricAsString("keepwarm_config_reload_success"),
    ).toContain("keepwarm_config_reload_success 1");

    // Under the old plan the next ping was 11:01; the new one pings at 11:00 (08:55 + 25 x 5 min).
    await harness.clock.runUntil(local("11:16"));
    expect(
      requests()
        .filter((t) => t >= local("10:58"))
        .map(localTime),
    ).toEqual(["11:00:00", "11:05:00", "11:10:00", "11:15:00"]);
  });

  it("follows a Kubernetes ConfigMap mount: a broken update is rejected, a good one applied, both by the watch", async () => {
    dir = await mkdtemp(join(tmpdir(), "kw-reload-k8s-"));
    // ConfigMap keepwarm-config, key keepwarm.yaml, mounted as a directory at /etc/keepwarm.
    const mount = join(dir, "etc", "keepwarm");
    await mkdir(mount, { recursive: true });
    await kubeletMount(mount, "keepwarm.yaml", yaml("14m"), "2026_12_01_10_00_00.123456789");
    const file = join(mount, "keepwarm.yaml");
    const env = { stateDir: join(dir, "state") };
    const first = await loadConfigFile(file, env);
    if (!first.ok) throw new Error("fixture config invalid");
    h = await startHarness({ config: first.config, start: local("00:00") });
    const harness = h;
    const metrics = new PromMetrics({ processMetrics: false });
    metrics.configReload(true, harness.clock.now());
    await harness.daemon.start();
    watcher = await watchConfig({
      path: file,
      load: (path) => loadConfigFile(path, env),
      apply: (config) => harness.daemon.applyConfig(config),
      logger: harness.logger,
      debounceMs: 50,
      observer: metrics,
      now: () => harness.clock.now(),
      sighup: false,
      pollMs: 60_000,
    });
    const success = () =>
      metrics.registry.getSingleMetricAsString("keepwarm_config_reload_success");

    await kubeletUpdate(mount, "keepwarm.yaml", BROKEN, "2026_12_01_10_05_00.000000001");
    await until(() => eventsOf(harness.lines, "reload-rejected").length === 1);
    expect(eventsOf(harness.lines, "reload-rejected")[0]).toMatchObject({
      file,
      trigger: "file-change",
    });
    expect(await success()).toContain("keepwarm_config_reload_success 0");
    expect(harness.daemon.status().models.map((m) => m.activePolicy)).toEqual([
      first.config.models[0]?.policy,
    ]);

    await kubeletUpdate(mount, "keepwarm.yaml", yaml("5m"), "2026_12_01_10_10_00.000000002");
    await until(() => eventsOf(harness.lines, "reload").length === 1);
    expect(eventsOf(harness.lines, "reload")[0]).toMatchObject({ changed: ["mimo-vl"] });
    expect(await success()).toContain("keepwarm_config_reload_success 1");
    expect(harness.daemon.status().models[0]?.timings.cadence).toEqual({
      ms: 5 * 60_000,
      source: "configured",
    });
    expect(eventsOf(harness.lines, "reload-watch-error")).toEqual([]);
  });
});
