import type { Price } from "../domain/types.js";
import type { RawPricing } from "./costSchema.js";

export interface RegionPrice {
  readonly usdPerCmuMinute: number;
  readonly storageUsdPerCmuMonth: number;
}

/**
 * Bedrock Custom Model Import prices per region for CMU version v1.0, as recorded in
 * bedrock-facts.md §2 (AWS pricing page). Prices change: the YAML's `pricing` overrides them.
 */
export const PRICE_TABLE = {
  asOf: "2026-11-25",
  cmuVersion: "v1.0",
  regions: {
    "us-east-1": { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95 },
    "us-west-2": { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95 },
    "eu-central-1": { usdPerCmuMinute: 0.07144, storageUsdPerCmuMonth: 1.95 },
  } as Readonly<Record<string, RegionPrice>>,
} as const;

export const PRICE_TABLE_SOURCE = `built-in table ${PRICE_TABLE.asOf} (CMU ${PRICE_TABLE.cmuVersion})`;

export type PriceField = keyof RegionPrice;

export type PriceLookup =
  | { readonly ok: true; readonly price: Price }
  | { readonly ok: false; readonly missing: readonly PriceField[] };

/** The problem of a model whose region has no price from the config or the table. */
export function describeMissingPrice(region: string, missing: readonly PriceField[]): string {
  return `no known price for region ${region}; set ${missing.join(" and ")} under pricing.regions.${region} (or under pricing, for every region)`;
}

/** A region's price: its `pricing.regions` entry, else the global `pricing` figure, else the table. */
export function resolvePrice(region: string, pricing: RawPricing): PriceLookup {
  const own = pricing.regions?.[region];
  const table = PRICE_TABLE.regions[region];
  const pick = (field: PriceField): { value: number; source: string } | undefined => {
    const regional = own?.[field];
    if (regional !== undefined) return { value: regional, source: `pricing.regions.${region}` };
    const global = pricing[field];
    if (global !== undefined) return { value: global, source: "pricing" };
    if (table) return { value: table[field], source: PRICE_TABLE_SOURCE };
    return undefined;
  };
  const compute = pick("usdPerCmuMinute");
  const storage = pick("storageUsdPerCmuMonth");
  if (!compute || !storage) {
    const missing: PriceField[] = [];
    if (!compute) missing.push("usdPerCmuMinute");
    if (!storage) missing.push("storageUsdPerCmuMonth");
    return { ok: false, missing };
  }
  return {
    ok: true,
    price: {
      usdPerCmuMinute: compute.value,
      storageUsdPerCmuMonth: storage.value,
      source:
        compute.source === storage.source
          ? compute.source
          : `${compute.source}; storage: ${storage.source}`,
    },
  };
}
