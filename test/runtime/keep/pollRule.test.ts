import { describe, expect, it } from "vitest";
import {
  DEFAULT_POLL_TIMING,
  type PollFacts,
  pollDue,
  pollInterval,
} from "../../../src/runtime/keep/pollRule.js";

const MIN = 60_000;
const NOW = Date.UTC(2026, 11, 8, 3, 0);
/** Mimo-vl's window of the day, 09:00-18:00 Shanghai (01:00-10:00 UTC). */
const WINDOW = { start: Date.UTC(2026, 11, 8, 1, 0), end: Date.UTC(2026, 11, 8, 10, 0) };

/** A warm model in the middle of its window, long after the start: nothing can change. */
function facts(over: Partial<PollFacts> = {}): PollFacts {
  return {
    now: NOW,
    since: NOW - 6 * 60 * MIN,
    attemptInProgress: false,
    lastColdAt: WINDOW.start - 5 * MIN,
    awaitingCool: true,
    lastOkAt: NOW - 4 * MIN,
    planWarm: true,
    spans: [[WINDOW], [{ start: WINDOW.start - 5 * MIN, end: WINDOW.end + 2 * MIN }]],
    state: "warm",
    evictionDelayMs: 15 * MIN,
    publishDelayMs: 2 * MIN,
    ...over,
  };
}

const decide = (over: Partial<PollFacts> = {}) => pollInterval(facts(over), DEFAULT_POLL_TIMING);

/** A cold model at `now`, its window and warm run as above, its last ping long ago and cooled. */
const coldAt = (now: number, over: Partial<PollFacts> = {}) =>
  decide({
    now,
    since: now - 20 * 60 * MIN,
    planWarm: false,
    state: "cold",
    awaitingCool: false,
    lastOkAt: WINDOW.end - 14 * MIN,
    lastColdAt: WINDOW.start - 5 * MIN,
    ...over,
  });

