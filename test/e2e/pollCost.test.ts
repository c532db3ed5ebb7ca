import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfigFile } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { PromMetrics } from "../../src/runtime/http/promMetrics.js";
import { statusJson } from "../../src/runtime/http/statusJson.js";
import { renderStatusPage } from "../../src/runtime/http/statusPage.js";
import type { PollTiming } from "../../src/runtime/keep/pollRule.js";
import { coverageOf, windowsInMonth } from "../../src/whatif/figures.js";
import {
  ARN,
  businessHoursYaml,
  configOf,
  eventsOf,
  type Harness,
  type HarnessOptions,
  type LogLine,
  local,
  MIMO_VL,
  startHarness,
} from "./daemonHarness.js";

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The daemon as it read CloudWatch before the poll rule: every model, every minute. */
const EVERY_MINUTE: Partial<PollTiming> = { slowMs: MINUTE, idleMs: MINUTE };

async function sampleConfig(): Promise<ResolvedConfig> {
  const stateDir = mkdtempSync(join(tmpdir(), "kw-poll-"));
  const loaded = await loadConfigFile("config/keepwarm.yaml", { stateDir });
  if (!loaded.ok) throw new Error(`config/keepwarm.yaml invalid: ${JSON.stringify(loaded)}`);
  return loaded.config;
}

/** What must not change with the poll rule, from the daemon and the simulator's ground truth. */
function figuresOf(
  lines: readonly LogLine[],
  status: ReturnType<import("../../src/runtime/keep/daemon.js").Daemon["status"]>,
) {
  const summary = eventsOf(lines, "daily-summary")[0] as LogLine | undefined;
  const {
    at: _at,
    overhead: _overhead,
    ...summaryFigures
  } = (summary ?? {}) as Record<string, unknown>;
  return {
    summary: summaryFigures,
    models: status.models.map((m) => ({
      name: m.name,
      monthToDateUsd: m.monthToDateUsd,
      projectedMonthUsd: m.projectedMonthUsd,
      billedCopyMinutes: m.billedCopyMinutes,
      counters: m.counters,
      timings: m.timings,
      state: m.state,
    })),
    measured: eventsOf(lines, "measured").map((l) => [l.model, l.measure, l.bound, l.minutes]),
    cooled: eventsOf(lines, "cooled").map((l) => [l.model, l.zeroSince]),
    notWarm: eventsOf(lines, "not-warm").length,
    openedCold: eventsOf(lines, "opened-cold").length,
  };
}

/** Runs `body` against a harness of its own, closed after it whatever happens. */
async function withHarness<T>(
  options: HarnessOptions,
  body: (h: Harness) => Promise<T>,
): Promise<T> {
  const h = await startHarness(options);
  try {
    return await body(h);
  } finally {
    await h.close();
  }
}

