import { describe, expect, it } from "vitest";
import { Counters, median } from "../../../src/runtime/keep/counters.js";

describe("median", () => {
  it.each([
    [[], undefined],
    [[90], 90],
    [[92, 60, 300], 92],
    [[60, 90, 100, 200], 95],
  ])("of %j is %s", (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe("Counters", () => {
  it("counts the day and the total together, and a summary takes only the day", () => {
    const c = new Counters();
    c.count("pingsOk");
    c.count("pingsOk");
    c.sample("restoreSeconds", 90);
    const day = c.takeDay();
    expect(day.pingsOk).toBe(2);
    expect(day.restoreSeconds).toEqual([90]);
    c.count("pingsOk");
    expect(c.takeDay().pingsOk).toBe(1);
    expect(c.total.pingsOk).toBe(3);
    expect(c.total.restoreSeconds).toEqual([90]);
  });

  it("keeps the cold starts of the last two days only", () => {
    const c = new Counters();
    const day = 24 * 3_600_000;
    c.coldStartAt(0, 0);
    c.coldStartAt(day, day);
    c.coldStartAt(2 * day + 1, 2 * day + 1);
    expect(c.coldStartsAt).toEqual([day, 2 * day + 1]);
  });
});
