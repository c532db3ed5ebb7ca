import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load.js";
import { planModel } from "../../src/domain/plan.js";
import { initialTimings } from "../../src/domain/timings.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import type { DaemonStatus } from "../../src/runtime/keep/status.js";
import { eventsOf, type Harness, startHarness } from "./daemonHarness.js";

const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));
const DECEMBER = { start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) };
const MINUTE = 60_000;

describe("Daemon", () => {
  describe("the sample config over December 2026", () => {
    let h: Harness;
    let config: ResolvedConfig;
    let early: DaemonStatus;
    let late: DaemonStatus;

    beforeAll(async () => {
      const loaded = await loadConfigFile(SAMPLE);
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      config = loaded.config;
      // Started the day before, so the override's always-on stretch is warm when December begins.
      h = await startHarness({ config, start: Date.UTC(2026, 10, 30, 12) });
      await h.daemon.start();
      await h.clock.runUntil(DECEMBER.start + 5 * MINUTE);
      early = h.daemon.status();
      await h.clock.runUntil(DECEMBER.end - 10 * MINUTE);
      late = h.daemon.status();
    }, 600_000);

    afterAll(async () => {
      await h?.close();
    });

    it("keeps every window minute warm (coverage 100%)", () => {
      for (const model of config.models) {
        const windows = planModel(config, model, DECEMBER, initialTimings(model)).windows;
        const runs =
          h.sim.ledger().models.find((m) => m.modelArn === model.modelArn)?.copies[0]?.runs ?? [];
        let windowMs = 0;
        let coveredMs = 0;
        for (const w of windows) {
          const start = Math.max(w.start, DECEMBER.start);
          const end = Math.min(w.end, DECEMBER.end - 10 * MINUTE);
          if (end <= start) continue;
          windowMs += end - start;
          for (const r of runs) {
            const s = Math.max(start, r.start);
            const e = Math.min(end, r.end ?? h.clock.now());
            if (e > s) coveredMs += e - s;
          }
        }
        expect(windowMs).toBeGreaterThan(0);
        expect({ model: model.name, coverage: coveredMs / windowMs }).toEqual({
          model: model.name,
          coverage: 1,
        });
      }
      expect(eventsOf(h.lines, "not-warm")).toHaveLength(0);
    });

    it("projects the month within 1% of the simulator's ledger", () => {
      const ledger = h.sim.ledger(DECEMBER);
      for (const model of config.models) {
        const billed = ledger.models.find((m) => m.modelArn === model.modelArn)?.usd ?? 0;
        const storage =
          (model.customModelUnits ?? 0) * (model.prices["v1.0"]?.storageUsdPerCmuMonth ?? 0);
        for (const status of [early, late]) {
          const projected = status.models.find((m) => m.name === model.name)?.projectedMonthUsd;
          expect(projected).toBeDefined();
          const error = Math.abs((projected as number) - storage - billed) / billed;
          expect({ model: model.name, within1pct: error <= 0.01, error }).toMatchObject({
            model: model.name,
            within1pct: true,
          });
        }
      }
    });

    it("measures month to date as the ledger bills it", () => {
      const ledger = h.sim.ledger(DECEMBER);
      for (const model of config.models) {
        const billed = ledger.models.find((m) => m.modelArn === model.modelArn)?.usd ?? 0;
        const mtd = late.models.find((m) => m.name === model.name)?.monthToDateUsd ?? 0;
        expect(Math.abs(mtd - billed)).toBeLessThan(0.01 * billed);
      }
    });
  });
});
