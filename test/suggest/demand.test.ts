import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { callsWithin, foldWeekly, slotOf, userDemand } from "../../src/suggest/demand.js";
import { BUCKET_MS, SLOTS_PER_DAY } from "../../src/suggest/types.js";

const T0 = Date.parse("2027-03-01T00:00:00Z");
const at = (i: number) => T0 + i * BUCKET_MS;
const range = (n: number) => ({ start: T0, end: at(n) });
const fine = (values: number[]) => [{ start: T0, periodMs: BUCKET_MS, values }];
const NO_PLAN = { pings: [], warmUps: [] };

describe("userDemand", () => {
  it("takes keepwarm's counted pings out of Invocations and the cold-call metric", () => {
    const demand = userDemand({
      range: range(4),
      invocations: fine([3, 1, 0, 2]),
      cold: fine([0, 2, 0, 0]),
      own: {
        since: T0,
        ok: new Map([
          [at(0), 1],
          [at(3), 2],
        ]),
        notReady: new Map([[at(1), 2]]),
      },
      planned: { pings: [at(2)], warmUps: [] },
    });
    expect([...demand.calls]).toEqual([2, 1, 0, 0]);
  });

  it("matches a ping CloudWatch put in the bucket next to the one counted", () => {
    const demand = userDemand({
      range: range(4),
      invocations: fine([1, 0, 0, 1]),
      cold: fine([0, 0, 0, 0]),
      // Counted in buckets 1 and 2; CloudWatch has them in 0 and 3.
      own: {
        since: T0,
        ok: new Map([
          [at(1), 1],
          [at(2), 1],
        ]),
        notReady: new Map(),
      },
      planned: NO_PLAN,
    });
    expect([...demand.calls]).toEqual([0, 0, 0, 0]);
  });

  it("takes the plan's pings and warm-ups out before pings.json began", () => {
    const demand = userDemand({
      range: range(4),
      invocations: fine([2, 1, 1, 1]),
      cold: fine([5, 0, 1, 0]),
      own: { since: at(2), ok: new Map([[at(3), 1]]), notReady: new Map() },
      planned: { pings: [at(0), at(1), at(3)], warmUps: [{ start: at(0), end: at(0) + 60_000 }] },
    });
    // Bucket 0: 2 - 1 planned ping, its warm-up's 5 cold answers keepwarm's; bucket 2: a
    // user's call and a user's cold call, pings.json counting nothing there.
    expect([...demand.calls]).toEqual([1, 0, 2, 0]);
  });

  it("spreads an hourly datapoint over its twelve buckets once keepwarm's requests are out", () => {
    const demand = userDemand({
      range: range(12),
      invocations: [{ start: T0, periodMs: 12 * BUCKET_MS, values: [30] }],
      cold: [],
      own: { since: T0, ok: new Map([[at(4), 6]]), notReady: new Map() },
      planned: NO_PLAN,
    });
    expect([...demand.calls]).toEqual(new Array(12).fill(2));
  });
});

describe("foldWeekly", () => {
  const zone = "America/New_York";
  const ny = (iso: string) => DateTime.fromISO(iso, { zone }).toMillis();

  it("puts 19:00 New York time in the same slot either side of the spring-forward change", () => {
    const before = slotOf(ny("2027-03-12T19:00"), zone);
    const after = slotOf(ny("2027-03-19T19:00"), zone);
    expect(before).toBe(after);
    expect(before).toBe(4 * SLOTS_PER_DAY + (19 * 60) / 5);
    // The same UTC time of day is an hour apart in local time.
    expect(slotOf(Date.parse("2027-03-13T00:00:00Z"), zone)).not.toBe(
      slotOf(Date.parse("2027-03-20T00:00:00Z"), zone) - SLOTS_PER_DAY,
    );
  });

  it("averages over the weeks: a call each Friday 19:00 for two weeks is one a week", () => {
    const start = ny("2027-03-08T00:00");
    const n = (14 * 86_400_000) / BUCKET_MS;
    const calls = new Float64Array(n);
    for (const t of [ny("2027-03-12T19:02"), ny("2027-03-19T19:03")]) {
      calls[Math.floor((t - start) / BUCKET_MS)] = 1;
    }
    const profile = foldWeekly({ start, calls, cold: new Float64Array(n) }, zone);
    expect(profile[4 * SLOTS_PER_DAY + (19 * 60) / 5]).toBeCloseTo(1, 12);
    expect(profile.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(
      callsWithin({ start, calls, cold: new Float64Array(n) }, [
        { start: ny("2027-03-19T19:00"), end: ny("2027-03-19T19:05") },
      ]),
    ).toBe(1);
  });
});
