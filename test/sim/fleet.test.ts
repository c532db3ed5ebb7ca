import { describe, expect, it } from "vitest";
import { ManualClock } from "../../src/sim/clock.js";
import {
  idleOutAt,
  resolveSimSettings,
  type SimModelSpec,
  type SimSettings,
} from "../../src/sim/settings.js";
import { SimModelError, Simulator } from "../../src/sim/simulator.js";
import { ARN, ARN2, at, MIN } from "./harness.js";

const PING = '{"prompt":"ping","max_gen_len":1}';
/** Restored in exactly 90 s, so the first successful call of a day below is at 09:02. */
const EXACT = { restoreJitterMs: 0 };

function simWith(
  settings: Partial<SimSettings>,
  models: SimModelSpec[] = [{ modelArn: ARN, customModelUnits: 4 }],
) {
  const clock = new ManualClock(at("08:00:00"));
  const sim = new Simulator({ clock, settings: { ...EXACT, ...settings }, models });
  const call = (t: number, arn = ARN) => {
    clock.set(t);
    const r = sim.invokeModel(arn, PING);
    return r.kind === "ok" ? "ok" : r.kind === "error" ? r.error.type : r.kind;
  };
  /** The first instant at or after `from` (1 s steps) at which the model is cold. */
  const coldFrom = (from: number, arn = ARN) => {
    for (let t = from; t < from + 3 * 3_600_000; t += 1000) {
      clock.set(t);
      if (sim.modelState(arn).state === "cold") return t;
    }
    throw new Error("still warm after 3 h");
  };
  return { clock, sim, call, coldFrom };
}

/** Wakes the model at 09:00, first served at 09:02 (the copy's windows start there). */
function wake(call: (t: number) => string) {
  expect(call(at("09:00:00"))).toBe("ModelNotReadyException");
  expect(call(at("09:02:00"))).toBe("ok");
}

describe("idleOutAt", () => {
  const s = resolveSimSettings({ evictionRule: "billingWindows" });
  it.each([
    // anchor = the copy's first successful call, 10:00; windows [10:00, 10:05), [10:05, 10:10)...
    ["10:00:00", "10:15:00"],
    ["10:03:00", "10:15:00"],
    ["10:04:59", "10:15:00"],
    ["10:05:00", "10:20:00"],
    ["10:09:30", "10:20:00"],
  ])("billingWindows: a last call at %s unloads the copy at %s", (last, out) => {
    expect(idleOutAt(s, at("10:00:00"), at(last))).toBe(at(out));
  });

  it("billingWindows with 0 idle windows unloads at the end of the last call's window", () => {
    const s0 = resolveSimSettings({ evictionRule: "billingWindows", evictionIdleWindows: 0 });
    expect(idleOutAt(s0, at("10:00:00"), at("10:03:00"))).toBe(at("10:05:00"));
  });

  it("afterLastCall ignores the anchor", () => {
    const f = resolveSimSettings({ evictionDelayMs: 5 * MIN });
    expect(idleOutAt(f, at("10:00:00"), at("10:03:00"))).toBe(at("10:08:00"));
  });

  it("afterLastCall with a jitter: each last call draws its own delay, within the spread, again the same", () => {
    const j = resolveSimSettings({ evictionDelayMs: 10 * MIN, evictionJitterMs: 5 * MIN });
    const delays = Array.from({ length: 200 }, (_, i) => {
      const last = at("10:00:00") + i * 61_000;
      return idleOutAt(j, last, last, ARN) - last;
    });
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(5 * MIN);
    expect(Math.max(...delays)).toBeLessThanOrEqual(15 * MIN);
    // Spread over the range, not bunched: some in each third.
    expect(delays.filter((d) => d < 25 * 20_000).length).toBeGreaterThan(30);
    expect(delays.filter((d) => d > 35 * 20_000).length).toBeGreaterThan(30);
    const again = Array.from({ length: 200 }, (_, i) => {
      const last = at("10:00:00") + i * 61_000;
      return idleOutAt(j, last, last, ARN) - last;
    });
    expect(again).toEqual(delays);
    // Another model draws other delays.
    const other = idleOutAt(j, at("10:00:00"), at("10:00:00"), ARN2) - at("10:00:00");
    const others = Array.from({ length: 20 }, (_, i) => {
      const last = at("10:00:00") + i * 61_000;
      return idleOutAt(j, last, last, ARN2) - last;
    });
    expect(others).not.toEqual(delays.slice(0, 20));
    expect(other).toBe(others[0]);
  });

  it("refuses an eviction jitter that reaches the eviction delay", () => {
    expect(() =>
      resolveSimSettings({ evictionDelayMs: 5 * MIN, evictionJitterMs: 5 * MIN }),
    ).toThrow("evictionJitterMs (300000) must be less than evictionDelayMs (300000)");
  });
});

