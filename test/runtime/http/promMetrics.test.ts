import { describe, expect, it } from "vitest";
import { PromMetrics } from "../../../src/runtime/http/promMetrics.js";

/** The sample lines of one metric in the text exposition format, without HELP/TYPE. */
async function samples(metrics: PromMetrics, name: string): Promise<string[]> {
  const text = await metrics.registry.metrics();
  return text
    .split("\n")
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe("PromMetrics", () => {
  describe("registry", () => {
    it("keeps its own registry, so two instances never share a counter", async () => {
      const a = new PromMetrics({ processMetrics: false });
      const b = new PromMetrics({ processMetrics: false });
      a.pingResult("m", "ok");
      expect(await samples(a, "keepwarm_pings_total")).toEqual([
        'keepwarm_pings_total{model="m",result="ok"} 1',
      ]);
      expect(await samples(b, "keepwarm_pings_total")).toEqual([]);
    });

    it("adds the Node.js process metrics by default", async () => {
      const text = await new PromMetrics().registry.metrics();
      expect(text).toContain("# TYPE process_cpu_user_seconds_total counter");
      expect(text).toContain("# TYPE nodejs_heap_size_used_bytes gauge");
    });

    it("leaves them out on request", async () => {
      const text = await new PromMetrics({ processMetrics: false }).registry.metrics();
      expect(text).not.toContain("process_cpu_user_seconds_total");
    });
  });

  describe("pingResult", () => {
    it("counts pings per model and result", async () => {
      const m = new PromMetrics({ processMetrics: false });
      for (const [model, result] of [
        ["a", "ok"],
        ["a", "ok"],
        ["a", "not-ready"],
        ["b", "throttled"],
        ["b", "unavailable"],
        ["b", "rejected"],
      ] as const) {
        m.pingResult(model, result);
      }
      expect(await samples(m, "keepwarm_pings_total")).toEqual([
        'keepwarm_pings_total{model="a",result="ok"} 2',
        'keepwarm_pings_total{model="a",result="not-ready"} 1',
        'keepwarm_pings_total{model="b",result="throttled"} 1',
        'keepwarm_pings_total{model="b",result="unavailable"} 1',
        'keepwarm_pings_total{model="b",result="rejected"} 1',
      ]);
    });
  });

  describe("coldStart and restoreSeconds", () => {
    it("counts cold starts and buckets restore times in seconds", async () => {
      const m = new PromMetrics({ processMetrics: false });
      m.coldStart("a");
      m.restoreSeconds("a", 67);
      m.coldStart("a");
      m.restoreSeconds("a", 96);
      expect(await samples(m, "keepwarm_cold_starts_total")).toEqual([
        'keepwarm_cold_starts_total{model="a"} 2',
      ]);
      const restore = await samples(m, "keepwarm_restore_seconds_bucket");
      expect(restore).toContain('keepwarm_restore_seconds_bucket{le="60",model="a"} 0');
      expect(restore).toContain('keepwarm_restore_seconds_bucket{le="75",model="a"} 1');
      expect(restore).toContain('keepwarm_restore_seconds_bucket{le="120",model="a"} 2');
      expect(restore).toContain('keepwarm_restore_seconds_bucket{le="+Inf",model="a"} 2');
      expect(await samples(m, "keepwarm_restore_seconds_sum")).toEqual([
        'keepwarm_restore_seconds_sum{model="a"} 163',
      ]);
    });
  });

  describe("modelCopies", () => {
    it("shows the last value read", async () => {
      const m = new PromMetrics({ processMetrics: false });
      m.modelCopies("a", 1);
      m.modelCopies("a", 2);
      m.modelCopies("b", 0);
      expect(await samples(m, "keepwarm_model_copies")).toEqual([
        'keepwarm_model_copies{model="a"} 2',
        'keepwarm_model_copies{model="b"} 0',
      ]);
    });
  });

  describe("warmState", () => {
    it.each([
      ["warm", [1, 0, 0]],
      ["cold", [0, 1, 0]],
      ["unknown", [0, 0, 1]],
    ] as const)("sets 1 on %s and 0 on the other states", async (state, values) => {
      const m = new PromMetrics({ processMetrics: false });
      m.warmState("a", "unknown");
      m.warmState("a", state);
      expect(await samples(m, "keepwarm_warm_state")).toEqual([
        `keepwarm_warm_state{model="a",state="warm"} ${values[0]}`,
        `keepwarm_warm_state{model="a",state="cold"} ${values[1]}`,
        `keepwarm_warm_state{model="a",state="unknown"} ${values[2]}`,
      ]);
    });
  });

  describe("projectedMonthUsd", () => {
    it("shows the projection and drops the series when it becomes unknown", async () => {
      const m = new PromMetrics({ processMetrics: false });
      m.projectedMonthUsd("a", 3254.41);
      m.projectedMonthUsd("b", 10217.86);
      expect(await samples(m, "keepwarm_projected_month_usd")).toEqual([
        'keepwarm_projected_month_usd{model="a"} 3254.41',
        'keepwarm_projected_month_usd{model="b"} 10217.86',
      ]);
      m.projectedMonthUsd("a", undefined);
      expect(await samples(m, "keepwarm_projected_month_usd")).toEqual([
        'keepwarm_projected_month_usd{model="b"} 10217.86',
      ]);
    });
  });

  describe("configReload", () => {
    it("records the outcome and time of the last attempt and of the last success", async () => {
      const m = new PromMetrics({ processMetrics: false });
      const applied = Date.parse("2026-12-07T01:00:00Z");
      const rejected = Date.parse("2026-12-07T02:30:00Z");
      m.configReload(true, applied);
      m.configReload(false, rejected);
      expect(await samples(m, "keepwarm_config_reload_success")).toEqual([
        "keepwarm_config_reload_success 0",
      ]);
      expect(await samples(m, "keepwarm_config_last_reload_timestamp_seconds")).toEqual([
        `keepwarm_config_last_reload_timestamp_seconds ${rejected / 1000}`,
      ]);
      expect(await samples(m, "keepwarm_config_last_reload_success_timestamp_seconds")).toEqual([
        `keepwarm_config_last_reload_success_timestamp_seconds ${applied / 1000}`,
      ]);
      expect(await samples(m, "keepwarm_config_reloads_total")).toEqual([
        'keepwarm_config_reloads_total{result="applied"} 1',
        'keepwarm_config_reloads_total{result="rejected"} 1',
      ]);
    });
  });

  describe("modelRemoved", () => {
    it("drops every series of the model and keeps the others", async () => {
      const m = new PromMetrics({ processMetrics: false });
      for (const model of ["gone", "kept"]) {
        m.pingResult(model, "ok");
        m.pingResult(model, "throttled");
        m.coldStart(model);
        m.restoreSeconds(model, 90);
        m.modelCopies(model, 1);
        m.warmState(model, "warm");
        m.projectedMonthUsd(model, 100);
      }
      m.modelRemoved("gone");
      const text = await m.registry.metrics();
      expect(text).not.toContain('model="gone"');
      for (const name of [
        "keepwarm_pings_total",
        "keepwarm_cold_starts_total",
        "keepwarm_restore_seconds_count",
        "keepwarm_model_copies",
        "keepwarm_warm_state",
        "keepwarm_projected_month_usd",
      ]) {
        expect(await samples(m, name), name).not.toEqual([]);
      }
    });
  });
});

describe("PromMetrics: timings, plan state, spend, windows, AWS errors and budgets", () => {
  it("exports each in base units and removes a model's series with it", async () => {
    const m = new PromMetrics({ processMetrics: false });
    m.timings("a", {
      cadenceSeconds: 240,
      leadTimeSeconds: 129,
      evictionDelaySeconds: 300,
      restoreSeconds: 90,
    });
    m.planState("a", { inWindow: true, planWarm: true });
    m.spend("a", {
      monthToDateUsd: 12.5,
      projectedMonthUsd: 100,
      alwaysOnMonthUsd: 400,
      savingUsd: 300,
    });
    m.pingOkAt("a", 1_796_000_000_000);
    m.copyDatapointAt("a", 1_796_000_060_000);
    m.awsError("bedrock:InvokeModel", "AccessDeniedException", "denied");
    m.budget({ scope: "model", model: "a" }, 3000, 2500);
    m.budget({ scope: "fleet" }, 5000, undefined);
    expect(await samples(m, "keepwarm_cadence_seconds")).toEqual([
      'keepwarm_cadence_seconds{model="a"} 240',
    ]);
    expect(await samples(m, "keepwarm_lead_time_seconds")).toEqual([
      'keepwarm_lead_time_seconds{model="a"} 129',
    ]);
    // Both opening series exist at 0 once the model is known: a first cold opening counts.
    expect(await samples(m, "keepwarm_windows_opened_total")).toEqual([
      'keepwarm_windows_opened_total{model="a",warm="true"} 0',
      'keepwarm_windows_opened_total{model="a",warm="false"} 0',
    ]);
    m.windowOpened("a", false);
    expect(await samples(m, "keepwarm_windows_opened_total")).toContain(
      'keepwarm_windows_opened_total{model="a",warm="false"} 1',
    );
    expect(await samples(m, "keepwarm_in_window")).toEqual(['keepwarm_in_window{model="a"} 1']);
    expect(await samples(m, "keepwarm_month_to_date_usd")).toEqual([
      'keepwarm_month_to_date_usd{model="a"} 12.5',
    ]);
    expect(await samples(m, "keepwarm_last_ping_success_timestamp_seconds")).toEqual([
      'keepwarm_last_ping_success_timestamp_seconds{model="a"} 1796000000',
    ]);
    expect(await samples(m, "keepwarm_aws_errors_total")).toEqual([
      'keepwarm_aws_errors_total{operation="bedrock:InvokeModel",error="AccessDeniedException",kind="denied"} 1',
    ]);
    expect(await samples(m, "keepwarm_budget_usd")).toEqual([
      'keepwarm_budget_usd{scope="model",model="a"} 3000',
      'keepwarm_budget_usd{scope="fleet",model=""} 5000',
    ]);
    expect(await samples(m, "keepwarm_budget_projected_usd")).toEqual([
      'keepwarm_budget_projected_usd{scope="model",model="a"} 2500',
    ]);
    m.spend("a", {
      monthToDateUsd: undefined,
      projectedMonthUsd: undefined,
      alwaysOnMonthUsd: undefined,
      savingUsd: undefined,
    });
    expect(await samples(m, "keepwarm_month_to_date_usd")).toEqual([]);
    m.modelRemoved("a");
    const text = await m.registry.metrics();
    expect(text).not.toMatch(/model="a"/);
    expect(text).toContain('keepwarm_budget_usd{scope="fleet",model=""} 5000');
  });
});
