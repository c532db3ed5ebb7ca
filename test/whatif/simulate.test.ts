import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { DateTime } from "luxon";
import { beforeAll, describe, expect, it } from "vitest";
import { loadConfigFile, parseConfigText } from "../../src/config/load.js";
import type { ResolvedConfig } from "../../src/domain/types.js";
import { createLogger } from "../../src/runtime/infra/logger.js";
import {
  alwaysOnCadence,
  coverageOf,
  cronInstants,
  type ModelSimulation,
  type MonthSimulation,
  simulateMonth,
} from "../../src/whatif/simulate.js";

const SAMPLE = fileURLToPath(new URL("../../config/keepwarm.yaml", import.meta.url));

async function sampleConfig(): Promise<ResolvedConfig> {
  const loaded = await loadConfigFile(SAMPLE, { stateDir: "/nonexistent" });
  if (!loaded.ok) throw new Error(`sample config invalid: ${JSON.stringify(loaded.problems)}`);
  return loaded.config;
}

function modelOf(config: ResolvedConfig, name: string) {
  const m = config.models.find((x) => x.name === name);
  if (!m) throw new Error(`no model ${name}`);
  return m;
}

function local(iso: string, zone: string): number {
  return DateTime.fromISO(iso, { zone }).toMillis();
}

describe("cronInstants", () => {
  it.each([
    [
      "mimo-vl",
      "Asia/Shanghai",
      "2026-12-07T00:00",
      "2026-12-08T00:00",
      ["09:00", "09:14", "09:28", "09:42", "09:56", "10:00"],
      ["17:28", "17:42", "17:56"],
      45,
    ],
    [
      "batch-llama",
      "America/Los_Angeles",
      "2026-12-07T12:00",
      "2026-12-08T12:00",
      ["22:00", "22:14", "22:28", "22:42", "22:56", "23:00"],
      ["01:28", "01:42", "01:56"],
      20,
    ],
  ])(
    "pings %s at minutes 0,14,28,42,56 of each hour of the window (%s)",
    async (name, zone, from, to, first, last, n) => {
      const config = await sampleConfig();
      const instants = cronInstants(
        config,
        modelOf(config, name),
        local(from, zone),
        local(to, zone),
      );
      const hhmm = instants.map((t) => DateTime.fromMillis(t, { zone }).toFormat("HH:mm"));
      expect(hhmm.slice(0, 6)).toEqual(first);
      expect(hhmm.slice(-3)).toEqual(last);
      expect(instants).toHaveLength(n);
    },
  );

  it.each([
    ["America/Los_Angeles", "2026-10-30T00:00", "2026-11-03T00:00"],
    ["Asia/Kathmandu", "2026-12-07T00:00", "2026-12-09T00:00"],
  ])(
    "keeps to local minutes across a DST change and a 45-minute offset (%s)",
    async (zone, from, to) => {
      const yaml = [
        "policies:",
        `  nights: { timezone: ${zone}, windows: [{ days: daily, from: "22:00", to: "03:00" }] }`,
        "models:",
        "  - name: m",
        "    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6",
        "    policy: nights",
        "    request: { prompt: ping, max_gen_len: 1 }",
      ].join("\n");
      const loaded = parseConfigText(yaml, "k.yaml", { stateDir: "/nonexistent" });
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
      const m = modelOf(loaded.config, "m");
      const instants = cronInstants(loaded.config, m, local(from, zone), local(to, zone));
      const minutes = instants.map((t) => DateTime.fromMillis(t, { zone }).minute);
      expect(new Set(minutes)).toEqual(new Set([0, 14, 28, 42, 56]));
      // Every minute of each window whose local minute is a cron minute, and no other.
      const expected: number[] = [];
      for (let t = local(from, zone); t < local(to, zone); t += 60_000) {
        const d = DateTime.fromMillis(t, { zone });
        const inWindow = d.hour >= 22 || d.hour < 3;
        if (inWindow && [0, 14, 28, 42, 56].includes(d.minute)) expected.push(t);
      }
      expect(instants).toEqual(expected);
    },
  );

  it("pings nothing on a holiday of the policy", async () => {
    const config = await sampleConfig();
    const zone = "Asia/Shanghai";
    const christmas = cronInstants(
      config,
      modelOf(config, "mimo-vl"),
      local("2026-12-25T00:00", zone),
      local("2026-12-26T00:00", zone),
    );
    expect(christmas).toEqual([]);
  });
});