describe("pollInterval", () => {
  it("reads a warm model inside its window every 5 minutes", () => {
    expect(decide()).toEqual({ ms: 5 * MIN, reason: "steady" });
  });

  it("reads every minute for 5 minutes after a start or reload", () => {
    expect(decide({ since: NOW - 4 * MIN })).toEqual({ ms: MIN, reason: "start" });
    expect(decide({ since: NOW - 5 * MIN }).ms).toBe(5 * MIN);
  });

  it("reads every minute while a warm-up or restore is under way, not for a warm model's keep-alive", () => {
    const warmUp = { attemptInProgress: true, state: "cold" as const, lastColdAt: undefined };
    expect(decide(warmUp)).toEqual({ ms: MIN, reason: "warm-up" });
    expect(decide({ ...warmUp, state: "unknown" }).reason).toBe("warm-up");
    // A keep-alive waiting for the rate: nothing changes unless it meets a cold model.
    expect(decide({ ...warmUp, state: "warm" })).toEqual({ ms: 5 * MIN, reason: "steady" });
  });

  it("reads every minute until ModelCopy can show a ping that met a cold model", () => {
    // Publish delay 2 min + 3: five minutes after the cold ping or the restore's end.
    expect(decide({ lastColdAt: NOW - 5 * MIN })).toEqual({ ms: MIN, reason: "cold-start" });
    expect(decide({ lastColdAt: NOW - 6 * MIN }).ms).toBe(5 * MIN);
  });

  it("reads every minute from 2 minutes before a window opens to 5 after", () => {
    const warmUp = { start: WINDOW.start - 5 * MIN, end: WINDOW.end + 2 * MIN };
    const cold = { spans: [[WINDOW]], lastColdAt: undefined };
    expect(coldAt(WINDOW.start - 3 * MIN, cold)).toEqual({ ms: 5 * MIN, reason: "steady" });
    expect(coldAt(WINDOW.start - 2 * MIN, cold)).toEqual({ ms: MIN, reason: "window-edge" });
    expect(coldAt(WINDOW.start + 5 * MIN, { spans: [[WINDOW], [warmUp]] }).reason).toBe(
      "window-edge",
    );
    expect(
      decide({ now: WINDOW.start + 6 * MIN, spans: [[WINDOW], [warmUp]], lastColdAt: undefined }),
    ).toEqual({ ms: 5 * MIN, reason: "steady" });
  });

  it("reads every minute around a window's closing and while the eviction after it is awaited", () => {
    const closing = { planWarm: false, awaitingCool: true, lastOkAt: WINDOW.end - 14 * MIN };
    // The warm run ends 2 minutes after the window (closing ping + eviction delay): its edge
    // is read every minute until 5 minutes after, and then the eviction awaited until the
    // last ping + eviction delay 15 + publish delay 2 + 5 minutes, 8 after closing time.
    expect(coldAt(WINDOW.end + 7 * MIN, { ...closing, state: "warm" }).reason).toBe("window-edge");
    expect(coldAt(WINDOW.end + 8 * MIN, { ...closing, state: "warm" })).toEqual({
      ms: MIN,
      reason: "eviction",
    });
    expect(coldAt(WINDOW.end + 9 * MIN, { ...closing, state: "warm" })).toEqual({
      ms: 5 * MIN,
      reason: "steady",
    });
    expect(coldAt(WINDOW.end + 3 * MIN).reason).toBe("window-edge");
  });

  it("reads every minute from the eviction expected inside a window, when the cadence is longer than it", () => {
    // A 14-minute cadence and a 6-minute eviction: the copy goes between two pings.
    const shortEviction = { evictionDelayMs: 6 * MIN, lastColdAt: undefined };
    expect(decide({ ...shortEviction, lastOkAt: NOW - 5 * MIN })).toEqual({
      ms: 5 * MIN,
      reason: "steady",
    });
    expect(decide({ ...shortEviction, lastOkAt: NOW - 6 * MIN })).toEqual({
      ms: MIN,
      reason: "eviction",
    });
    // The eviction delay + the publish delay + 5 minutes after the last success.
    expect(decide({ ...shortEviction, lastOkAt: NOW - 13 * MIN }).reason).toBe("eviction");
    expect(decide({ ...shortEviction, lastOkAt: NOW - 14 * MIN }).reason).toBe("steady");
  });

  it("reads every minute while a model the plan wants warm is seen cold: a recovery is due", () => {
    const evicted = { state: "cold" as const, awaitingCool: false, lastColdAt: undefined };
    expect(decide(evicted)).toEqual({ ms: MIN, reason: "cold-in-window" });
    expect(decide({ ...evicted, state: "unknown" }).reason).toBe("steady");
  });

  it("reads a cold model with nothing planned for longer than its interval every 15 minutes", () => {
    const night = WINDOW.end + 2 * 60 * MIN;
    expect(coldAt(night)).toEqual({ ms: 15 * MIN, reason: "idle" });
    // An `off` model that was never read warm: unknown is no traffic either.
    expect(coldAt(night, { state: "unknown", spans: [], lastOkAt: undefined })).toEqual({
      ms: 15 * MIN,
      reason: "idle",
    });
    // The next warm-up 17 minutes ahead (15 + the 2 read every minute before an edge) or
    // sooner: every 5 minutes until then.
    const nextWarmUp = { start: night + 17 * MIN, end: night + 9 * 60 * MIN };
    expect(coldAt(night - MIN, { spans: [[nextWarmUp]] })).toEqual({
      ms: 15 * MIN,
      reason: "idle",
    });
    expect(coldAt(night, { spans: [[nextWarmUp]] })).toEqual({ ms: 5 * MIN, reason: "steady" });
  });

  it("reads a model warm outside its plan (someone else's traffic) every 5 minutes", () => {
    expect(coldAt(WINDOW.end + 3 * 60 * MIN, { state: "warm" })).toEqual({
      ms: 5 * MIN,
      reason: "steady",
    });
  });

  it("reads every minute whatever the state when the slow and idle intervals are a minute", () => {
    const everyMinute = { slowMs: MIN, idleMs: MIN };
    expect(pollInterval(facts(), everyMinute).ms).toBe(MIN);
    expect(pollInterval(facts({ planWarm: false, state: "cold", spans: [] }), everyMinute).ms).toBe(
      MIN,
    );
  });
});

describe("pollDue", () => {
  const at = (hh: number, mm: number) => Date.UTC(2026, 11, 8, hh, mm);

  it("is due on the interval's grid, so the models of a region share one call", () => {
    expect(pollDue(at(3, 4), 5 * MIN, at(3, 5))).toBe(true);
    expect(pollDue(at(3, 5), 5 * MIN, at(3, 6))).toBe(false);
    expect(pollDue(at(3, 5), 5 * MIN, at(3, 9))).toBe(false);
    expect(pollDue(at(3, 5), 5 * MIN, at(3, 10))).toBe(true);
    expect(pollDue(at(3, 0), 15 * MIN, at(3, 14))).toBe(false);
    expect(pollDue(at(3, 0), 15 * MIN, at(3, 15))).toBe(true);
  });

  it("is due when never read, when the last read is as old as the interval, or after a clock stepped back", () => {
    expect(pollDue(undefined, 15 * MIN, at(3, 7))).toBe(true);
    // A read failed at 03:05: retried at the next minute, as its last success is 6 minutes old.
    expect(pollDue(at(3, 0), 5 * MIN, at(3, 6))).toBe(true);
    expect(pollDue(at(3, 7), 5 * MIN, at(3, 1))).toBe(true);
    // A minute job a few ms late on a real clock is still on the grid.
    expect(pollDue(at(3, 1), 5 * MIN, at(3, 5) + 40)).toBe(true);
    expect(pollDue(at(3, 4), MIN, at(3, 5))).toBe(true);
  });
});
