import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { printReport } from "../../src/cli/report.js";
import { planModel } from "../../src/domain/plan.js";
import { initialTimings } from "../../src/domain/timings.js";
import { noopObserver } from "../../src/runtime/infra/observer.js";
import type { DailySummary } from "../../src/runtime/state/summaries.js";
import {
  ARN as ARN_A,
  at,
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  local,
  localTime,
  ZONE,
} from "./daemonHarness.js";

const ARN_B = "arn:aws:bedrock:us-west-2:123456789012:imported-model/b2b2b2b2b2b2";

/** alpha (`lines` are its further keys) and beta (2 CMU), both on business hours. */
const yaml = (...lines: string[]) =>
  businessHoursYaml({
    models: [
      { name: "alpha", modelArn: ARN_A, lines },
      { name: "beta", modelArn: ARN_B, lines: ["customModelUnits: 2"] },
    ],
    timings: "fixed",
  });

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("CMU discovery", () => {
    it("reads customModelUnits with GetImportedModel when the config leaves it out", async () => {
      const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
      await h.daemon.start();
      await h.clock.runUntil(local("08:10"));
      expect(eventsOf(h.lines, "cmu", "alpha")).toMatchObject([
        { cmu: 4, source: "bedrock:GetImportedModel" },
      ]);
      expect(eventsOf(h.lines, "spend", "alpha").at(-1)).toMatchObject({ cmu: 4 });
      expect(eventsOf(h.lines, "spend", "alpha").at(-1)?.projectedMonthUsd).toBeGreaterThan(0);
    });

    it("keeps the model warm with its spend unknown when GetImportedModel is denied", async () => {
      const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
      h.sim.faults.add({ kind: "accessDenied", modelArn: ARN_A, operations: ["GetImportedModel"] });
      await h.daemon.start();
      await h.clock.runUntil(local("10:00"));
      // Retried every 10 minutes, told at most hourly.
      const unknown = eventsOf(h.lines, "cmu-unknown", "alpha");
      expect(unknown.map(at)).toEqual([local("08:00"), local("09:00"), local("10:00")]);
      expect(unknown[0]).toMatchObject({ action: "bedrock:GetImportedModel", modelArn: ARN_A });
      const spend = eventsOf(h.lines, "spend", "alpha").at(-1);
      expect(spend).toMatchObject({ cmu: null, monthToDateUsd: null, projectedMonthUsd: null });
      expect(spend?.spendUnknown).toContain("GetImportedModel");
      expect(eventsOf(h.lines, "warm", "alpha")).toHaveLength(1);
      expect(h.sim.modelState(ARN_A).state).not.toBe("cold");
    });
  });

  describe("CMU discovery that fails for a while", () => {
    it("is retried every 10 minutes until GetImportedModel answers", async () => {
      const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
      h.sim.faults.add({
        kind: "throttling",
        modelArn: ARN_A,
        operations: ["GetImportedModel"],
        until: local("08:25"),
      });
      await h.daemon.start();
      await h.clock.runUntil(local("09:00"));
      expect(eventsOf(h.lines, "cmu-unknown", "alpha").map(at)).toEqual([local("08:00")]);
      const found = eventsOf(h.lines, "cmu", "alpha");
      expect(found.map(at)).toEqual([local("08:30")]);
      expect(found[0]).toMatchObject({ cmu: 4, source: "bedrock:GetImportedModel" });
      expect(eventsOf(h.lines, "spend", "alpha").at(-1)).toMatchObject({ cmu: 4 });
      expect(h.daemon.spendOf("alpha").projectedMonthUsd).toBeGreaterThan(0);
    });

    it("keeps a known CMU across a reload whose lookup fails, for the same model ARN", async () => {
      const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
      await h.daemon.start();
      await h.clock.runUntil(local("09:00"));
      h.sim.faults.add({ kind: "accessDenied", modelArn: ARN_A, operations: ["GetImportedModel"] });
      await h.daemon.applyConfig(configOf(yaml("cadence: 10m")));
      await h.clock.runUntil(local("09:05"));
      expect(h.daemon.spendOf("alpha").cmu).toBe(4);
      expect(eventsOf(h.lines, "spend", "alpha").at(-1)).toMatchObject({ cmu: 4 });
      expect(eventsOf(h.lines, "cmu-unknown", "alpha")).toEqual([]);
    });
  });

  describe("a model whose pings are denied", () => {
    it("logs one clear line at most hourly and never stops the other models", async () => {
      const h = await startHarness({
        config: configOf(yaml("customModelUnits: 4")),
        start: local("08:00"),
      });
      h.sim.faults.add({
        kind: "accessDenied",
        modelArn: ARN_A,
        from: local("10:00"),
        until: local("12:00"),
      });
      await h.daemon.start();
      await h.clock.runUntil(local("13:00"));

      const rejected = eventsOf(h.lines, "ping-rejected", "alpha");
      expect(
        rejected.map((l) => DateTime.fromMillis(at(l), { zone: ZONE }).toFormat("HH:mm")),
      ).toEqual(["10:05", "11:15"]);
      expect(rejected[0]).toMatchObject({
        action: "bedrock:InvokeModel",
        modelArn: ARN_A,
        errorName: "AccessDeniedException",
        remedy: `grant bedrock:InvokeModel on ${ARN_A} to the credentials keepwarm runs with, or renew them`,
      });
      // Denied requests are not retried in a loop: one request per planned ping.
      const denied = (h.invokeTimes.get(ARN_A) ?? []).filter(
        (t) => t >= local("10:00") && t < local("12:00"),
      );
      expect(denied).toHaveLength(9);
      const beta = eventsOf(h.lines, "ping", "beta").filter((l) => l.result === "ok");
      expect(beta.filter((l) => at(l) >= local("10:00") && at(l) < local("12:00"))).toHaveLength(9);
      expect(h.sim.modelState(ARN_A).state).not.toBe("cold");
    });
  });

  describe("start", () => {
    it.each([
      ["exactly at a planned ping", "08:55", "08:55:00", "started inside a planned warm span"],
      ["mid-window, after a restart", "13:20", "13:20:00", "started inside a planned warm span"],
      ["before the window", "08:00", "08:55:00", "planned"],
    ])("%s: the first ping goes out at %s", async (_label, start, first, reason) => {
      const h = await startHarness({
        config: configOf(yaml("customModelUnits: 4")),
        start: local(start),
      });
      await h.daemon.start();
      await h.clock.runUntil(local(start) + 60 * 60_000);
      const requests = h.invokeTimes.get(ARN_A) ?? [];
      expect(localTime(requests[0] as number)).toBe(first);
      expect(eventsOf(h.lines, "cold-start", "alpha")[0]?.reason).toBe(reason);
    });
  });

  describe("a clock jump inside a window", () => {
    it("sends one ping for the missed ones, never a burst", async () => {
      const h = await startHarness({
        config: configOf(yaml("customModelUnits: 4")),
        start: local("08:00"),
      });
      await h.daemon.start();
      await h.clock.runUntil(local("10:00"));
      h.clock.jumpTo(local("12:00"));
      await h.clock.runUntil(local("12:30"));

      const requests = (h.invokeTimes.get(ARN_A) ?? []).filter((t) => t > local("10:00"));
      expect(requests.filter((t) => t === local("12:00"))).toHaveLength(1);
      const missed = eventsOf(h.lines, "ping", "alpha").find((l) => at(l) >= local("12:00"));
      expect(missed?.reason).toBe(
        "9 planned ping(s) missed (clock jump or suspend); sending one now",
      );
      // The model had cooled during the jump: the one ping rides out the cold start.
      // Inside the window, where a user's call would have met it: a warning.
      expect(
        eventsOf(h.lines, "cold-start", "alpha").filter((l) => at(l) >= local("12:00")),
      ).toEqual([expect.objectContaining({ level: "warn", inWindow: true })]);
      expect(h.sim.modelState(ARN_A).state).not.toBe("cold");
    });
  });

  describe("applyConfig", () => {
    it("follows the new plan from the next instant, keeps unchanged models and logs the projection's move", async () => {
      const before = configOf(yaml("customModelUnits: 4"), join(tmpdir(), "kw-reload"));
      const h = await startHarness({ config: before, start: local("08:00") });
      await h.daemon.start();
      await h.clock.runUntil(local("10:00") + 30_000);
      const betaPingsBefore = h.daemon.status().models.find((m) => m.name === "beta")
        ?.counters.pingsOk;

      const after = configOf(
        yaml("customModelUnits: 4", "cadence: 5m"),
        join(tmpdir(), "kw-reload"),
      );
      await h.daemon.applyConfig(after);
      const reloadAt = h.clock.now();
      await h.clock.runUntil(local("11:00"));

      const model = after.models.find((m) => m.name === "alpha");
      if (!model) throw new Error("alpha missing");
      const planned = planModel(
        after,
        model,
        { start: reloadAt, end: local("11:00") },
        initialTimings(model),
      ).pings;
      const sent = (h.invokeTimes.get(ARN_A) ?? []).filter(
        (t) => t >= reloadAt && t < local("11:00"),
      );
      expect(sent).toEqual(planned);
      expect(planned.length).toBeGreaterThanOrEqual(11);

      const reload = eventsOf(h.lines, "reload");
      expect(reload).toHaveLength(1);
      expect(reload[0]).toMatchObject({ added: [], changed: ["alpha"], removed: [] });
      expect(reload[0]?.projectionChange).toMatch(/^\+\$[\d,]+\.\d\d\/month$/);
      // beta was not touched: no restart ping, its counters carry on.
      const beta = h.daemon.status().models.find((m) => m.name === "beta");
      expect(beta?.counters.pingsOk).toBeGreaterThan(betaPingsBefore ?? 0);
      expect(eventsOf(h.lines, "ping", "beta").filter((l) => l.reason !== "planned")).toEqual([]);
    });
  });

  describe("applyConfig during a cold start", () => {
    it("stops riding it out once the new plan no longer wants the model warm", async () => {
      const before = configOf(yaml("customModelUnits: 4"), join(tmpdir(), "kw-reload"));
      const h = await startHarness({ config: before, start: local("08:00") });
      h.sim.faults.add({ kind: "slowRestore", restoreMs: 8 * 60_000, modelArn: ARN_A });
      await h.daemon.start();
      await h.clock.runUntil(local("08:56"));
      expect(eventsOf(h.lines, "cold-start", "alpha")).toHaveLength(1);

      const off = yaml("customModelUnits: 4").replace("policy: business-hours", "policy: off");
      await h.daemon.applyConfig(configOf(off, join(tmpdir(), "kw-reload")));
      const reloadAt = h.clock.now();
      await h.clock.runUntil(local("10:00"));

      const after = (h.invokeTimes.get(ARN_A) ?? []).filter((t) => t > reloadAt);
      expect(after).toEqual([]);
    });
  });

  describe("a window that opens cold", () => {
    it("says so once, at warn, when Bedrock unloaded the warmed copy just before opening", async () => {
      const h = await startHarness({ config: configOf(yaml()), start: local("08:00") });
      // Warmed by 08:57; unloaded at 08:59:30, so ModelCopy reads 0 for 09:00.
      h.sim.faults.add({ kind: "evict", modelArn: ARN_A, at: local("08:59") + 30_000 });
      await h.daemon.start();
      await h.clock.runUntil(local("10:00"));
      const opened = eventsOf(h.lines, "opened-cold", "alpha");
      expect(opened).toMatchObject([
        {
          level: "warn",
          windowStart: new Date(local("09:00")).toISOString(),
          restoreBeganAt: null,
          restoreSeconds: null,
          leadTimeSource: "configured",
        },
      ]);
      // Read from the opening minute's datapoint once it is published (2 minutes late).
      expect(at(opened[0] as { time: string })).toBeGreaterThanOrEqual(local("09:03"));
      expect(at(opened[0] as { time: string })).toBeLessThanOrEqual(local("09:05"));
      // The warm-up itself had worked: its cold start was before opening.
      expect(eventsOf(h.lines, "cold-start", "alpha")[0]).toMatchObject({ inWindow: false });
      // beta opened warm: no line.
      expect(eventsOf(h.lines, "opened-cold", "beta")).toEqual([]);
      // Counted apart from the warm-up's cold start; the recovery met the model cold inside
      // the window.
      const counters = (name: string) =>
        h.daemon.status().models.find((m) => m.name === name)?.counters;
      expect(counters("alpha")).toMatchObject({ windowsOpenedCold: 1, coldStartsInWindow: 1 });
      expect(counters("alpha")?.coldStarts).toBe(2);
      expect(counters("beta")).toMatchObject({ windowsOpenedCold: 0, coldStartsInWindow: 0 });
    });
  });

  describe("a storm of reloads", () => {
    it("asks GetImportedModel again only for a model whose CMU setting changed", async () => {
      const text = yaml();
      const h = await startHarness({ config: configOf(text), start: local("10:00") });
      let lookups = 0;
      h.clients.get("us-west-2").bedrock.middlewareStack.add(
        (next, context) => async (args) => {
          if ((context as { commandName?: string }).commandName === "GetImportedModelCommand") {
            lookups++;
          }
          return next(args);
        },
        { step: "initialize", name: "countLookups" },
      );
      await h.daemon.start();
      expect(lookups).toBe(1);
      for (let i = 0; i < 20; i++) await h.daemon.applyConfig(configOf(text));
      expect(lookups).toBe(1);
      // A CMU setting taken out: the next reload asks AWS again.
      await h.daemon.applyConfig(configOf(yaml("customModelUnits: 4")));
      await h.daemon.applyConfig(configOf(text));
      expect(lookups).toBe(2);
    });
  });

  describe("an always-on model", () => {
    it("never counts a window opening: its window has no start, whatever range the plan covers", async () => {
      const text = yaml("customModelUnits: 4").replace(
        "policy: business-hours",
        "policy: always-on",
      );
      const gauges: { model: string; warm: boolean }[] = [];
      const h = await startHarness({
        config: configOf(text),
        start: local("10:00"),
        observer: {
          ...noopObserver,
          windowOpened: (model, warm) => gauges.push({ model, warm }),
        },
      });
      await h.daemon.start();
      // Three days: the plan is made again each time its 24-hour horizon runs out.
      await h.clock.runUntil(local("10:00", 10));
      expect(eventsOf(h.lines, "opened-cold", "alpha")).toEqual([]);
      expect(gauges.filter((g) => g.model === "alpha")).toEqual([]);
      const alpha = h.daemon.status().models.find((m) => m.name === "alpha");
      expect(alpha?.counters.windowsOpenedCold).toBe(0);
    });
  });

  describe("the daily summary", () => {
    it("appends one fsync'd JSON line at midnight that `keepwarm report` prints", async () => {
      const h = await startHarness({
        config: configOf(yaml("customModelUnits: 4")),
        start: local("00:00"),
      });
      await h.daemon.start();
      await h.clock.runUntil(local("00:10", 8));

      const lines = readFileSync(join(h.stateDir, "summaries.jsonl"), "utf8").trim().split("\n");
      expect(lines).toHaveLength(1);
      const summary = JSON.parse(lines[0] as string) as DailySummary;
      expect(summary).toMatchObject({ date: "2026-12-07", timezone: ZONE });
      const alpha = summary.models.find((m) => m.model === "alpha");
      expect(alpha).toMatchObject({
        coldStarts: 1,
        pingsOk: 39,
        pingsFailed: 0,
        plannedWarmMinutes: 547,
      });
      expect(alpha?.observedWarmMinutes).toBeGreaterThanOrEqual(540);
      expect(alpha?.restoreSecondsMedian).toBeGreaterThanOrEqual(80);
      expect(alpha?.evictionMinutesMedian).toBe(15);
      const ledger = h.sim.ledger({ start: local("00:00"), end: local("00:00", 8) });
      const billed = ledger.models.find((m) => m.modelArn === ARN_A)?.usd ?? 0;
      const toCents = (x: number) => Math.round(x * 100) / 100;
      expect(alpha?.dayUsd).toBe(toCents(billed));
      // The total adds up the models' figures, each rounded to the cent.
      expect(Math.abs(summary.total.dayUsd - ledger.usd)).toBeLessThanOrEqual(0.01);
      expect(eventsOf(h.lines, "daily-summary")).toHaveLength(1);

      const out: string[] = [];
      const code = await printReport(
        { stateDir: h.stateDir, days: "7" },
        { stdout: (l) => out.push(l), stderr: (l) => out.push(l) },
      );
      expect(code).toBe(0);
      expect(out[0]).toMatch(/^date\s+model\s+warm min plan\/seen/);
      expect(out.some((l) => /^2026-12-07\s+alpha\s+547\//.test(l))).toBe(true);
      expect(out.some((l) => /^2026-12-07\s+TOTAL/.test(l))).toBe(true);
    });

    it("covers the whole day before a midnight that DST skips", async () => {
      // Chile moves its clocks from 24:00 to 01:00: 6 September 2026 begins at 01:00.
      const zone = "America/Santiago";
      const h = await startHarness({
        config: configOf(`
timezone: ${zone}
models:
  - name: alpha
    modelArn: ${ARN_A}
    policy: always-on
    customModelUnits: 4
`),
        start: DateTime.fromISO("2026-09-05T20:00", { zone }).toMillis(),
      });
      await h.daemon.start();
      await h.clock.runUntil(DateTime.fromISO("2026-09-06T01:10", { zone }).toMillis());

      const summary = eventsOf(h.lines, "daily-summary")[0] as unknown as DailySummary | undefined;
      expect(summary?.date).toBe("2026-09-05");
      expect(summary?.models[0]?.plannedWarmMinutes).toBe(24 * 60);
    });

    it("counts a day in full although the UTC month rolled over during it", async () => {
      // Tuesday 1 December in Shanghai runs from 30 November 16:00 UTC; December begins at 08:00.
      const h = await startHarness({
        config: configOf(`
timezone: ${ZONE}
models:
  - name: alpha
    modelArn: ${ARN_A}
    policy: always-on
    customModelUnits: 4
`),
        start: Date.UTC(2026, 10, 30, 12, 0),
      });
      await h.daemon.start();
      await h.clock.runUntil(local("00:10", 2));

      const summary = eventsOf(h.lines, "daily-summary").at(-1) as unknown as
        | DailySummary
        | undefined;
      expect(summary?.date).toBe("2026-12-01");
      const alpha = summary?.models.find((m) => m.model === "alpha");
      // A whole day warm, less the minutes ModelCopy had not published yet at midnight.
      expect(alpha?.observedWarmMinutes).toBeGreaterThanOrEqual(1430);
      const ledger = h.sim.ledger({ start: local("00:00", 1), end: local("00:00", 2) });
      expect(alpha?.dayUsd).toBeGreaterThan(ledger.usd * 0.99);
    });
  });
});
