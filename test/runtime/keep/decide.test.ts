import { describe, expect, it } from "vitest";
import {
  afterPingFailure,
  afterPingOk,
  afterRejection,
  decideDuePings,
  decideObservation,
  INITIAL_WARM_RECORD,
  readObservation,
  retryDelay,
  type WarmRecord,
} from "../../../src/runtime/keep/decide.js";
import { DEFAULT_TIMING } from "../../../src/runtime/keep/loopTiming.js";

const T = Date.UTC(2026, 11, 7, 3, 0); // 11:00 in Shanghai
const MIN = 60_000;
const CADENCE = 14 * MIN;

describe("decideDuePings", () => {
  it.each([
    ["one ping, on time", [T], T, false, false, "ping", "planned"],
    ["one ping, 20 s late", [T], T + 20_000, false, false, "ping", "planned"],
    [
      "three missed in a window",
      [T, T + CADENCE, T + 2 * CADENCE],
      T + 2 * CADENCE + 5_000,
      true,
      false,
      "ping",
      "3 planned ping(s) missed (clock jump or suspend); sending one now",
    ],
    [
      "missed, window over",
      [T, T + CADENCE],
      T + 3 * CADENCE,
      false,
      false,
      "skip",
      "2 planned ping(s) missed (clock jump or suspend); their warm span is over",
    ],
    [
      "missed, still within its cadence",
      [T, T + CADENCE],
      T + CADENCE + 60_000,
      false,
      false,
      "ping",
      "2 planned ping(s) missed (clock jump or suspend); sending one now",
    ],
    [
      "a retry loop is running",
      [T],
      T,
      true,
      true,
      "skip",
      "an earlier ping is still retrying; one request at a time",
    ],
  ] as const)("%s", (_label, due, now, inWindow, attemptInProgress, action, reason) => {
    const decided = decideDuePings(INITIAL_WARM_RECORD, {
      due,
      now,
      cadenceMs: CADENCE,
      inWindow,
      attemptInProgress,
    });
    expect(decided.decisions).toEqual([{ action, reason }]);
  });
});

describe("readObservation", () => {
  it.each([
    ["no datapoint", [], undefined, { state: "unknown", copies: undefined, zeroSince: undefined }],
    ["warm", [{ t: T, copies: 1 }], undefined, { state: "warm", copies: 1, zeroSince: undefined }],
    [
      "evicted after the last ping",
      [
        { t: T, copies: 1 },
        { t: T + MIN, copies: 0 },
        { t: T + 2 * MIN, copies: 0 },
      ],
      T - 5 * MIN,
      { state: "cold", copies: 0, zeroSince: T + MIN },
    ],
    [
      "zeros from before the last successful ping do not count",
      [
        { t: T, copies: 0 },
        { t: T + MIN, copies: 0 },
      ],
      T + MIN + 30_000,
      { state: "cold", copies: 0, zeroSince: undefined },
    ],
  ] as const)("%s", (_label, points, lastOkAt, expected) => {
    expect(readObservation(points, lastOkAt)).toMatchObject(expected);
  });
});

/** The flat inputs of the table below, split into the record and the instant's facts. */
function decide(input: {
  now: number;
  observation: WarmRecord["observation"];
  inWindow: boolean;
  windowStart?: number;
  planWarm: boolean;
  attemptInProgress: boolean;
  rejectedSincePlannedPing?: boolean;
  lastOkAt: number | undefined;
  lastRecoveryAt: number | undefined;
  awaitingCool: boolean;
  outsideReported: boolean;
  evictionDelayMs: number;
  publishDelayMs: number;
  restoreMs: number;
}) {
  const record: WarmRecord = {
    ...INITIAL_WARM_RECORD,
    lastOkAt: input.lastOkAt,
    lastRecoveryAt: input.lastRecoveryAt,
    awaitingCool: input.awaitingCool,
    outsideReported: input.outsideReported,
    rejectedSincePlannedPing: input.rejectedSincePlannedPing ?? false,
  };
  return decideObservation(record, input);
}

