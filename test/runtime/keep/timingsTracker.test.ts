import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ModelConfig } from "../../../src/domain/types.js";
import { noopObserver } from "../../../src/runtime/infra/observer.js";
import { ProblemLog } from "../../../src/runtime/infra/problemLog.js";
import type { Observation } from "../../../src/runtime/keep/decide.js";
import { TimingsTracker } from "../../../src/runtime/keep/timingsTracker.js";
import { LearnedTimings } from "../../../src/runtime/state/learnedTimings.js";
import {
  businessHoursYaml,
  collectingLogger,
  configOf,
  eventsOf,
  local,
  MIMO_VL,
} from "../../e2e/daemonHarness.js";

const MIN = 60_000;

function tracker() {
  const clock = { t: local("17:00") };
  const config = configOf(businessHoursYaml({ models: [MIMO_VL] }));
  const model = config.models[0] as ModelConfig;
  const { logger, lines } = collectingLogger(() => clock.t);
  const learned = new LearnedTimings(mkdtempSync(join(tmpdir(), "kw-tracker-")), logger);
  const t = new TimingsTracker(model, {
    now: () => clock.t,
    log: logger,
    observer: noopObserver,
    learned,
    problems: new ProblemLog(() => clock.t, 60 * MIN),
    checkRestores: () => false,
    onChange: () => {},
  });
  const evictions = () =>
    eventsOf(lines, "measured")
      .filter((l) => l.measure === "eviction")
      .map((l) => l.minutes);
  return { t, clock, evictions };
}

const zeroAt = (t: number): Observation => ({
  state: "cold",
  copies: 0,
  latestAt: t,
  zeroSince: t,
});

describe("TimingsTracker evictions", () => {
  it("measures a zero once, from the users' last call, not again once their minutes age out", () => {
    const { t, clock, evictions } = tracker();
    const closingPing = local("17:47");
    // Reads every 5 minutes from 17:00 to 22:15, each from 10 minutes before the last one.
    const userMinutes = [local("21:30"), local("21:56")];
    let through = local("16:50");
    for (clock.t = local("17:00"); clock.t <= local("22:15"); clock.t += 5 * MIN) {
      const calls = userMinutes.filter((m) => m >= through - 10 * MIN && m < clock.t);
      t.noteInvocations(
        calls.map((m) => ({ t: m, copies: 3 })),
        clock.t,
        through - 10 * MIN,
      );
      through = clock.t;
    }
    t.measureEvictionFromZero(zeroAt(local("22:12")), closingPing, clock.t);
    expect(evictions()).toEqual([14]);
    // The cold model shows the same zero at every idle read; the users' minutes age out.
    for (; clock.t <= local("02:00", 8); clock.t += 15 * MIN) {
      t.noteInvocations([], clock.t, through - 10 * MIN);
      through = clock.t;
      t.measureEvictionFromZero(zeroAt(local("22:12")), closingPing, clock.t);
    }
    expect(evictions()).toEqual([14]);
  });

  it("says nothing of a zero when the Invocations minutes after the last known call were not read", () => {
    const { t, clock, evictions } = tracker();
    // A restart: the first read begins at 21:50, long after keepwarm's closing ping at 17:47.
    clock.t = local("22:15");
    t.noteInvocations([], clock.t, local("21:50"));
    t.measureEvictionFromZero(zeroAt(local("22:12")), local("17:47"), clock.t);
    // ...and a read that does not join the one before starts what is known afresh.
    clock.t = local("23:30");
    t.noteInvocations([], clock.t, local("23:00"));
    t.measureEvictionFromZero(zeroAt(local("23:20")), local("22:40"), clock.t);
    expect(evictions()).toEqual([]);
    // A call inside what was read is known: its eviction is measured.
    t.measureEvictionFromZero(zeroAt(local("23:20")), local("23:05"), clock.t);
    expect(evictions()).toEqual([14]);
  });
});
