import { DateTime } from "luxon";
import { afterEach, describe, expect, it, vi } from "vitest";
import { nextDailyAt, nextMinute, TIMER_CAP_MS } from "../../../src/runtime/infra/clock.js";
import { realClock } from "../../../src/runtime/infra/realClock.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";

const T0 = Date.UTC(2026, 11, 7, 0, 0, 0);

describe("VirtualClock", () => {
  describe("advanceTo", () => {
    it("fires timers in order of their instant, then of their creation, at their instant", async () => {
      const clock = new VirtualClock(T0);
      const fired: [string, number][] = [];
      clock.setTimer(T0 + 3_000, () => fired.push(["c", clock.now()]));
      clock.setTimer(T0 + 1_000, () => fired.push(["a", clock.now()]));
      clock.setTimer(T0 + 1_000, () => fired.push(["b", clock.now()]));
      clock.setTimer(T0 + 9_000, () => fired.push(["late", clock.now()]));
      await clock.advanceTo(T0 + 5_000);
      expect(fired).toEqual([
        ["a", T0 + 1_000],
        ["b", T0 + 1_000],
        ["c", T0 + 3_000],
      ]);
      expect(clock.now()).toBe(T0 + 5_000);
      expect(clock.pending).toBe(1);
    });

    it("does not fire a cancelled timer", async () => {
      const clock = new VirtualClock(T0);
      let fired = false;
      const cancel = clock.setTimer(T0 + 1_000, () => {
        fired = true;
      });
      cancel();
      await clock.advanceTo(T0 + 2_000);
      expect(fired).toBe(false);
    });

    it("waits for tracked work, and the timers it sets, before moving on", async () => {
      const clock = new VirtualClock(T0);
      const seen: number[] = [];
      clock.setTimer(T0 + 1_000, () => {
        void clock.track(
          (async () => {
            // Real I/O that takes real time: the clock must not run past it.
            await new Promise((r) => setTimeout(r, 20));
            seen.push(clock.now());
            clock.setTimer(clock.now() + 5_000, () => seen.push(clock.now()));
          })(),
        );
      });
      await clock.advanceTo(T0 + 60_000);
      expect(seen).toEqual([T0 + 1_000, T0 + 6_000]);
    });

    it("awaits onAdvance with each new instant before firing there", async () => {
      const told: number[] = [];
      const fired: [number, number][] = [];
      const clock = new VirtualClock(T0, {
        onAdvance: async (t) => {
          await new Promise((r) => setTimeout(r, 1));
          told.push(t);
        },
      });
      clock.setTimer(T0 + 1_000, () => fired.push([clock.now(), told.length]));
      clock.setTimer(T0 + 1_000, () => fired.push([clock.now(), told.length]));
      await clock.advanceTo(T0 + 2_000);
      expect(told).toEqual([T0 + 1_000, T0 + 2_000]);
      expect(fired).toEqual([
        [T0 + 1_000, 1],
        [T0 + 1_000, 1],
      ]);
    });

    it("refuses to go back in time", async () => {
      const clock = new VirtualClock(T0);
      await expect(clock.advanceTo(T0 - 1)).rejects.toThrow(RangeError);
    });
  });

  describe("jumpTo", () => {
    it("leaves overdue timers to fire once, late, at the next advance", async () => {
      const clock = new VirtualClock(T0);
      const fired: number[] = [];
      clock.setTimer(T0 + 60_000, () => fired.push(clock.now()));
      clock.jumpTo(T0 + 3_600_000);
      await clock.advanceBy(0);
      expect(fired).toEqual([T0 + 3_600_000]);
    });
  });

  describe("stepWall", () => {
    it("moves wall-clock timers with the step and leaves monotonic ones alone", async () => {
      const clock = new VirtualClock(T0);
      const fired: [string, number, number][] = [];
      const note = (name: string) => () =>
        fired.push([name, clock.now() - T0, clock.monotonic() - T0]);
      clock.setTimer(T0 + 5 * 60_000, note("wall 00:05"));
      clock.after(5 * 60_000, note("after 5 min"));
      clock.stepWall(-10 * 60_000);
      expect(clock.now()).toBe(T0 - 10 * 60_000);
      expect(clock.monotonic()).toBe(T0);
      expect(clock.reference.now()).toBe(T0);
      await clock.advanceTo(T0 + 5 * 60_000);
      expect(fired).toEqual([
        ["after 5 min", -5 * 60_000, 5 * 60_000],
        ["wall 00:05", 5 * 60_000, 15 * 60_000],
      ]);
    });

    it("makes a wall-clock timer due at once when it steps past it", async () => {
      const clock = new VirtualClock(T0);
      const fired: number[] = [];
      clock.setTimer(T0 + 60 * 60_000, () => fired.push(clock.monotonic() - T0));
      clock.stepWall(3 * 60 * 60_000);
      await clock.advanceBy(0);
      expect(fired).toEqual([0]);
    });
  });

  describe("jumpTo (a suspend)", () => {
    it("moves the world and the wall clock, not the monotonic clock", async () => {
      const clock = new VirtualClock(T0);
      const fired: number[] = [];
      clock.after(60_000, () => fired.push(clock.now() - T0));
      clock.jumpTo(T0 + 3_600_000);
      expect(clock.monotonic()).toBe(T0);
      expect(clock.reference.now()).toBe(T0 + 3_600_000);
      await clock.advanceBy(60_000);
      expect(fired).toEqual([3_660_000]);
      expect(() => clock.jumpTo(T0)).toThrow(RangeError);
    });
  });

  describe("everyMinute", () => {
    it("fires at each minute boundary after now", async () => {
      const clock = new VirtualClock(T0 + 30_000);
      const fired: number[] = [];
      const cancel = clock.everyMinute(() => fired.push(clock.now()));
      await clock.advanceTo(T0 + 3 * 60_000);
      cancel();
      await clock.advanceTo(T0 + 10 * 60_000);
      expect(fired).toEqual([T0 + 60_000, T0 + 120_000, T0 + 180_000]);
    });
  });

  describe("dailyAt", () => {
    it("fires at local midnight of the zone, on both sides of a DST change", async () => {
      const zone = "America/New_York";
      const start = DateTime.fromISO("2026-10-31T12:00", { zone }).toMillis();
      const clock = new VirtualClock(start);
      const fired: string[] = [];
      clock.dailyAt("00:00", zone, () =>
        fired.push(DateTime.fromMillis(clock.now(), { zone }).toISO() as string),
      );
      await clock.advanceTo(DateTime.fromISO("2026-11-03T12:00", { zone }).toMillis());
      expect(fired).toEqual([
        "2026-11-01T00:00:00.000-04:00",
        "2026-11-02T00:00:00.000-05:00",
        "2026-11-03T00:00:00.000-05:00",
      ]);
    });
  });
});

