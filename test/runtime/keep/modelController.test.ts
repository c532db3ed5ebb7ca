import { tmpdir } from "node:os";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RegionClients } from "../../../src/aws/clients.js";
import { parseConfigText } from "../../../src/config/load.js";
import { monthOf, monthRange } from "../../../src/domain/spend.js";
import type { ModelConfig } from "../../../src/domain/types.js";
import type { RuntimeClock } from "../../../src/runtime/infra/clock.js";
import { createLogger } from "../../../src/runtime/infra/logger.js";
import { noopObserver } from "../../../src/runtime/infra/observer.js";
import {
  InvokePacer,
  RequestLimiter,
  TokenBucket,
} from "../../../src/runtime/infra/rateLimiter.js";
import { realClock } from "../../../src/runtime/infra/realClock.js";
import { VirtualClock } from "../../../src/runtime/infra/virtualClock.js";
import { DEFAULT_TIMING } from "../../../src/runtime/keep/loopTiming.js";
import { ModelController } from "../../../src/runtime/keep/modelController.js";
import { CopyHistory } from "../../../src/runtime/spend/copyHistory.js";
import { LearnedTimings } from "../../../src/runtime/state/learnedTimings.js";

const T = Date.UTC(2026, 11, 7, 3, 0); // 11:00 in Shanghai
const MIN = 60_000;

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
  const history = new CopyHistory(monthRange(monthOf(T)));
  const c = new ModelController(loaded.config, model, {
    copies: history,
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