describe("decideObservation", () => {
  const base = {
    now: T + 5 * MIN,
    inWindow: true,
    windowStart: T - 2 * 60 * MIN,
    planWarm: true,
    attemptInProgress: false,
    lastOkAt: T - 10 * MIN,
    lastRecoveryAt: undefined,
    awaitingCool: true,
    outsideReported: false,
    evictionDelayMs: 15 * MIN,
    publishDelayMs: 2 * MIN,
    restoreMs: 90_000,
  };
  const cold = (zeroSince: number) => ({
    state: "cold" as const,
    copies: 0,
    latestAt: zeroSince,
    zeroSince,
  });

  it("recovers when copies sat at 0 in a window longer than publish delay + restore", () => {
    const { decisions } = decide({ ...base, observation: cold(T + MIN) });
    expect(decisions).toEqual([expect.objectContaining({ action: "recover", minutesAtZero: 4 })]);
  });

  it.each([
    ["not yet longer than publish delay + restore", { observation: cold(T + 2 * MIN) }],
    ["a retry loop is already running", { observation: cold(T), attemptInProgress: true }],
    ["a recovery went out moments ago", { observation: cold(T), lastRecoveryAt: T + 4 * MIN }],
    ["the window opened only just", { observation: cold(T - 60 * MIN), windowStart: T + 3 * MIN }],
    ["the last ping was rejected (IAM)", { observation: cold(T), rejectedSincePlannedPing: true }],
  ])("does not recover when %s", (_label, overrides) => {
    const { decisions } = decide({ ...base, ...overrides });
    expect(decisions.filter((d) => d.action === "recover")).toEqual([]);
  });

  it("measures the eviction after the last ping outside the plan", () => {
    const { decisions } = decide({
      ...base,
      inWindow: false,
      planWarm: false,
      lastOkAt: T - 15 * MIN,
      observation: cold(T),
    });
    expect(decisions).toEqual([
      {
        action: "cooled",
        minutesSinceLastPing: 15,
        reason: "ModelCopy reached 0 after the last ping",
      },
    ]);
  });

  it.each([
    [
      "the tail of the last ping",
      T - 14 * MIN,
      "the tail of the last ping: Bedrock keeps a copy until its idle eviction",
    ],
    [
      "someone else's traffic",
      T - 3 * 60 * MIN,
      "copies outside every window and long after keepwarm's last ping: traffic from elsewhere",
    ],
  ])("reports copies outside the plan once: %s", (_label, lastOkAt, reason) => {
    const input = {
      ...base,
      inWindow: false,
      planWarm: false,
      lastOkAt,
      observation: { state: "warm" as const, copies: 1, latestAt: T, zeroSince: undefined },
    };
    expect(decide(input).decisions).toEqual([{ action: "warm-outside-window", reason }]);
    expect(decide({ ...input, outsideReported: true }).decisions).toEqual([]);
  });
});

describe("retryDelay", () => {
  it("rides out a cold start every 5 s +-20%", () => {
    expect(retryDelay("not-ready", 0, DEFAULT_TIMING, () => 0)).toBe(4_000);
    expect(retryDelay("not-ready", 7, DEFAULT_TIMING, () => 0.999999)).toBe(6_000);
  });

  it.each([
    [1, 1_000, 2_000],
    [2, 2_000, 4_000],
    [5, 16_000, 32_000],
    [7, 60_000, 120_000],
    [20, 60_000, 120_000],
  ])("backs off step %i between %i and %i ms", (step, lo, hi) => {
    expect(retryDelay("throttled", step, DEFAULT_TIMING, () => 0)).toBe(lo);
    expect(retryDelay("unavailable", step, DEFAULT_TIMING, () => 0.999999)).toBeLessThanOrEqual(hi);
    expect(retryDelay("unavailable", step, DEFAULT_TIMING, () => 0.999999)).toBeGreaterThan(hi - 2);
  });
});