describe("alwaysOnCadence", () => {
  const rule = (over: Partial<Parameters<typeof alwaysOnCadence>[0]>) =>
    alwaysOnCadence({
      evictionRule: "afterLastCall",
      evictionDelayMs: 15 * 60_000,
      evictionJitterMs: 0,
      evictionIdleWindows: 2,
      billingWindowMs: 5 * 60_000,
      ...over,
    });

  it("pings a minute before the simulated rule could unload the copy, within 1-14 minutes", () => {
    expect(rule({})).toBe(14 * 60_000);
    expect(rule({ evictionDelayMs: 5 * 60_000 })).toBe(4 * 60_000);
    expect(rule({ evictionDelayMs: 60 * 60_000 })).toBe(14 * 60_000);
    expect(rule({ evictionDelayMs: 90_000 })).toBe(60_000);
    // A delay that varies: the shortest it can be, 10 +- 5 minutes.
    expect(rule({ evictionDelayMs: 10 * 60_000, evictionJitterMs: 5 * 60_000 })).toBe(4 * 60_000);
    // The window rule keeps a copy at least its idle windows after a call at a window's end.
    expect(rule({ evictionRule: "billingWindows" })).toBe(9 * 60_000);
    expect(rule({ evictionRule: "billingWindows", evictionIdleWindows: 0 })).toBe(60_000);
  });

  it("follows an evictAfter fault's idle time where one covers the call", () => {
    const s = {
      evictionRule: "afterLastCall",
      evictionDelayMs: 15 * 60_000,
      evictionJitterMs: 0,
      evictionIdleWindows: 2,
      billingWindowMs: 5 * 60_000,
    } as const;
    expect(alwaysOnCadence(s, 5 * 60_000)).toBe(4 * 60_000);
    expect(alwaysOnCadence(s, 60 * 60_000)).toBe(14 * 60_000);
    expect(alwaysOnCadence(s, undefined)).toBe(14 * 60_000);
  });
});

describe("coverageOf", () => {
  const t = (hhmm: string) => Date.parse(`2026-12-01T${hhmm}:00Z`);
  const windows = [
    { start: t("09:00"), end: t("09:10") },
    { start: t("12:00"), end: t("12:05") },
  ];
  it.each([
    ["never warm", [], { windowMinutes: 15, coveredMinutes: 0, coldStretches: 2 }],
    [
      "warm throughout, still up",
      [{ start: t("08:00"), end: undefined }],
      { windowMinutes: 15, coveredMinutes: 15, coldStretches: 0 },
    ],
    // Up from 09:01:30: the minutes starting 09:00 and 09:01 were cold, one stretch.
    [
      "restored 90 s in",
      [{ start: t("09:01") + 30_000, end: undefined }],
      { windowMinutes: 15, coveredMinutes: 13, coldStretches: 1 },
    ],
    // Unloaded at 09:04 exactly: 09:04 is cold; back at 09:06: 09:04 and 09:05 one stretch.
    [
      "a gap inside a window and another window cold",
      [
        { start: t("08:00"), end: t("09:04") },
        { start: t("09:06"), end: t("09:30") },
      ],
      { windowMinutes: 15, coveredMinutes: 8, coldStretches: 2 },
    ],
  ])("%s", (_, warm, expected) => {
    expect(coverageOf(windows, warm)).toEqual(expected);
  });
});

