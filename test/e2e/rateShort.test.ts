import { describe, expect, it } from "vitest";
import { configOf, eventsOf, harnessPerTest, local, ZONE } from "./daemonHarness.js";

const MINUTE = 60_000;
/** One InvokeModel request every 20 s, across the fleet. */
const RATE = 0.05;
const MODELS = 30;
/**
 * What the rate carries at the starting 4-minute cadence (nothing measured yet: eviction
 * assumed 5 minutes), with a tenth of it left for wake-ups and restore retries:
 * 0.05 / 1.1 * 240 = 10.9 models.
 */
const CARRIED = 10;

const arnOf = (i: number) =>
  `arn:aws:bedrock:us-west-2:123456789012:imported-model/r${i.toString(36).padStart(11, "0")}`;

const YAML = `
timezone: ${ZONE}
daemon:
  invokeRatePerSecond: ${RATE}
  invokeBurst: 1
models:
${Array.from(
  { length: MODELS },
  (_, i) =>
    `  - name: m${i}\n    modelArn: ${arnOf(i)}\n    policy: business-hours\n    customModelUnits: 2\n`,
).join("")}`;

/** Whether the simulator had a copy of the model up over the whole of [from, to). */
function warmThroughout(
  spans: readonly { start: number; end: number | undefined }[],
  from: number,
  to: number,
): boolean {
  return spans.some((s) => s.start <= from && (s.end === undefined || s.end >= to));
}

describe("Daemon", () => {
  const startHarness = harnessPerTest();

  describe("a fleet whose keep-alives need more than the request rate", () => {
    it("keeps as many models warm as the rate carries, all window, and reports the rest cold", async () => {
      // Bedrock here evicts 5 minutes after the last call, as keepwarm assumes before it has
      // measured anything, so each warm model needs a ping every 4 minutes: 30 models need
      // 0.125 requests/s, 2.5 times the rate.
      const h = await startHarness({
        config: configOf(YAML),
        start: local("08:00"),
        sim: { restoreMs: 90_000, evictionDelayMs: 5 * MINUTE },
      });
      await h.daemon.start();
      await h.clock.runUntil(local("18:30"));

      const names = Array.from({ length: MODELS }, (_, i) => `m${i}`);
      const warm = names.filter((_, i) =>
        warmThroughout(h.sim.warmSpans(arnOf(i)), local("09:00"), local("18:00")),
      );
      expect(warm).toHaveLength(CARRIED);

      // Those kept warm never waited for the rate past their eviction: a ping at most every
      // 5 minutes from their first success to closing time, no cold start inside the window,
      // no keep-alive dropped.
      for (const name of warm) {
        const i = Number(name.slice(1));
        const sent = (h.invokeTimes.get(arnOf(i)) ?? []).filter(
          (t) => t >= local("09:00") && t < local("18:00"),
        );
        for (let k = 1; k < sent.length; k++) {
          expect((sent[k] as number) - (sent[k - 1] as number)).toBeLessThanOrEqual(5 * MINUTE);
        }
        expect(eventsOf(h.lines, "cold-start", name).filter((l) => l.inWindow)).toEqual([]);
      }

      // The rest were left cold, each said so once, and never pinged.
      const cold = names.filter((n) => !warm.includes(n));
      for (const name of cold) {
        const i = Number(name.slice(1));
        expect(h.invokeTimes.get(arnOf(i)) ?? []).toEqual([]);
        expect(eventsOf(h.lines, "left-cold", name)).toHaveLength(1);
      }
      // Said before it happened, at start-up: short from the first lead ping, and how many
      // the rate would carry.
      const [need] = eventsOf(h.lines, "rate-need");
      expect(need).toMatchObject({
        level: "warn",
        when: "start",
        short: true,
        shortFrom: new Date(local("08:54")).toISOString(),
        carried: CARRIED,
      });
      expect(need?.neededPerSecond).toBeGreaterThan(RATE);
      // The rate was kept throughout.
      const all = [...h.invokeTimes.values()].flat().sort((a, b) => a - b);
      for (let k = 1; k < all.length; k++) {
        expect((all[k] as number) - (all[k - 1] as number)).toBeGreaterThanOrEqual(20_000 - 1);
      }
    }, 300_000);

    it("lets restore retries wait behind the keep-alives of the models kept warm", async () => {
      // 5 models all day and 10 in the morning ask at 08:54: the rate carries 10 of them.
      // When the morning closes, 5 afternoon models take the shares it gives back and
      // restore while the all-day ones are kept warm on the same 20-s rate.
      const group = (policy: string, from: number, n: number) =>
        Array.from({ length: n }, (_, k) => ({
          name: `${policy}-${k}`,
          arn: arnOf(from + k),
          policy,
        }));
      const fleet = [
        ...group("day", 0, 5),
        ...group("morning", 5, 10),
        ...group("afternoon", 15, 15),
      ];
      const window = (name: string, from: string, to: string) =>
        `  ${name}:\n    windows:\n      - days: mon-fri\n        from: "${from}"\n        to: "${to}"\n`;
      const yaml = `
timezone: ${ZONE}
daemon:
  invokeRatePerSecond: ${RATE}
  invokeBurst: 1
policies:
${window("day", "09:00", "18:00")}${window("morning", "09:00", "12:00")}${window("afternoon", "12:00", "18:00")}models:
${fleet.map((m) => `  - name: ${m.name}\n    modelArn: ${m.arn}\n    policy: ${m.policy}\n    customModelUnits: 2\n`).join("")}`;
      const h = await startHarness({
        config: configOf(yaml),
        start: local("08:00"),
        sim: { restoreMs: 90_000, evictionDelayMs: 5 * MINUTE },
      });
      await h.daemon.start();
      await h.clock.runUntil(local("13:00"));

      const day = fleet.filter((m) => m.policy === "day");
      const afternoon = fleet.filter((m) => m.policy === "afternoon");
      const restoredAfterNoon = afternoon.filter((m) =>
        eventsOf(h.lines, "warm", m.name).some((l) => Date.parse(l.time) >= local("12:00")),
      );
      // The morning's 5 shares went to 5 afternoon models, each of which rode out a restore
      // with retries; the other 10 were left cold.
      expect(restoredAfterNoon).toHaveLength(5);
      for (const m of restoredAfterNoon) {
        const [warm] = eventsOf(h.lines, "warm", m.name);
        expect(warm?.requests).toBeGreaterThan(1);
      }
      expect(
        afternoon.filter((m) => eventsOf(h.lines, "left-cold", m.name).length > 0),
      ).toHaveLength(15);
      // Meanwhile every all-day model was pinged at most 5 minutes apart and stayed warm.
      for (const m of day) {
        const sent = (h.invokeTimes.get(m.arn) ?? []).filter(
          (t) => t >= local("11:30") && t < local("13:00"),
        );
        for (let k = 1; k < sent.length; k++) {
          expect((sent[k] as number) - (sent[k - 1] as number)).toBeLessThanOrEqual(5 * MINUTE);
        }
        expect(warmThroughout(h.sim.warmSpans(m.arn), local("09:00"), local("13:00"))).toBe(true);
        expect(eventsOf(h.lines, "ping-skipped", m.name).filter((l) => l.dropped)).toEqual([]);
      }
    }, 300_000);
  });
});