describe("nextDailyAt", () => {
  it.each([
    ["2026-12-07T23:59:59+08:00", "00:00", "2026-12-08T00:00:00.000+08:00"],
    ["2026-12-08T00:00:00+08:00", "00:00", "2026-12-09T00:00:00.000+08:00"],
    ["2026-12-07T08:00:00+08:00", "09:30", "2026-12-07T09:30:00.000+08:00"],
  ])("after %s, %s is %s", (after, hhmm, expected) => {
    const t = nextDailyAt(Date.parse(after), hhmm, "Asia/Shanghai");
    expect(DateTime.fromMillis(t, { zone: "Asia/Shanghai" }).toISO()).toBe(expected);
  });

  it("rejects a time that is not HH:MM", () => {
    expect(() => nextDailyAt(T0, "9:30", "UTC")).toThrow(/HH:MM/);
  });
});

describe("nextMinute", () => {
  it.each([
    [T0, T0 + 60_000],
    [T0 + 1, T0 + 60_000],
    [T0 + 59_999, T0 + 60_000],
  ])("after %i is %i", (t, expected) => {
    expect(nextMinute(t)).toBe(expected);
  });
});

describe("realClock", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  describe("setTimer", () => {
    it("fires at its instant through waits no longer than the cap", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      const fired: number[] = [];
      clock.setTimer(T0 + 14 * 60_000, () => fired.push(Date.now()));
      expect(vi.getTimerCount()).toBe(1);
      vi.advanceTimersByTime(14 * 60_000 - 1);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(fired).toEqual([T0 + 14 * 60_000]);
    });

    it("notices a wall-clock jump within the cap instead of sleeping on", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      const fired: number[] = [];
      clock.setTimer(T0 + 14 * 60_000, () => fired.push(Date.now()));
      // The wall clock jumps an hour ahead (a suspend, or NTP) while the timer waits.
      vi.setSystemTime(T0 + 60 * 60_000);
      vi.advanceTimersByTime(TIMER_CAP_MS);
      expect(fired).toHaveLength(1);
    });

    it("shifts time by the offset", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock({ offsetMs: 3_600_000 });
      expect(clock.now()).toBe(T0 + 3_600_000);
      const fired: number[] = [];
      clock.setTimer(T0 + 3_600_000 + 5_000, () => fired.push(clock.now()));
      vi.advanceTimersByTime(5_000);
      expect(fired).toEqual([T0 + 3_605_000]);
    });

    it("never calls back before it returns, even for an instant already passed", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      const fired: number[] = [];
      const cancel = clock.setTimer(T0 - 1, () => fired.push(Date.now()));
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(0);
      expect(fired).toEqual([T0]);
      cancel();
    });

    it("is cancelled by its Cancel, also for an instant already passed", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      let fired = false;
      clock.setTimer(T0, () => {
        fired = true;
      })();
      vi.advanceTimersByTime(1_000);
      expect(fired).toBe(false);
    });

    it("is cancelled by its Cancel", () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      let fired = false;
      const cancel = clock.setTimer(T0 + 90_000, () => {
        fired = true;
      });
      vi.advanceTimersByTime(40_000);
      cancel();
      vi.advanceTimersByTime(60_000);
      expect(fired).toBe(false);
    });
  });

  describe("everyMinute", () => {
    it("fires once, late, after a 3-hour jump, and writes nothing to stdout", async () => {
      vi.useFakeTimers({ now: T0 + 30_000 });
      const writes = vi.spyOn(process.stdout, "write");
      const warn = vi.spyOn(console, "warn");
      const log = vi.spyOn(console, "log");
      const clock = realClock();
      const fired: number[] = [];
      const cancel = clock.everyMinute(() => fired.push(Date.now()));
      await vi.advanceTimersByTimeAsync(30_000);
      expect(fired).toEqual([T0 + 60_000]);
      vi.setSystemTime(T0 + 3 * 3_600_000 + 60_000);
      await vi.advanceTimersByTimeAsync(TIMER_CAP_MS);
      cancel();
      expect(fired).toHaveLength(2);
      expect(writes).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
      expect(log).not.toHaveBeenCalled();
    });
  });

  describe("monotonic and after", () => {
    it("ignore a wall-clock step", async () => {
      vi.useFakeTimers({ now: T0 });
      const clock = realClock();
      const start = clock.monotonic();
      const fired: number[] = [];
      clock.after(60_000, () => fired.push(clock.monotonic() - start));
      vi.setSystemTime(T0 - 600_000);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(fired).toEqual([60_000]);
    });
  });

  describe("dailyAt", () => {
    it("still fires, once and late, when a suspend or a clock jump passes the instant", async () => {
      const zone = "Europe/Berlin";
      const before = DateTime.fromISO("2026-12-07T23:59:30", { zone }).toMillis();
      vi.useFakeTimers({ now: before });
      const clock = realClock();
      const fired: number[] = [];
      const cancel = clock.dailyAt("00:00", zone, () => fired.push(Date.now()));
      // The host sleeps over midnight: the wall clock moves on, the timers do not.
      vi.setSystemTime(before + 5 * 60_000);
      await vi.advanceTimersByTimeAsync(TIMER_CAP_MS + 1_000);
      cancel();
      expect(fired).toHaveLength(1);
    });
  });
});
