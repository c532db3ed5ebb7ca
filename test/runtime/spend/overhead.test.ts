import { describe, expect, it } from "vitest";
import { API_PRICES, type ApiCounts, apiCostUsd } from "../../../src/domain/apiPrices.js";
import { OverheadMeter, overheadDaySummary } from "../../../src/runtime/spend/overhead.js";

const MIN = 60_000;
const HOUR = 60 * MIN;
/** Tuesday 8 December 2026, 12:00 UTC. */
const T0 = Date.UTC(2026, 11, 8, 12, 0);
const DEC_END = Date.UTC(2027, 0, 1);

function meterAt(start: number) {
  let now = start;
  const told: ApiCounts[] = [];
  const meter = new OverheadMeter(
    () => now,
    (c) => told.push(c),
  );
  return { meter, told, set: (t: number) => (now = t) };
}

describe("OverheadMeter", () => {
  it("prices GetMetricData per metric requested and Cost Explorer per request, at the stated prices", () => {
    expect(API_PRICES.getMetricDataUsdPerMetric * 1_000).toBeCloseTo(0.01, 12);
    expect(API_PRICES.costExplorerUsdPerRequest).toBe(0.01);
    const { meter, told } = meterAt(T0);
    for (let i = 0; i < 4; i++) meter.recordGetMetricData(500);
    meter.recordCostExplorerRequests(3);
    const f = meter.figures();
    expect(f.counts).toEqual({
      getMetricDataCalls: 4,
      metricsRequested: 2_000,
      listMetricsRequests: 0,
      costExplorerRequests: 3,
    });
    // 2,000 metrics $0.02, 3 requests $0.03.
    expect(f.monthToDateUsd).toBeCloseTo(0.05, 12);
    expect(f.since).toBe(T0);
    expect(told.map((c) => [c.metricsRequested, c.costExplorerRequests])).toEqual([
      [500, 0],
      [500, 0],
      [500, 0],
      [500, 0],
      [0, 3],
    ]);
  });

  it("projects the month at the rate counted since the start, once an hour has been counted", () => {
    const { meter, set } = meterAt(T0);
    meter.recordGetMetricData(600);
    set(T0 + 59 * MIN);
    expect(meter.figures().projectedMonthUsd).toBeUndefined();
    set(T0 + 2 * HOUR);
    // $0.006 in 2 hours: $0.003 an hour for the rest of December.
    const restHours = (DEC_END - (T0 + 2 * HOUR)) / HOUR;
    expect(meter.figures().projectedMonthUsd).toBeCloseTo(0.006 + 0.003 * restHours, 10);
  });

  it("starts a new UTC month from its 1st 00:00, and keeps each day's calls until taken", () => {
    const { meter, set } = meterAt(Date.UTC(2026, 11, 31, 23, 0));
    meter.recordGetMetricData(100);
    set(DEC_END + 30 * MIN);
    meter.recordGetMetricData(40);
    const f = meter.figures();
    expect(f.since).toBe(DEC_END);
    expect(f.counts.metricsRequested).toBe(40);
    expect(meter.takeDay().metricsRequested).toBe(140);
    expect(meter.takeDay().metricsRequested).toBe(0);
    expect(meter.figures().counts.metricsRequested).toBe(40);
  });

  it("gives the daily summary the day's calls and the month's cost in cents", () => {
    const { meter, set } = meterAt(T0);
    meter.recordGetMetricData(1_500);
    meter.recordListMetricsRequests(2);
    set(T0 + 3 * HOUR);
    const day = meter.takeDay();
    const summary = overheadDaySummary(day, meter.figures());
    expect(summary).toEqual({
      getMetricDataCalls: 1,
      metricsRequested: 1_500,
      listMetricsRequests: 2,
      costExplorerRequests: 0,
      dayUsd: 0.02,
      monthToDateUsd: 0.02,
      projectedMonthUsd: expect.any(Number),
      since: new Date(T0).toISOString(),
    });
    expect(apiCostUsd(day)).toBeCloseTo(0.01502, 12);
  });
});