describe("simulateMonth", () => {
  describe("the sample config over December 2026", () => {
    let result: MonthSimulation;
    const model = (name: string) => result.models.find((m) => m.model === name) as ModelSimulation;

    beforeAll(async () => {
      result = await simulateMonth({ config: await sampleConfig(), month: "2026-12" });
    }, 300_000);

    it("keeps every window minute of every model warm, where the cron loses each window's first minutes", () => {
      for (const name of ["mimo-vl", "batch-llama"]) {
        expect(model(name).keepwarm.coveragePct).toBe(100);
        expect(model(name).keepwarm.coldStartsInWindows).toBe(0);
        expect(model(name).alwaysOn.coveragePct).toBe(100);
      }
      // 21 weekdays minus Christmas is 20 business-hours windows outside the always-on
      // override; batch-llama has a night window every day. The cron's first ping of each
      // meets a cold model and users wait out the 90 s restore: two window minutes each.
      expect(model("mimo-vl").cron.coldStartsInWindows).toBe(20);
      expect(model("mimo-vl").cron.windowMinutes - model("mimo-vl").cron.coveredMinutes).toBe(40);
      expect(model("batch-llama").cron.coldStartsInWindows).toBe(31);
      expect(
        model("batch-llama").cron.windowMinutes - model("batch-llama").cron.coveredMinutes,
      ).toBe(62);
      expect(model("batch-llama").keepwarm.windowMinutes).toBe(31 * 240);
    });

    it("projects the month within 1% of the simulator's ledger: to the cent", () => {
      for (const name of ["mimo-vl", "batch-llama"]) {
        const kw = model(name).keepwarm;
        expect(kw.projectedUsd).toBeDefined();
        expect(Math.abs(kw.projectionErrorPct as number)).toBeLessThan(1);
        expect(kw.projectedUsd).toBeCloseTo(kw.totalUsd, 2);
      }
    });

    it("runs the daemon's own polling: at most 0.6 metrics per model-minute, the same bill", () => {
      expect(result.overhead.metricsPerModelMinute).toBeLessThanOrEqual(0.6);
      expect(result.overhead.metricsPerModelMinute).toBeGreaterThan(0);
      expect(result.overhead.usd).toBeCloseTo(result.overhead.metricsRequested / 100_000, 10);
      expect(model("mimo-vl").keepwarm.billedMinutes).toBe(13_300);
      expect(model("batch-llama").keepwarm.billedMinutes).toBe(7_595);
    });

    it("bills always-on for every minute of the month: $10,217.86 for 4 CMU (bedrock-facts §2)", () => {
      expect(model("mimo-vl").alwaysOn.billedMinutes).toBe(31 * 24 * 60);
      expect(model("mimo-vl").alwaysOn.totalUsd).toBeCloseTo(10_217.86, 2);
    });

    // The naive cron bills less than keepwarm for a reason of the billing rule
    // (docs/operations.md, "simulate"): the cron's first ping only starts a restore, and the
    // restored copy bills nothing until the next ping 14 minutes later, while keepwarm's
    // warm-up succeeds before the window opens. Per batch-llama night (22:00-02:00), with
    // the timings learned on the night before the month: first success about 21:59:20 (a
    // lead of the 90 s restore plus a margin), closing ping 01:48 (the learned eviction, just
    // under 15 minutes, less 2 minutes), cold at 02:03: 49 windows of 5 min; cron 22:14 to 02:11 = 48.
    it("bills the cron's minutes plus keepwarm's head start at each window's opening", () => {
      expect(model("batch-llama").keepwarm.billedMinutes).toBe(31 * 245);
      expect(model("batch-llama").cron.billedMinutes).toBe(31 * 240);
      const mimo = model("mimo-vl");
      expect(mimo.keepwarm.billedMinutes).toBeGreaterThan(mimo.cron.billedMinutes);
      expect(mimo.keepwarm.billedMinutes - mimo.cron.billedMinutes).toBeLessThanOrEqual(21 * 10);
      expect(mimo.keepwarm.totalUsd).toBeLessThan(mimo.alwaysOn.totalUsd / 3);
    });
  });
});

