import type { ModelConfig, Price } from "./types.js";

/**
 * The CMU version of a model whose config gives customModelUnits without
 * customModelUnitsVersion, or whose GetImportedModel answer names none: every import
 * before GPT-OSS (v2.0) is v1.0.
 */
export const DEFAULT_CMU_VERSION = "v1.0";

/** What one copy of a model costs: its custom model units and the price of their version. */
export interface PricedUnits {
  readonly cmu: number;
  readonly price: Price;
}

/** The price of `cmuVersion` in the model's region; undefined when nobody priced that version. */
export function versionPrice(model: ModelConfig, cmuVersion: string): Price | undefined {
  return Object.hasOwn(model.prices, cmuVersion) ? model.prices[cmuVersion] : undefined;
}

/**
 * The units the config alone gives a model (customModelUnits and its version), priced;
 * undefined when the CMU count comes from GetImportedModel or the version has no price.
 */
export function configuredUnits(model: ModelConfig): PricedUnits | undefined {
  const cmu = model.customModelUnits;
  if (cmu === undefined) return undefined;
  const price = versionPrice(model, model.cmuVersion ?? DEFAULT_CMU_VERSION);
  return price && { cmu, price };
}
