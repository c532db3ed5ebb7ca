import { describeRateNeed, rateNeed, rateNeedFields } from "../../domain/rateNeed.js";
import type { ModelTimings } from "../../domain/timings.js";
import type { ModelConfig, ResolvedConfig } from "../../domain/types.js";
import type { Logger } from "../infra/logger.js";

/**
 * The `rate-need` line: what the fleet needs of `daemon.invokeRatePerSecond` over the coming
 * week at the timings its models are planned with now; a warning from when it is short.
 */
export function logRateNeed(
  log: Logger,
  config: ResolvedConfig,
  fleet: Iterable<{ readonly model: ModelConfig; readonly timings: ModelTimings }>,
  now: number,
  when: "start" | "reload",
): void {
  const models = [...fleet].map((c) => ({ model: c.model, timings: c.timings }));
  const need = rateNeed(config, models, config.daemon.invokeRatePerSecond, now);
  log[need.shortFrom === undefined ? "info" : "warn"](
    { event: "rate-need", when, ...rateNeedFields(need) },
    describeRateNeed(need, config.timezone),
  );
}