describe("simulateMonth over a day", () => {
  const MIMO = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
  const LLAMA = "arn:aws:bedrock:us-east-1:123456789012:imported-model/a1b2c3d4e5f6";
  const figures = (r: MonthSimulation) => r.models;

  it("gives the same run twice: the daemon's retry jitter comes from the simulator's seed", async () => {
    const config = await sampleConfig();
    const run = async () => {
      const lines: { time: string; event?: string; model?: string; restoreSeconds?: number }[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString("utf8").split("\n"))
            if (l.trim()) lines.push(JSON.parse(l));
          done();
        },
      });
      const result = await simulateMonth({
        config,
        month: "2026-12",
        days: 1,
        logger: (now) => createLogger({ level: "info", destination: sink, now }),
      });
      // Each cold start is ridden out by retries 5 s +-20% apart: their instants show the jitter.
      const pings = lines
        .filter((l) => l.event === "ping" || l.event === "warm")
        .map((l) => [l.time, l.model, l.event, l.restoreSeconds ?? null]);
      return { pings, models: result.models };
    };
    const [first, second] = [await run(), await run()];
    expect(first.pings.filter(([, , event]) => event === "warm").length).toBeGreaterThan(1);
    expect(second.pings).toEqual(first.pings);
    expect(second.models).toEqual(first.models);
  }, 120_000);

  it("logs the daemon on the simulated clock, through an hour of CloudWatch throttling", async () => {
    const config = await sampleConfig();
    const lines: { time: string; event?: string; msg?: string }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString("utf8").split("\n")) if (l.trim()) lines.push(JSON.parse(l));
        done();
      },
    });
    const from = Date.parse("2026-12-01T10:00:00Z");
    const result = await simulateMonth({
      config,
      month: "2026-12",
      days: 1,
      faults: [
        {
          kind: "cloudwatchThrottling",
          operations: ["GetMetricData"],
          from,
          until: from + 3_600_000,
        },
      ],
      logger: (now) => createLogger({ level: "info", destination: sink, now }),
    });
    const times = lines.map((l) => Date.parse(l.time));
    // One day of preroll, then the day: every line is stamped inside them, in order.
    expect(Math.min(...times)).toBeGreaterThanOrEqual(Date.parse("2026-11-30T00:00:00Z"));
    expect(Math.max(...times)).toBeLessThanOrEqual(result.range.end);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // Each throttled minute is retried by the SDK and then reported, at the minute it failed.
    const failed = lines.filter((l) => l.event === "metrics-failed").map((l) => Date.parse(l.time));
    expect(failed.length).toBeGreaterThanOrEqual(30);
    expect(failed.every((t) => t >= from && t <= from + 3_600_000 + 60_000)).toBe(true);
    // No minute is lost: mimo-vl (always-on that day) is billed the whole day.
    const mimo = result.models.find((m) => m.model === "mimo-vl") as ModelSimulation;
    expect(mimo.keepwarm.coveragePct).toBe(100);
  }, 120_000);

  it("gives the same figures in process as over the socket", async () => {
    const config = await sampleConfig();
    const run = (transport: "inProcess" | "socket") =>
      simulateMonth({ config, month: "2026-12", days: 1, transport });
    const [inProcess, socket] = [await run("inProcess"), await run("socket")];
    expect(inProcess.range).toEqual({
      start: Date.parse("2026-12-01T00:00:00Z"),
      end: Date.parse("2026-12-02T00:00:00Z"),
    });
    expect(figures(inProcess)).toEqual(figures(socket));
    // A day that did something: mimo-vl is always-on under the override, batch-llama has a night.
    const mimo = inProcess.models.find((m) => m.model === "mimo-vl") as ModelSimulation;
    expect(mimo.keepwarm.windowMinutes).toBe(24 * 60);
    expect(mimo.keepwarm.invocations).toBeGreaterThan(90);
    expect(mimo.keepwarm.projectedUsd).toBeDefined();
    expect(mimo.keepwarm.dailyProjectedUsd).toEqual([mimo.keepwarm.projectedUsd]);
  }, 120_000);

  it("follows Bedrock changing its idle rule at noon: always-on holds the copy, keepwarm is cold once", async () => {
    const config = await sampleConfig();
    const result = await simulateMonth({
      config,
      month: "2026-12",
      days: 1,
      // 15 minutes after the last call until 12:00, 5 minutes after it from then on.
      sim: { evictionDelayMs: 15 * 60_000 },
      faults: [
        {
          kind: "evictAfter",
          modelArn: MIMO,
          delayMs: 5 * 60_000,
          from: Date.parse("2026-12-01T12:00:00Z"),
        },
      ],
    });
    const mimo = result.models.find((m) => m.model === "mimo-vl") as ModelSimulation;
    // mimo-vl is always-on that day (an override): the baseline pings under the new rule.
    expect(mimo.alwaysOn.coveragePct).toBe(100);
    expect(mimo.alwaysOn.billedMinutes).toBe(24 * 60);
    // keepwarm learned 15 minutes: the first idle spell under the new rule catches it cold,
    // and the cadence it measures from that holds the copy for the rest of the day.
    expect(mimo.keepwarm.coldStartsInWindows).toBe(1);
    expect(mimo.keepwarm.coveragePct).toBeGreaterThan(99.5);
  }, 120_000);

  it("plays a sim config's settings, per-model settings, CMU and faults, and tells each day done", async () => {
    const config = await sampleConfig();
    const progress: string[] = [];
    const result = await simulateMonth({
      config,
      month: "2026-12",
      days: 1,
      // Everywhere 15 minutes after the last call, but batch-llama goes 5 minutes after.
      sim: { evictionDelayMs: 15 * 60_000 },
      simModels: [
        { modelArn: MIMO, customModelUnits: 8 },
        {
          modelArn: LLAMA,
          customModelUnits: 2,
          settings: { evictionRule: "afterLastCall", evictionDelayMs: 5 * 60_000 },
        },
      ],
      faults: [{ kind: "evict", modelArn: MIMO, at: Date.parse("2026-12-01T12:00:30Z") }],
      onProgress: (p) => progress.push(`${p.scenario} ${p.day}/${p.days}`),
    });
    const mimo = result.models.find((m) => m.model === "mimo-vl") as ModelSimulation;
    const llama = result.models.find((m) => m.model === "batch-llama") as ModelSimulation;
    expect(mimo.cmu).toBe(8);
    // The scripted eviction at 12:00:30 leaves the always-on pinger cold until its next ping
    // and the restore after it.
    expect(mimo.alwaysOn.coldStartsInWindows).toBe(1);
    expect(mimo.cron.coldStartsInWindows).toBeGreaterThanOrEqual(1);
    // Pings 14 minutes apart cannot hold a copy that goes 5 minutes after each; always-on,
    // a ping a minute, keeps it up and is billed the whole day.
    expect(llama.cron.coveragePct).toBeLessThan(60);
    expect(llama.alwaysOn.coveragePct).toBe(100);
    expect(llama.alwaysOn.billedMinutes).toBe(24 * 60);
    expect(progress).toEqual([
      "keepwarm 1/2",
      "keepwarm 2/2",
      "cron 1/2",
      "cron 2/2",
      "alwaysOn 1/2",
      "alwaysOn 2/2",
    ]);
  }, 120_000);
});
