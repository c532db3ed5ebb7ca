import { describe, expect, it } from "vitest";
import { ManualClock, scaledClock } from "../../src/sim/clock.js";
import { SimSettingsError } from "../../src/sim/settings.js";
import { SimModelError, Simulator } from "../../src/sim/simulator.js";
import { ARN, ARN2, EXACT, MIN, T0 } from "./harness.js";

const PING = '{"prompt":"ping","max_gen_len":1}';

function simAt(start = T0, settings = {}) {
  const clock = new ManualClock(start);
  const sim = new Simulator({
    clock,
    settings: { ...EXACT, ...settings },
    models: [{ modelArn: ARN, customModelUnits: 4 }],
  });
  const call = (t: number) => {
    clock.set(t);
    const r = sim.invokeModel(ARN, PING);
    return r.kind === "ok" ? "ok" : r.kind === "error" ? r.error.type : r.kind;
  };
  return { clock, sim, call };
}

describe("Simulator", () => {
  describe("modelState", () => {
    it("goes cold -> restoring -> warm -> cold at the instants the settings give", () => {
      // A call at 09:00 wakes the model (restored at 09:01:30); one at 09:02 is served.
      const table: [number, string, number][] = [
        [T0 - 1, "cold", 0],
        [T0, "restoring", 0],
        [T0 + 90_000 - 1, "restoring", 0],
        [T0 + 2 * MIN, "warm", 1],
        [T0 + 17 * MIN - 1, "warm", 1],
        [T0 + 17 * MIN, "cold", 0],
      ];
      for (const [t, state, copies] of table) {
        const { clock, sim, call } = simAt(T0 - 1);
        if (t >= T0) call(T0);
        if (t >= T0 + 2 * MIN) call(T0 + 2 * MIN);
        clock.set(t);
        expect(sim.modelState(ARN), new Date(t).toISOString()).toEqual({ state, copies });
      }
    });

    it("counts a restored copy that nobody has called yet as warm, and unloads it unbilled", () => {
      const { clock, sim, call } = simAt();
      call(T0);
      clock.set(T0 + 2 * MIN);
      expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 1 });
      clock.set(T0 + 90_000 + 15 * MIN);
      expect(sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
      expect(sim.ledger().models[0]?.billedWindows).toBe(0);
    });

    it("throws SimModelError for a model it does not simulate", () => {
      expect(() => simAt().sim.modelState(ARN2)).toThrow(SimModelError);
    });
  });

  describe("invokeModel", () => {
    it("draws restore jitter from the seed: same seed same restores, another seed others", () => {
      const restoreEnds = (seed: number) => {
        const clock = new ManualClock(T0);
        const sim = new Simulator({
          clock,
          settings: { seed, restoreMs: 90_000, restoreJitterMs: 20_000 },
          models: [{ modelArn: ARN, customModelUnits: 1 }],
        });
        const ends: number[] = [];
        for (let day = 0; day < 5; day++) {
          clock.set(T0 + day * 86_400_000);
          sim.invokeModel(ARN, PING);
          let t = clock.now();
          while (sim.modelState(ARN).state === "restoring") {
            t += 1000;
            clock.set(t);
          }
          ends.push(t - (T0 + day * 86_400_000));
        }
        return ends;
      };
      const a = restoreEnds(1);
      expect(restoreEnds(1)).toEqual(a);
      expect(restoreEnds(2)).not.toEqual(a);
      for (const ms of a) {
        expect(ms).toBeGreaterThanOrEqual(70_000);
        expect(ms).toBeLessThanOrEqual(111_000);
      }
    });

    it("answers ThrottlingException when calls exceed every copy's concurrency", () => {
      const { call } = simAt(T0, { perCopyConcurrency: 1, maxCopies: 2, invocationMs: 1000 });
      call(T0);
      const t = T0 + 2 * MIN;
      expect([call(t), call(t), call(t), call(t + 1000)]).toEqual([
        "ok",
        "ok",
        "ThrottlingException",
        "ok",
      ]);
    });

    it("unloads a copy added under load once it has not been needed for the eviction delay", () => {
      const { clock, sim, call } = simAt(T0, { perCopyConcurrency: 1 });
      call(T0);
      const t = T0 + 2 * MIN;
      call(t);
      call(t);
      expect(sim.modelState(ARN).copies).toBe(2);
      call(t + 10 * MIN);
      clock.set(t + 15 * MIN);
      expect(sim.modelState(ARN)).toEqual({ state: "warm", copies: 1 });
      clock.set(t + 25 * MIN);
      expect(sim.modelState(ARN)).toEqual({ state: "cold", copies: 0 });
    });

    it("ignores a scripted eviction while the model is still restoring", () => {
      const { clock, sim, call } = simAt();
      sim.faults.add({ kind: "evict", at: T0 + 30_000 });
      call(T0);
      expect(call(T0 + 2 * MIN)).toBe("ok");
      clock.set(T0 + 3 * MIN);
      expect(sim.modelState(ARN).state).toBe("warm");
    });
  });

  describe("invokeCount", () => {
    it("counts successful calls, in a range when given", () => {
      const { sim, call } = simAt();
      for (const m of [0, 2, 3, 4, 18]) call(T0 + m * MIN);
      expect(sim.invokeCount(ARN)).toBe(4);
      expect(sim.invokeCount(ARN, { start: T0 + 3 * MIN, end: T0 + 18 * MIN })).toBe(2);
    });
  });

  describe("constructor", () => {
    it("rejects settings the fleet cannot run with, naming each", () => {
      expect(
        () =>
          new Simulator({
            clock: new ManualClock(T0),
            settings: { maxCopies: 0, restoreJitterMs: 1e9 },
          }),
      ).toThrow(/maxCopies must be an integer >= 1.*restoreJitterMs/);
      expect(
        () => new Simulator({ clock: new ManualClock(T0), settings: { maxCopies: 0 } }),
      ).toThrow(SimSettingsError);
    });

    it("rejects a model that is not an imported-model ARN", () => {
      const sim = new Simulator({ clock: new ManualClock(T0) });
      expect(() =>
        sim.addModel({
          modelArn: "arn:aws:bedrock:us-east-1::foundation-model/x",
          customModelUnits: 1,
        }),
      ).toThrow(SimModelError);
    });
  });
});

describe("ManualClock", () => {
  it("refuses to go back in time", () => {
    const clock = new ManualClock(T0);
    clock.advance(MIN);
    expect(() => clock.set(T0)).toThrow(RangeError);
  });
});

describe("scaledClock", () => {
  it("runs `factor` times faster than the wall clock from its origin", () => {
    let wall = 1_000;
    const clock = scaledClock(60, T0, { now: () => wall });
    expect(clock.now()).toBe(T0);
    wall += 1_000;
    expect(clock.now()).toBe(T0 + MIN);
  });
});
