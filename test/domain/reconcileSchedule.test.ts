import { describe, expect, it } from "vitest";
import {
  addDays,
  afterAnswer,
  afterFailure,
  decideReconcile,
  FAILURE_BACKOFF_MS,
  freshSchedule,
  mergeSchedules,
  overdueDays,
  pendingDays,
  RETRY_MS,
  type ReconcileSchedule,
  settle,
  utcDate,
} from "../../src/domain/reconcileSchedule.js";
import { DAY_MS, HOUR_MS, MINUTE_MS } from "../../src/domain/units.js";

const at = (iso: string) => Date.parse(iso);
const schedule = (over: Partial<ReconcileSchedule> = {}): ReconcileSchedule => ({
  since: "2026-12-01",
  settled: [],
  notBefore: 0,
  ...over,
});

describe("utcDate and addDays", () => {
  it.each([
    ["2026-12-31T23:59:59.999Z", "2026-12-31"],
    ["2027-01-01T00:00:00.000Z", "2027-01-01"],
    // A Shanghai midnight is 16:00 UTC the day before: the bill's days are UTC days.
    ["2026-12-07T00:00:00+08:00", "2026-12-06"],
  ])("the UTC day of %s is %s", (iso, date) => {
    expect(utcDate(at(iso))).toBe(date);
  });

  it.each([
    ["2026-12-31", 1, "2027-01-01"],
    ["2028-03-01", -1, "2028-02-29"],
    ["2027-03-01", -1, "2027-02-28"],
    ["2026-12-05", -45, "2026-10-21"],
  ])("%s plus %i days is %s", (date, days, expected) => {
    expect(addDays(date, days)).toBe(expected);
  });
});