describe("ModelFleet eviction", () => {
  it("afterLastCall with a jitter: the copy goes when the last call's own delay runs out", () => {
    const settings = { evictionDelayMs: 10 * MIN, evictionJitterMs: 5 * MIN };
    const { call, coldFrom } = simWith(settings);
    wake(call);
    expect(call(at("09:04:00"))).toBe("ok");
    const expected = idleOutAt(
      resolveSimSettings({ ...EXACT, ...settings }),
      0,
      at("09:04:00"),
      ARN,
    );
    expect(expected).not.toBe(at("09:14:00"));
    expect(coldFrom(at("09:04:00"))).toBe(Math.ceil(expected / 1000) * 1000);
  });

  it.each([5, 10, 15, 60])(
    "afterLastCall %i min: cold exactly that long after the last successful call",
    (minutes) => {
      const { call, coldFrom } = simWith({ evictionDelayMs: minutes * MIN });
      wake(call);
      expect(call(at("09:04:00"))).toBe("ok");
      expect(coldFrom(at("09:04:00"))).toBe(at("09:04:00") + minutes * MIN);
    },
  );

  it.each([
    // The copy's windows start at its first successful call, 09:02: [09:02, 09:07), [09:07, 09:12)...
    [[], "09:17:00"],
    [["09:05:00"], "09:17:00"],
    [["09:06:59"], "09:17:00"],
    [["09:07:00"], "09:22:00"],
    [["09:11:00"], "09:22:00"],
    [["09:11:00", "09:20:30"], "09:32:00"],
  ])("billingWindows: after the calls %j (windows from 09:02) it is cold at %s", (calls, cold) => {
    const { call, coldFrom } = simWith({ evictionRule: "billingWindows" });
    wake(call);
    for (const t of calls) expect(call(at(t)), t).toBe("ok");
    expect(coldFrom(at(calls.at(-1) ?? "09:02:00"))).toBe(at(cold));
  });

  it("billingWindows: pings every 10 minutes hold the copy; every 14 minutes lose it by phase", () => {
    // 10 to 15 minutes by phase: a ping 10 minutes after the last always comes in time.
    const held = simWith({ evictionRule: "billingWindows" });
    wake(held.call);
    for (let t = at("09:12:00"); t <= at("11:00:00"); t += 10 * MIN) {
      expect(held.call(t), new Date(t).toISOString()).toBe("ok");
    }
    // 09:16 is 4 minutes into its window [09:12, 09:17): the copy goes at 09:27.
    const lost = simWith({ evictionRule: "billingWindows" });
    wake(lost.call);
    expect(lost.call(at("09:16:00"))).toBe("ok");
    expect(lost.call(at("09:30:00"))).toBe("ModelNotReadyException");
  });

  it("billingWindows: a restored copy nobody calls counts its windows from when it was ready", () => {
    const { call, coldFrom } = simWith({ evictionRule: "billingWindows" });
    expect(call(at("09:00:00"))).toBe("ModelNotReadyException");
    // Ready at 09:01:30: window [09:01:30, 09:06:30) plus two idle windows.
    expect(coldFrom(at("09:01:30"))).toBe(at("09:16:30"));
  });

  it("billingWindows: a copy added under load is unloaded by its own windows", () => {
    // Two calls in flight per copy: the third concurrent call adds copy 2.
    const { sim, clock, call } = simWith({
      evictionRule: "billingWindows",
      perCopyConcurrency: 2,
      invocationMs: 10_000,
    });
    wake(call);
    // The third call in 10 s adds copy 2 at 09:04:02 (its windows start there).
    for (const t of ["09:04:00", "09:04:01", "09:04:02"]) expect(call(at(t))).toBe("ok");
    expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 2 });
    expect(call(at("09:08:00"))).toBe("ok");
    // Copy 2's last call 09:04:02 is in its window [09:04:02, 09:09:02): gone at 09:19:02.
    clock.set(at("09:19:01"));
    expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 2 });
    clock.set(at("09:19:02"));
    expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 1 });
    // Copy 1's last call 09:08 is in its window [09:07, 09:12): gone at 09:22.
    clock.set(at("09:22:00"));
    expect(sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
    const runs = sim.ledger().models[0]?.copies.map((c) => c.runs.map((r) => [r.start, r.end]));
    expect(runs).toEqual([[[at("09:02:00"), at("09:22:00")]], [[at("09:04:02"), at("09:19:02")]]]);
  });

  it("afterLastCall: a copy added under load is unloaded the delay after the last call it served", () => {
    const { sim, clock, call } = simWith({
      evictionDelayMs: 5 * MIN,
      perCopyConcurrency: 2,
      invocationMs: 10_000,
    });
    wake(call);
    for (const t of ["09:04:00", "09:04:01", "09:04:02"]) expect(call(at(t))).toBe("ok");
    expect(call(at("09:07:00"))).toBe("ok");
    clock.set(at("09:09:01"));
    expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 2 });
    clock.set(at("09:09:02"));
    expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 1 });
    clock.set(at("09:12:00"));
    expect(sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
  });

  it("keeps the same state whatever order the instants are asked in (lazy)", () => {
    const ask = (order: string[]) => {
      const { sim, clock, call } = simWith({ evictionRule: "billingWindows" });
      wake(call);
      call(at("09:05:00"));
      return order.map((hhmmss) => {
        clock.set(Math.max(clock.now(), at(hhmmss)));
        return sim.modelState(ARN).state;
      });
    };
    expect(ask(["09:10:00", "09:16:59", "09:17:00"])).toEqual(["warm", "warm", "cold"]);
    expect(ask(["09:17:00"])).toEqual(["cold"]);
  });
});

