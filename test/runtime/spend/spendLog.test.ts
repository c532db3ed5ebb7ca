import { describe, expect, it } from "vitest";
import { formatProblem, parseConfigText } from "../../../src/config/load.js";
import {
  ARN,
  businessHoursYaml,
  configOf,
  eventsOf,
  harnessPerTest,
  type LogLine,
  local,
  localTime,
  MIMO_VL,
} from "../../e2e/daemonHarness.js";

const LLAMA = {
  name: "llama-8b",
  modelArn: ARN.replace("km5b98xhpqel", "ab12cd34ef56"),
  lines: ["customModelUnits: 2"],
};

const yaml = (spendLog: string) => `${businessHoursYaml({ models: [MIMO_VL, LLAMA] })}${spendLog}`;

describe("daemon.spendLog", () => {
  it("names the field, its line:column and what is allowed", () => {
    const text = yaml("daemon:\n  spendLog:\n    perModel: sometimes\n    refresh: 30s\n");
    const result = parseConfigText(text, "k.yaml");
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems.map(formatProblem);
    const line = text.split("\n").findIndex((l) => l.includes("perModel")) + 1;
    expect(problems).toEqual([
      `k.yaml:${line}:15: daemon.spendLog.perModel: is "sometimes"; allowed: every-minute or on-change`,
      `k.yaml:${line + 1}:14: daemon.spendLog.refresh: is "30s"; allowed: 1m to 24h`,
    ]);
  });
});

describe("Daemon spend lines", () => {
  const start = harnessPerTest();

  it("logs a spend line per model every minute by default, and no total", async () => {
    const h = await start({ config: configOf(yaml("")), start: local("07:00") });
    await h.daemon.start();
    await h.clock.runUntil(local("07:30:30"));
    expect(eventsOf(h.lines, "spend", "mimo-vl")).toHaveLength(30);
    expect(eventsOf(h.lines, "spend", "llama-8b")).toHaveLength(30);
    expect(eventsOf(h.lines, "spend-total")).toEqual([]);
  });

  it("with perModel: on-change, a total every minute and a model's line on change and every refresh", async () => {
    const config = configOf(
      yaml("daemon:\n  spendLog:\n    perModel: on-change\n    refresh: 20m\n"),
    );
    expect(config.daemon.spendLog).toEqual({ perModel: "on-change", refreshMs: 20 * 60_000 });
    const h = await start({ config, start: local("08:00") });
    await h.daemon.start();
    await h.clock.runUntil(local("10:00:30"));
    const totals = eventsOf(h.lines, "spend-total");
    expect(totals).toHaveLength(120);
    expect(totals.at(-1)).toMatchObject({
      models: 2,
      warm: 2,
      cold: 0,
      copies: 2,
      spendUnknown: 0,
    });
    const times = (m: string) =>
      eventsOf(h.lines, "spend", m).map((l) => localTime(Date.parse(l.time)));
    // 08:01 first, then every 20 minutes while nothing changes, and at once when the model
    // turns warm: the 08:55 ping shows in ModelCopy a few minutes later.
    const warm = eventsOf(h.lines, "spend", "mimo-vl").find((l) => l.state === "warm");
    const warmAt = localTime(Date.parse(String(warm?.time)));
    expect(times("mimo-vl").slice(0, 3)).toEqual(["08:01:00", "08:21:00", "08:41:00"]);
    expect(warmAt > "08:55:00" && warmAt < "09:01:00").toBe(true);
    expect(times("mimo-vl")).toContain(warmAt);
    expect(times("mimo-vl").length).toBeLessThan(12);
    // The total's money is the models' sum at the same minute.
    const firstOf = (m: string) => eventsOf(h.lines, "spend", m)[0] as LogLine;
    const total0 = totals.find((t) => t.time === firstOf("mimo-vl").time);
    expect(total0?.projectedMonthUsd).toBeCloseTo(
      Number(firstOf("mimo-vl").projectedMonthUsd) + Number(firstOf("llama-8b").projectedMonthUsd),
      1,
    );
  });
});
