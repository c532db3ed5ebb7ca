import { tmpdir } from "node:os";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegionClients } from "../../../src/aws/clients.js";
import { parseConfigText } from "../../../src/config/load.js";
import { monthOf, monthRange } from "../../../src/domain/spend.js";
import type { ModelConfig } from "../../../src/domain/types.js";
import { type RuntimeClock, realClock, VirtualClock } from "../../../src/runtime/infra/clock.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { noopObserver } from "../../../src/runtime/infra/observer.js";
import {
  InvokePacer,
  RequestLimiter,
  TokenBucket,
} from "../../../src/runtime/infra/rateLimiter.js";
import {
  DEFAULT_TIMING,
  decideDuePings,
  decideObservation,
  ModelController,
  median,
  readObservation,
  retryDelay,
} from "../../../src/runtime/keep/modelController.js";
import { CopyHistory } from "../../../src/runtime/spend/copyHistory.js";
import { LearnedTimings } from "../../../src/runtime/state/learnedTimings.js";

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
    expect(decideDuePings({ due, now, cadenceMs: CADENCE, inWindow, attemptInProgress })).toEqual({
      action,
      reason,
    });
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
    const decisions = decideObservation({ ...base, observation: cold(T + MIN) });
    expect(decisions).toEqual([expect.objectContaining({ action: "recover", minutesAtZero: 4 })]);
  });

  it.each([
    ["not yet longer than publish delay + restore", { observation: cold(T + 2 * MIN) }],
    ["a retry loop is already running", { observation: cold(T), attemptInProgress: true }],
    ["a recovery went out moments ago", { observation: cold(T), lastRecoveryAt: T + 4 * MIN }],
    ["the window opened only just", { observation: cold(T - 60 * MIN), windowStart: T + 3 * MIN }],
    ["the last ping was rejected (IAM)", { observation: cold(T), rejectedSincePlannedPing: true }],
  ])("does not recover when %s", (_label, overrides) => {
    const decisions = decideObservation({ ...base, ...overrides });
    expect(decisions.filter((d) => d.action === "recover")).toEqual([]);
  });

  it("measures the eviction after the last ping outside the plan", () => {
    const decisions = decideObservation({
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
    expect(decideObservation(input)).toEqual([{ action: "warm-outside-window", reason }]);
    expect(decideObservation({ ...input, outsideReported: true })).toEqual([]);
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

/** A controller of one model on business hours in Shanghai, whose pings all succeed. */
function businessHoursController(clock: RuntimeClock) {
  const arn = "arn:aws:bedrock:us-west-2:123456789012:imported-model/km5b98xhpqel";
  const loaded = parseConfigText(
    `timezone: Asia/Shanghai\nmodels:\n  - name: m\n    modelArn: ${arn}\n    policy: business-hours\n    customModelUnits: 4\n`,
    "test.yaml",
    { stateDir: tmpdir() },
  );
  if (!loaded.ok) throw new Error("test config invalid");
  const model = loaded.config.models[0] as ModelConfig;
  let sent = 0;
  const runtime = {
    send: async () => {
      sent++;
      return {};
    },
  };
  const logger = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const c = new ModelController(loaded.config, model, new CopyHistory(monthRange(monthOf(T))), {
    limiter: new RequestLimiter(1),
    pacer: new InvokePacer(new TokenBucket(1_000, 1_000), clock),
    clock,
    logger,
    clients: { runtime } as unknown as RegionClients,
    observer: noopObserver,
    random: () => 0.5,
    timing: DEFAULT_TIMING,
    learned: new LearnedTimings(tmpdir(), logger),
  });
  return { c, config: loaded.config, model, sent: () => sent };
}

describe("ModelController", () => {
  describe("reconfigure", () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it("keeps one timer chain when reloaded at the very instant of a planned ping (real clock)", async () => {
      vi.useFakeTimers({ now: T - 30 * MIN });
      const { c, config, model, sent } = businessHoursController(realClock());
      c.start();
      const ping = c.planAround(Date.now()).pings.find((p) => p > Date.now()) as number;
      // The wall clock reaches the ping before its timer has run (timers fire late), and a
      // reload lands on that very millisecond; a second reload follows before the next ping.
      vi.setSystemTime(ping);
      c.reconfigure(config, model);
      c.reconfigure(config, model);
      await vi.advanceTimersByTimeAsync(2 * 60 * MIN);
      expect(sent()).toBeGreaterThan(0);
      // One controller, one chain: the plan's wall-clock timer and the monotonic keep-alive.
      expect(vi.getTimerCount()).toBe(2);
      c.stop();
      expect(vi.getTimerCount()).toBe(0);
    });
  });

  describe("observe", () => {
    it("sends no recovery ping once stopped (a model removed while a poll was in flight)", async () => {
      const clock = new VirtualClock(T);
      const { c, sent } = businessHoursController(clock);
      c.stop();
      // 11:00 in Shanghai, inside the window, ModelCopy at 0 for ten minutes.
      c.observe(Array.from({ length: 10 }, (_, i) => ({ t: T - (10 - i) * MIN, copies: 0 })));
      await clock.settle();
      expect(sent()).toBe(0);
    });
  });
});