describe("the next record", () => {
  const facts = {
    now: T + 5 * MIN,
    inWindow: false,
    planWarm: false,
    attemptInProgress: false,
    evictionDelayMs: 15 * MIN,
    publishDelayMs: 2 * MIN,
    restoreMs: 90_000,
  };
  const warm = { state: "warm" as const, copies: 1, latestAt: T + 3 * MIN, zeroSince: undefined };
  const cold = { state: "cold" as const, copies: 0, latestAt: T + 3 * MIN, zeroSince: T + 2 * MIN };

  it("holds the observation and since when its state has been what it is", () => {
    const first = decideObservation(INITIAL_WARM_RECORD, { ...facts, observation: warm });
    expect(first.next.observation).toEqual(warm);
    expect(first.next.stateSince).toBe(T + 3 * MIN);
    const later = decideObservation(first.next, {
      ...facts,
      now: T + 6 * MIN,
      observation: { ...warm, latestAt: T + 4 * MIN },
    });
    expect(later.next.stateSince).toBe(T + 3 * MIN);
  });

  it("marks a recovery's instant, so the next minute does not send another", () => {
    const record: WarmRecord = { ...INITIAL_WARM_RECORD, lastOkAt: T - 20 * MIN };
    const zeros = { ...cold, zeroSince: T - 5 * MIN };
    const first = decideObservation(record, {
      ...facts,
      inWindow: true,
      planWarm: true,
      observation: zeros,
    });
    expect(first.decisions.map((d) => d.action)).toEqual(["recover"]);
    expect(first.next.lastRecoveryAt).toBe(facts.now);
    const second = decideObservation(first.next, {
      ...facts,
      now: facts.now + MIN,
      inWindow: true,
      planWarm: true,
      observation: zeros,
    });
    expect(second.decisions).toEqual([]);
  });

  it("stops awaiting the cool once the eviction is seen, and reports copies outside the plan once", () => {
    const record: WarmRecord = {
      ...INITIAL_WARM_RECORD,
      lastOkAt: T - 13 * MIN,
      awaitingCool: true,
    };
    const cooled = decideObservation(record, { ...facts, observation: cold });
    expect(cooled.next.awaitingCool).toBe(false);
    expect(decideObservation(cooled.next, { ...facts, observation: cold }).decisions).toEqual([]);
    const outside = decideObservation(cooled.next, { ...facts, observation: warm });
    expect(outside.next.outsideReported).toBe(true);
    expect(decideObservation(outside.next, { ...facts, observation: warm }).decisions).toEqual([]);
    // Planned warm again: the next copies outside the plan are news again.
    const planned = decideObservation(outside.next, {
      ...facts,
      planWarm: true,
      observation: warm,
    });
    expect(planned.next.outsideReported).toBe(false);
  });

  it("calls copies before keepwarm's first ping traffic from elsewhere, not the tail of a ping", () => {
    const { decisions } = decideObservation(INITIAL_WARM_RECORD, { ...facts, observation: warm });
    expect(decisions).toEqual([
      {
        action: "warm-outside-window",
        reason:
          "copies outside every window and before keepwarm's first ping: traffic from elsewhere",
      },
    ]);
  });

  it("calls a warm-up sent before the plan's lead time moved the warm-up of the next window", () => {
    const record: WarmRecord = { ...INITIAL_WARM_RECORD, lastOkAt: T - MIN };
    const { decisions } = decideObservation(record, {
      ...facts,
      now: T,
      nextWindowStart: T + 5 * MIN,
      observation: warm,
    });
    expect(decisions).toEqual([
      {
        action: "warm-outside-window",
        reason: `the warm-up of the window opening at ${new Date(T + 5 * MIN).toISOString()}, sent earlier than the plan now has it (its timings changed): the copy stays up until the window opens`,
      },
    ]);
  });

  it("clears a rejection when a planned ping comes due, and keeps it otherwise", () => {
    const rejected = afterRejection(INITIAL_WARM_RECORD);
    expect(rejected.rejectedSincePlannedPing).toBe(true);
    const due = decideDuePings(rejected, {
      due: [T],
      now: T,
      cadenceMs: 14 * MIN,
      inWindow: true,
      attemptInProgress: false,
    });
    expect(due.next.rejectedSincePlannedPing).toBe(false);
    expect(
      decideDuePings(rejected, {
        due: [],
        now: T,
        cadenceMs: 14 * MIN,
        inWindow: true,
        attemptInProgress: false,
      }).next,
    ).toBe(rejected);
  });

  it("after a ping that rode out a restore, holds the restore's span and awaits the cool", () => {
    const ok = afterPingOk(INITIAL_WARM_RECORD, T, "planned", T - 90_000);
    expect(ok).toMatchObject({
      lastOkAt: T,
      lastPing: { at: T, result: "ok", reason: "planned" },
      awaitingCool: true,
      lastRestore: { start: T - 90_000, end: T },
    });
    const failed = afterPingFailure(ok, T + MIN, "planned", "throttled");
    expect(failed.lastPing).toEqual({ at: T + MIN, result: "throttled", reason: "planned" });
    expect(failed.lastOkAt).toBe(T);
  });
});