describe("per-model settings", () => {
  it("gives each model its own restore, jitter and eviction rule over the simulator's", () => {
    const { call, clock, sim } = simWith({ evictionDelayMs: 15 * MIN }, [
      { modelArn: ARN, customModelUnits: 4 },
      {
        modelArn: ARN2,
        customModelUnits: 2,
        settings: { restoreMs: 30_000, evictionRule: "afterLastCall", evictionDelayMs: 5 * MIN },
      },
    ]);
    for (const arn of [ARN, ARN2]) expect(call(at("09:00:00"), arn)).toBe("ModelNotReadyException");
    clock.set(at("09:00:30"));
    expect(sim.modelState(ARN).state).toBe("restoring");
    expect(sim.modelState(ARN2).state).toBe("warm");
    for (const arn of [ARN, ARN2]) expect(call(at("09:02:00"), arn)).toBe("ok");
    const states = (hhmmss: string) => {
      clock.set(at(hhmmss));
      return [sim.modelState(ARN).state, sim.modelState(ARN2).state];
    };
    expect(states("09:06:59")).toEqual(["warm", "warm"]);
    expect(states("09:07:00")).toEqual(["warm", "cold"]);
    expect(states("09:16:59")).toEqual(["warm", "cold"]);
    expect(states("09:17:00")).toEqual(["cold", "cold"]);
  });

  it("draws a model's restore jitter from its own restoreJitter", () => {
    const restoreOf = (jitterMs: number) => {
      const { call, clock, sim } = simWith({ restoreJitterMs: 0 }, [
        { modelArn: ARN, customModelUnits: 4, settings: { restoreJitterMs: jitterMs } },
      ]);
      call(at("09:00:00"));
      let t = at("09:00:00");
      while (sim.modelState(ARN).state === "restoring") {
        t += 100;
        clock.set(t);
      }
      return t - at("09:00:00");
    };
    expect(restoreOf(0)).toBe(90_000);
    const jittered = restoreOf(20_000);
    expect(jittered).not.toBe(90_000);
    expect(Math.abs(jittered - 90_000)).toBeLessThanOrEqual(20_000);
  });

  it("rejects a model whose settings the fleet cannot run with, naming the model and field", () => {
    expect(
      () =>
        new Simulator({
          clock: new ManualClock(0),
          models: [{ modelArn: ARN, customModelUnits: 1, settings: { restoreJitterMs: 1e9 } }],
        }),
    ).toThrow(SimModelError);
    expect(() =>
      new Simulator({ clock: new ManualClock(0) }).addModel({
        modelArn: ARN,
        customModelUnits: 1,
        settings: { evictionRule: "never" as "afterLastCall" },
      }),
    ).toThrow(/settings of arn:.*evictionRule must be one of afterLastCall, billingWindows/);
  });
});