describe("reading CloudWatch only when something can change", () => {
  /**
   * The sample config on a weekday, Tuesday 8 December 2026 in Asia/Shanghai: mimo-vl's
   * business hours and batch-llama's Los Angeles night, over the wire, counted by the
   * simulator; then on to 00:30 for the day's summary.
   */
  async function sampleDay(poll?: Partial<PollTiming>) {
    const config = await sampleConfig();
    const start = local("00:00", 8);
    return withHarness({ config, start, ...(poll ? { poll } : {}) }, async (h) => {
      await h.daemon.start();
      await h.clock.runUntil(start + DAY);
      const usage = h.sim.getMetricDataUsage();
      await h.clock.runUntil(local("00:30", 9));
      const day = { start, end: start + DAY };
      const ledger = h.sim.ledger(day);
      const models = config.models.map((m) => {
        const cov = coverageOf(windowsInMonth(config, m, day), h.sim.warmSpans(m.modelArn));
        return {
          name: m.name,
          windowMinutes: cov.windowMinutes,
          coveredMinutes: cov.coveredMinutes,
          coldStretches: cov.coldStretches,
          billedMinutes: ledger.models.find((l) => l.modelArn === m.modelArn)?.billedMinutes,
          pings: (h.invokeTimes.get(m.modelArn) ?? []).length,
        };
      });
      return {
        models,
        perModelMinute: usage.metricsRequested / (config.models.length * (DAY / MINUTE)),
        usage,
        usageAtEnd: h.sim.getMetricDataUsage(),
        figures: figuresOf(h.lines, h.daemon.status()),
        overhead: h.daemon.status().overhead,
        summaryOverhead: (eventsOf(h.lines, "daily-summary")[0] as LogLine | undefined)?.overhead,
      };
    });
  }

  it("requests at most 0.6 metrics per model-minute on a day like the sample, from 2.0, and every other figure stays", async () => {
    const before = await sampleDay(EVERY_MINUTE);
    const after = await sampleDay();
    // Before: ModelCopy and Invocations of every model every minute.
    expect(before.perModelMinute).toBeGreaterThanOrEqual(2);
    expect(after.perModelMinute).toBeLessThanOrEqual(0.6);
    // Ground truth: the same window minutes covered, the same bill, the same pings.
    expect(after.models).toEqual(before.models);
    for (const m of after.models) {
      expect(m.windowMinutes).toBeGreaterThan(0);
      expect(m.coveredMinutes).toBe(m.windowMinutes);
      expect(m.coldStretches).toBe(0);
    }
    // The daemon's own figures: month to date, projection, counters, learned timings, the summary.
    expect(after.figures).toEqual(before.figures);
    expect(after.figures.measured.length).toBeGreaterThan(0);
    // The daemon counts what the simulator answered, and prices it.
    expect(after.overhead?.counts.metricsRequested).toBe(after.usageAtEnd.metricsRequested);
    // The day's summary: its calls up to midnight (the minute job of 00:00 may count in either day).
    const day = after.summaryOverhead as {
      metricsRequested: number;
      costExplorerRequests: number;
      dayUsd: number;
    };
    expect(day.metricsRequested).toBeGreaterThan(after.usage.metricsRequested - 10);
    expect(day.metricsRequested).toBeLessThanOrEqual(after.usage.metricsRequested);
    expect(day.dayUsd).toBe(
      Math.round((day.metricsRequested / 100_000 + day.costExplorerRequests * 0.01) * 100) / 100,
    );
    console.info(
      `GetMetricData per model-minute, sample config, Tuesday 2026-12-08: before ${before.perModelMinute.toFixed(3)} (${before.usage.metricsRequested} metrics, ${before.usage.calls} calls), after ${after.perModelMinute.toFixed(3)} (${after.usage.metricsRequested} metrics, ${after.usage.calls} calls)`,
    );
  }, 120_000);

  it("sees an eviction in the middle of a window at most 4 minutes later than reading every minute, and recovers as much later", async () => {
    const config = configOf(businessHoursYaml({ models: [MIMO_VL], timings: "fixed" }));
    /** Minutes from the eviction to the `observed` line that shows it, and to the recovery ping. */
    const seenAfter = (evictAt: number, poll?: Partial<PollTiming>) =>
      withHarness({ config, start: local("08:00"), ...(poll ? { poll } : {}) }, async (h) => {
        await h.daemon.start();
        h.sim.faults.add({ kind: "evict", modelArn: ARN, at: evictAt });
        await h.clock.runUntil(local("11:40"));
        const delayOf = (event: string) => {
          const line = eventsOf(h.lines, event, "mimo-vl").find(
            (l) => Date.parse(l.time) >= evictAt && (event !== "observed" || l.state === "cold"),
          );
          if (!line) throw new Error(`no ${event} after ${new Date(evictAt).toISOString()}`);
          return (Date.parse(line.time) - evictAt) / MINUTE;
        };
        return { seen: delayOf("observed"), recovered: delayOf("not-warm") };
      });
    // Pings at 11:01 and 11:15 (the 14-minute grid): nothing planned meets these evictions.
    const seenLater: number[] = [];
    const recoveredLater: number[] = [];
    for (const hhmm of ["11:02", "11:03", "11:04", "11:05", "11:06"]) {
      const everyMinute = await seenAfter(local(hhmm), EVERY_MINUTE);
      const rule = await seenAfter(local(hhmm));
      // Reading every minute: ModelCopy's 0 is seen as soon as it is published, 3 minutes on,
      // and the recovery ping goes out once it has lasted the publish delay and a restore.
      expect(everyMinute).toEqual({ seen: 3, recovered: 4 });
      seenLater.push(rule.seen - everyMinute.seen);
      recoveredLater.push(rule.recovered - everyMinute.recovered);
    }
    expect(Math.min(...seenLater)).toBe(0);
    expect(Math.max(...seenLater)).toBe(4);
    expect(Math.max(...recoveredLater)).toBeLessThanOrEqual(3);
    console.info(
      `mid-window evictions at 11:02-11:06 seen later by ${seenLater.join(", ")} min, recovered later by ${recoveredLater.join(", ")} min`,
    );
  }, 120_000);

  it("shows keepwarm's own cost in the spend-total line, the status page and its JSON, and /metrics", async () => {
    const yaml = `${businessHoursYaml({ models: [MIMO_VL], timings: "fixed" })}daemon:\n  spendLog:\n    perModel: on-change\n`;
    const metrics = new PromMetrics({ processMetrics: false });
    const sample = async (name: string) =>
      (await metrics.registry.metrics())
        .split("\n")
        .find((l) => l.startsWith(`${name} `))
        ?.split(" ")[1];
    await withHarness(
      { config: configOf(yaml), start: local("08:30"), observer: metrics },
      async (h) => {
        await h.daemon.start();
        await h.clock.runUntil(local("09:00"));
        // Half an hour counted: no projection yet, nowhere.
        expect(await sample("keepwarm_overhead_projected_month_usd")).toBeUndefined();
        expect(statusJson(h.daemon.status()).overhead?.projectedMonthUsd).toBeNull();
        await h.clock.runUntil(local("10:30"));
        // Every GetMetricData the simulator answered is counted: $0.01 per 1,000 metrics, and
        // each Cost Explorer request (the daemon's reconciliation) $0.01.
        const { metricsRequested } = h.sim.getMetricDataUsage();
        const costExplorer = Number(await sample("keepwarm_cost_explorer_requests_total"));
        const usd = metricsRequested / 100_000 + costExplorer * 0.01;
        expect(metricsRequested).toBeGreaterThan(0);
        expect(await sample("keepwarm_cloudwatch_metrics_requested_total")).toBe(
          String(metricsRequested),
        );
        expect(Number(await sample("keepwarm_overhead_month_to_date_usd"))).toBeCloseTo(usd, 10);
        const projected = Number(await sample("keepwarm_overhead_projected_month_usd"));
        expect(projected).toBeGreaterThan(usd);

        const json = statusJson(h.daemon.status());
        expect(json.overhead).toEqual({
          monthToDateUsd: Math.round(usd * 100) / 100,
          projectedMonthUsd: Math.round(projected * 100) / 100,
          since: new Date(local("08:30")).toISOString(),
          getMetricDataCalls: expect.any(Number),
          metricsRequested,
          costExplorerRequests: costExplorer,
          listMetricsRequests: 0,
        });
        const calls = [
          `${metricsRequested} GetMetricData metrics`,
          ...(costExplorer > 0 ? [`${costExplorer} Cost Explorer requests`] : []),
        ].join(", ");
        expect(renderStatusPage(h.daemon.status())).toContain(
          `keepwarm&#39;s AWS calls</dt><dd>$${(Math.round(usd * 100) / 100).toFixed(2)} since 08:30 (${calls}); projected $${(Math.round(projected * 100) / 100).toFixed(2)} this month`,
        );
        const total = eventsOf(h.lines, "spend-total").at(-1);
        expect(total).toMatchObject({
          overheadUsd: Math.round(usd * 100) / 100,
          overheadProjectedMonthUsd: expect.any(Number),
          overheadSince: new Date(local("08:30")).toISOString(),
        });
      },
    );
  });
});
