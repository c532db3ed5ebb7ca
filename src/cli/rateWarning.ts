import {
  describeRateNeed,
  type ModelRate,
  type RateNeed,
  rateNeed,
  rateNeedFields,
} from "../domain/rateNeed.js";
import type { ResolvedConfig } from "../domain/types.js";

/**
 * What `validate` and `plan` say about the InvokeModel rate: the need of the fleet over the
 * week from `from` at the timings given, against `daemon.invokeRatePerSecond`, in words
 * (`warning: ` first when short) and as JSON.
 */
export function rateNeedReport(
  config: ResolvedConfig,
  models: readonly ModelRate[],
  from: number,
): { readonly need: RateNeed; readonly line: string; readonly json: Record<string, unknown> } {
  const need = rateNeed(config, models, config.daemon.invokeRatePerSecond, from);
  const text = describeRateNeed(need, config.timezone);
  return {
    need,
    line: need.shortFrom === undefined ? text : `warning: ${text}`,
    json: rateNeedFields(need),
  };
}
