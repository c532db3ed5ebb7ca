import { describe, expect, it } from "vitest";
import { fleetTotals, statusJson, windowCoverage } from "../../../src/runtime/http/statusJson.js";
import { at, daemonStatus, modelStatus } from "./statusPageFixture.js";

describe("statusJson", () => {
  it("gives instants in ISO 8601 UTC and absent values as null", () => {
    const json = statusJson(
      daemonStatus({
        models: [modelStatus({ lastPing: undefined, nextPingAt: undefined, copies: undefined })],
      }),
    );
    expect(json.now).toBe("2026-12-07T05:30:00.000Z");
    expect(json.timezone).toBe("Asia/Shanghai");
    const [m] = json.models;
    expect(m?.currentWindow).toEqual({
      start: "2026-12-07T01:00:00.000Z",
      end: "2026-12-07T10:00:00.000Z",
    });
    expect(m?.stateSince).toBe("2026-12-07T00:57:00.000Z");
    expect(m?.lastPing).toBeNull();
    expect(m?.nextPingAt).toBeNull();
    expect(m?.copies).toBeNull();
    expect(m?.spend.budgetUsd).toBeNull();
    expect(m?.today.coldStarts).toEqual(["2026-12-07T00:55:00.000Z"]);
    // Every field survives JSON: none is left undefined.
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it("gives timings in seconds with their source", () => {
    const [m] = statusJson(daemonStatus()).models;
    expect(m?.timings).toEqual({
      cadence: { seconds: 840, source: "configured" },
      leadTime: { seconds: 300, source: "assumed" },
      evictionDelay: { seconds: 900, source: "learned" },
      restore: { seconds: 90, source: "assumed" },
    });
  });

  it("rounds money to the cent and sums the fleet over models with a known CMU", () => {
    const json = statusJson(
      daemonStatus({
        fleetBudgetUsd: 5_000,
        models: [
          modelStatus({ monthToDateUsd: 0.1 + 0.2, projectedMonthUsd: 100.004 }),
          modelStatus({ name: "b", monthToDateUsd: 1.005, projectedMonthUsd: 200 }),
          modelStatus({
            name: "c",
            state: "cold",
            cmu: undefined,
            monthToDateUsd: undefined,
            projectedMonthUsd: undefined,
            alwaysOnMonthUsd: undefined,
            savingUsd: undefined,
          }),
        ],
      }),
    );
    expect(json.models[0]?.spend.monthToDateUsd).toBe(0.3);
    expect(json.models[0]?.spend.projectedMonthUsd).toBe(100);
    expect(json.models[2]?.spend).toMatchObject({
      cmu: null,
      monthToDateUsd: null,
      savingUsd: null,
    });
    expect(json.fleet).toMatchObject({
      models: 3,
      warm: 2,
      cold: 1,
      unknown: 0,
      modelsWithoutCmu: 1,
      projectedMonthUsd: 300,
      alwaysOnMonthUsd: 20_420.12,
      budgetUsd: 5_000,
    });
  });
});

describe("statusJson: windows, zones and unknown money", () => {
  it("leaves out the end of a window that does not close within the days looked ahead", () => {
    const now = at("13:30");
    const lookAheadEnd = now + 8 * 86_400_000;
    const [m] = statusJson(
      daemonStatus({
        models: [
          modelStatus({
            currentWindow: { start: now, end: lookAheadEnd },
            nextWindow: undefined,
            lookAheadEnd,
          }),
        ],
      }),
    ).models;
    expect(m?.currentWindow).toEqual({ start: "2026-12-07T05:30:00.000Z", end: null });
    expect(m?.nextWindow).toBeNull();
  });

  it("names the zone of each policy", () => {
    const [m] = statusJson(
      daemonStatus({
        models: [
          modelStatus({
            activePolicy: "always-on",
            policyTimezone: "America/Los_Angeles",
            activePolicyTimezone: "Asia/Shanghai",
          }),
        ],
      }),
    ).models;
    expect(m).toMatchObject({
      policyTimezone: "America/Los_Angeles",
      activePolicyTimezone: "Asia/Shanghai",
    });
  });

  it("gives the fleet's money as null, not 0, while no model's month has been read", () => {
    const unread = modelStatus({
      monthToDateUsd: undefined,
      projectedMonthUsd: undefined,
      savingUsd: undefined,
    });
    const json = statusJson(daemonStatus({ models: [unread] }));
    expect(json.fleet).toMatchObject({
      modelsWithoutCmu: 0,
      modelsNotRead: 1,
      monthToDateUsd: null,
      projectedMonthUsd: null,
      alwaysOnMonthUsd: null,
      savingUsd: null,
    });
    expect(json.models[0]?.spend).toMatchObject({
      cmu: 4,
      monthToDateUsd: null,
      alwaysOnMonthUsd: 10_210.06,
    });
  });

  it("counts coverage in whole minutes when now falls inside one", () => {
    const [m] = statusJson(daemonStatus({ now: at("13:30") + 12_219 })).models;
    expect(m?.today.coverage).toEqual({
      windowMinutes: 270,
      observedMinutes: 258,
      warmMinutes: 258,
    });
  });
});

describe("fleetTotals", () => {
  it("counts no money for an empty fleet", () => {
    expect(fleetTotals(daemonStatus({ models: [] }))).toEqual({
      models: 0,
      warm: 0,
      cold: 0,
      unknown: 0,
      modelsWithoutCmu: 0,
      modelsNotRead: 0,
      monthToDateUsd: 0,
      projectedMonthUsd: 0,
      alwaysOnMonthUsd: 0,
      savingUsd: 0,
    });
  });
});

describe("windowCoverage", () => {
  const today = modelStatus().today;
  it.each([
    // before the window opens: nothing counted yet
    [at("08:59"), { windowMinutes: 0, observedMinutes: 0, warmMinutes: 0 }],
    // 09:00-11:00 warm, 11:00-11:10 without data
    [at("11:10"), { windowMinutes: 130, observedMinutes: 120, warmMinutes: 120 }],
    // after the last datapoint (13:28), minutes are unknown, not cold
    [at("13:30"), { windowMinutes: 270, observedMinutes: 258, warmMinutes: 258 }],
    [at("23:00"), { windowMinutes: 540, observedMinutes: 258, warmMinutes: 258 }],
  ])("at %i", (now, coverage) => {
    expect(windowCoverage(today, now)).toEqual(coverage);
  });

  it("counts observed cold minutes inside a window as observed, not warm", () => {
    const cold = { ...today, observedWarm: [{ start: at("10:00"), end: at("11:00") }] };
    expect(windowCoverage(cold, at("11:00"))).toEqual({
      windowMinutes: 120,
      observedMinutes: 120,
      warmMinutes: 60,
    });
  });
});
