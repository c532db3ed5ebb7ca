import { tmpdir } from "node:os";
import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../src/config/load.js";
import {
  describeRateNeed,
  formatRate,
  type ModelRate,
  RATE_MARGIN,
  rateNeed,
} from "../../src/domain/rateNeed.js";
import { initialTimings, type ModelTimings } from "../../src/domain/timings.js";
import type { ResolvedConfig } from "../../src/domain/types.js";

const ZONE = "Asia/Shanghai";
const MIN = 60_000;

/** `hhmm` on `day` December 2026 (Monday the 7th unless told), in Shanghai. */
function local(hhmm: string, day = 7): number {
  const [hour, minute] = hhmm.split(":").map(Number);
  return DateTime.fromObject(
    { year: 2026, month: 12, day, hour, minute },
    { zone: ZONE },
  ).toMillis();
}

function configOf(models: readonly { name: string; policy: string }[], extra = ""): ResolvedConfig {
  const yaml = `timezone: ${ZONE}\n${extra}models:\n${models
    .map(
      (m, i) =>
        `  - name: ${m.name}\n    modelArn: arn:aws:bedrock:us-east-1:123456789012:imported-model/${i.toString(36).padStart(12, "0")}\n    policy: ${m.policy}\n`,
    )
    .join("")}`;
  const loaded = parseConfigText(yaml, "test.yaml", { stateDir: tmpdir() });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return loaded.config;
}

/** Every model of `config` at the timings it starts with: nothing measured yet. */
const starting = (config: ResolvedConfig): ModelRate[] =>
  config.models.map((model) => ({ model, timings: initialTimings(model) }));

const businessHours = (n: number) =>
  configOf(Array.from({ length: n }, (_, i) => ({ name: `m${i}`, policy: "business-hours" })));

describe("rateNeed", () => {
  it("needs a ping per starting cadence per model, and a request more to wake each, from the lead ping", () => {
    const config = businessHours(30);
    const need = rateNeed(config, starting(config), 0.05, local("08:00"));
    // Nothing measured: eviction assumed 5 min -> cadence 4 min; restore 5 min -> lead 6 min.
    const keepAlive = 30 / 240;
    const wake = 30 / 360;
    expect(need.peak).toMatchObject({ at: local("08:54"), warmModels: 30 });
    expect(need.peak?.keepAlivePerSecond).toBeCloseTo(keepAlive, 9);
    expect(need.peak?.wakePerSecond).toBeCloseTo(wake, 9);
    expect(need.peak?.perSecond).toBeCloseTo((keepAlive + wake) * (1 + RATE_MARGIN), 9);
    expect(need.shortFrom).toBe(local("08:54"));
    // 0.05/s less the margin carries 0.04545 / (1/240) = 10.9 models.
    expect(need.carried).toBe(10);
    expect(need.assumedCadence).toBe(30);
    expect(need.range).toEqual({ start: local("08:00"), end: local("08:00", 14) });
  });

  it("is not short when the rate covers the busiest instant of the week", () => {
    const config = businessHours(30);
    const need = rateNeed(config, starting(config), 5, local("08:00"));
    expect(need.shortFrom).toBeUndefined();
    expect(need.carried).toBe(30);
  });

  it("needs less at a learned cadence", () => {
    const config = businessHours(30);
    const learned = config.models.map((model) => {
      const t = initialTimings(model);
      const timings: ModelTimings = {
        ...t,
        cadence: { ms: 14 * MIN, source: "learned" },
        evictionDelay: { ms: 15 * MIN, source: "learned" },
      };
      return { model, timings };
    });
    const need = rateNeed(config, learned, 0.05, local("08:00"));
    expect(need.assumedCadence).toBe(0);
    // The lead ping's wake-ups end at 09:00; the keep-alives alone go on to 17:47.
    expect(need.peak?.keepAlivePerSecond).toBeCloseTo(30 / 840, 9);
    // 0.04545 / (1/840) = 38 models: all 30 are carried, but not while they wake.
    expect(need.carried).toBe(30);
    expect(need.shortFrom).toBe(local("08:54"));
  });

  it("says the issue's fleet is short from the start: 10,000 models, a third each always-on, business-hours, off", () => {
    const config = configOf([
      { name: "on", policy: "always-on" },
      { name: "office", policy: "business-hours" },
      { name: "idle", policy: "off" },
    ]);
    const [on, office, idle] = starting(config) as [ModelRate, ModelRate, ModelRate];
    const copy = (m: ModelRate, i: number): ModelRate => ({
      model: { ...m.model, name: `${m.model.name}-${i}` },
      timings: m.timings,
    });
    const fleet = Array.from({ length: 10_000 }, (_, i) =>
      copy([on, office, idle][i % 3] as ModelRate, i),
    );
    const need = rateNeed(config, fleet, 5, local("00:00"));
    // 3,334 always-on models alone need 13.9 requests/s at the starting 4-minute cadence.
    expect(need.shortFrom).toBe(local("00:00"));
    expect(need.assumedCadence).toBe(3_334 + 3_333);
    expect(need.peakWarm?.warmModels).toBe(3_334 + 3_333);
    expect(need.peakWarm?.at).toBe(local("08:54"));
    expect(need.peakWarm?.keepAlivePerSecond).toBeCloseTo(6_667 / 240, 6);
    // 5/s less the margin keeps 1,090 models on a 4-minute cadence.
    expect(need.carried).toBe(1_090);
    const text = describeRateNeed(need, ZONE);
    expect(text).toContain("daemon.invokeRatePerSecond 5/s is short from 2026-12-07 00:00");
    expect(text).toContain("about 1,090 of the 6,667 model(s) warm at once");
    expect(text).toContain(
      `Raise daemon.invokeRatePerSecond to ${formatRate(need.peak?.perSecond ?? 0, true)}`,
    );
  });

  it("plans a model with an override apart from the others of its policy", () => {
    const config = configOf(
      [
        { name: "a", policy: "business-hours" },
        { name: "b", policy: "business-hours" },
      ],
      "overrides:\n  - models: [b]\n    policy: always-on\n    from: 2026-12-12T00:00\n    until: 2026-12-13T00:00\n",
    );
    // From Friday evening: the weekday windows are over, b is warm all Saturday.
    const need = rateNeed(config, starting(config), 0.001, local("20:00", 11));
    expect(need.shortFrom).toBe(local("23:54", 11));
    expect(need.peakWarm?.warmModels).toBe(2);
    expect(need.peakWarm?.at).toBe(local("08:54", 14));
  });

  it("needs nothing of a fleet that is never warm", () => {
    const config = configOf([{ name: "idle", policy: "off" }]);
    const need = rateNeed(config, starting(config), 5, local("00:00"));
    expect(need).toMatchObject({ peak: undefined, shortFrom: undefined, carried: 0 });
    expect(describeRateNeed(need, ZONE)).toBe(
      "InvokeModel rate: no model is planned warm in the coming week (daemon.invokeRatePerSecond 5/s)",
    );
  });
});

describe("formatRate", () => {
  it.each([
    [0.0454545, false, "0.0455"],
    [0.22916, true, "0.23"],
    [27.775, false, "27.8"],
    [30.5525, true, "30.6"],
    [5, true, "5"],
    [1234.2, true, "1235"],
    [0, false, "0"],
  ])("%s (up: %s) is %s", (x, up, text) => {
    expect(formatRate(x, up)).toBe(text);
  });
});