describe("decideReconcile", () => {
  describe("when a day comes due", () => {
    it.each([
      // [now, since, settled, expected decision, range]
      ["2026-12-02T23:59:00Z", "2026-12-01", [], "wait", undefined],
      ["2026-12-03T00:00:00Z", "2026-12-01", [], "request", ["2026-12-01", "2026-12-02"]],
      ["2026-12-04T00:00:00Z", "2026-12-01", [], "request", ["2026-12-01", "2026-12-03"]],
      [
        "2026-12-04T00:00:00Z",
        "2026-12-01",
        ["2026-12-01"],
        "request",
        ["2026-12-02", "2026-12-03"],
      ],
      ["2026-12-04T12:00:00Z", "2026-12-01", ["2026-12-01", "2026-12-02"], "wait", undefined],
      [
        "2027-01-02T00:00:00Z",
        "2026-12-30",
        ["2026-12-30"],
        "request",
        ["2026-12-31", "2027-01-01"],
      ],
    ] as const)("at %s (since %s, settled %j) it is %s %j", (now, since, settled, kind, range) => {
      const d = decideReconcile(schedule({ since, settled: [...settled] }), at(now));
      expect(d.kind).toBe(kind);
      if (d.kind === "request") expect([d.from, d.to]).toEqual(range);
    });

    it("waits, with nothing pending, until 00:00 UTC two days after the next day", () => {
      const d = decideReconcile(
        schedule({ since: "2026-12-01", settled: ["2026-12-01", "2026-12-02"] }),
        at("2026-12-04T07:13:00Z"),
      );
      expect(d).toMatchObject({ kind: "wait", until: at("2026-12-05T00:00:00Z"), days: [] });
      expect(d.reason).toContain("2026-12-03 is due at 2026-12-05T00:00:00.000Z");
    });

    it("asks about every pending day in one range, settled days in between included", () => {
      const d = decideReconcile(
        schedule({ settled: ["2026-12-02", "2026-12-03"] }),
        at("2026-12-07T00:00:00Z"),
      );
      expect(d).toMatchObject({
        kind: "request",
        from: "2026-12-01",
        to: "2026-12-06",
        days: ["2026-12-01", "2026-12-04", "2026-12-05"],
      });
    });
  });

  describe("after a request", () => {
    it("waits RETRY_MS (6 h) while days are still estimated", () => {
      const now = at("2026-12-05T00:00:00Z");
      const s = afterAnswer(schedule(), now, ["2026-12-01", "2026-12-02"]);
      expect(s.settled).toEqual(["2026-12-01", "2026-12-02"]);
      expect(s.notBefore).toBe(now + RETRY_MS);
      expect(decideReconcile(s, now + RETRY_MS - MINUTE_MS)).toMatchObject({
        kind: "wait",
        until: now + 6 * HOUR_MS,
        days: ["2026-12-03"],
      });
      expect(decideReconcile(s, now + RETRY_MS)).toMatchObject({
        kind: "request",
        from: "2026-12-03",
        to: "2026-12-04",
      });
    });

    it("asks about the next day as soon as it is due when nothing is left pending", () => {
      const now = at("2026-12-05T00:00:00Z");
      const s = afterAnswer(schedule(), now, ["2026-12-01", "2026-12-02", "2026-12-03"]);
      expect(s.notBefore).toBe(now);
      expect(decideReconcile(s, at("2026-12-05T23:59:00Z")).kind).toBe("wait");
      expect(decideReconcile(s, at("2026-12-06T00:00:00Z"))).toMatchObject({
        kind: "request",
        from: "2026-12-04",
        to: "2026-12-05",
      });
    });

    it.each([
      [1, 15 * MINUTE_MS],
      [2, 30 * MINUTE_MS],
      [3, HOUR_MS],
      [5, 4 * HOUR_MS],
      [6, 6 * HOUR_MS],
      [40, 6 * HOUR_MS],
    ])("backs off after failure %i by %i ms", (failures, wait) => {
      const now = at("2026-12-05T00:00:00Z");
      expect(afterFailure(schedule(), now, failures).notBefore).toBe(now + wait);
      expect(FAILURE_BACKOFF_MS.at(-1)).toBe(RETRY_MS);
    });
  });

  describe("over a month against a Cost Explorer that finalises days late", () => {
    /**
     * A day is estimated until `finalAfterMs` past its end; the schedule is asked every 5
     * minutes (every instant it names is on one). Returns the requests by UTC day they
     * were made on.
     */
    function run(finalAfterMs: number, failing: (t: number) => boolean = () => false) {
      const start = at("2026-12-01T00:00:00Z");
      let s = freshSchedule(start);
      let failures = 0;
      const requests = new Map<string, number>();
      const reconciledAt = new Map<string, number>();
      for (let now = start; now < start + 31 * DAY_MS; now += 5 * MINUTE_MS) {
        const d = decideReconcile(s, now);
        if (d.kind !== "request") continue;
        requests.set(utcDate(now), (requests.get(utcDate(now)) ?? 0) + 1);
        if (failing(now)) {
          failures++;
          s = afterFailure(s, now, failures);
          continue;
        }
        failures = 0;
        const final = d.days.filter((day) => now >= Date.parse(day) + DAY_MS + finalAfterMs);
        for (const day of final) reconciledAt.set(day, now);
        s = afterAnswer(s, now, final);
      }
      return { requests, reconciledAt, s };
    }

    it("makes one request a day when each day is final when first asked", () => {
      const { requests, reconciledAt } = run(20 * HOUR_MS);
      expect(Math.max(...requests.values())).toBe(1);
      // The week before the first start, then every day 2 days after it.
      expect(reconciledAt.get("2026-11-24")).toBe(at("2026-12-01T00:00:00Z"));
      expect(reconciledAt.get("2026-12-10")).toBe(at("2026-12-12T00:00:00Z"));
      expect(reconciledAt.size).toBe(7 + 29);
    });

    it("makes at most 4 a day when days stay estimated for 3 days, and reconciles each within 6 h of final", () => {
      const finalAfter = 3 * DAY_MS + 5 * HOUR_MS;
      const { requests, reconciledAt } = run(finalAfter);
      expect(Math.max(...requests.values())).toBe(4);
      for (const [day, when] of reconciledAt) {
        const final = Date.parse(day) + DAY_MS + finalAfter;
        const due = Math.max(final, Date.parse(day) + 2 * DAY_MS, at("2026-12-01T00:00:00Z"));
        expect(when - due, day).toBeLessThanOrEqual(RETRY_MS);
      }
    });

    it("backs off under failures: at most 9 requests on the first day, then 4", () => {
      const outageEnd = at("2026-12-04T00:00:00Z");
      const { requests, reconciledAt } = run(20 * HOUR_MS, (t) => t < outageEnd);
      expect(requests.get("2026-12-01")).toBeLessThanOrEqual(9);
      expect(requests.get("2026-12-02")).toBe(4);
      expect(reconciledAt.get("2026-11-24")).toBeGreaterThanOrEqual(outageEnd);
      expect(reconciledAt.get("2026-11-24")).toBeLessThanOrEqual(outageEnd + RETRY_MS);
    });
  });
});

describe("overdueDays and settle", () => {
  it("gives up days left pending 45 days, and drops them from the window", () => {
    const s = schedule({ since: "2026-10-01", settled: ["2026-10-02"] });
    const now = at("2026-11-18T12:00:00Z");
    expect(overdueDays(s, now)).toEqual(["2026-10-01", "2026-10-03"]);
    const next = settle(s, now, overdueDays(s, now));
    expect(next.since).toBe("2026-10-04");
    expect(next.settled).toEqual([]);
    expect(overdueDays(next, now)).toEqual([]);
    expect(pendingDays(next, now)[0]).toBe("2026-10-04");
  });

  it("keeps the settled list within the window whatever runs for a year", () => {
    let s = freshSchedule(at("2026-01-01T00:00:00Z"));
    for (let t = at("2026-01-03T00:00:00Z"); t < at("2027-01-01T00:00:00Z"); t += DAY_MS) {
      s = afterAnswer(s, t, pendingDays(s, t));
    }
    expect(s.settled.length).toBeLessThanOrEqual(46);
    expect(s.settled.at(-1)).toBe("2026-12-29");
  });
});

describe("mergeSchedules", () => {
  it("keeps what either replica settled and the later retry", () => {
    const a = schedule({ settled: ["2026-12-01"], notBefore: 10 });
    const b = schedule({ since: "2026-11-30", settled: ["2026-12-02"], notBefore: 5 });
    expect(mergeSchedules(a, b)).toEqual({
      since: "2026-11-30",
      settled: ["2026-12-01", "2026-12-02"],
      notBefore: 10,
    });
  });
});
