import { DEFAULT_CMU_VERSION } from "../domain/price.js";
import type { Price } from "../domain/types.js";
import type { RawPricing } from "./costSchema.js";

export interface RegionPrice {
  readonly usdPerCmuMinute: number;
  readonly storageUsdPerCmuMonth: number;
}

/** One entry of the built-in table: a price and where it was read. */
export interface TablePrice extends RegionPrice {
  /** Where and when the figures were read (docs/costs.md repeats it). */
  readonly readFrom: string;
  /** Set when the storage figure is not published for this version but assumed. */
  readonly storageAssumed?: string;
}

export { DEFAULT_CMU_VERSION } from "../domain/price.js";

export { CMU_VERSION_PATTERN } from "./costSchema.js";

const V1_READ = "AWS Bedrock pricing page, read 2026-11-25";
const V2_READ = "AWS Price List as read by third parties, observed 2026-09";
const V2_STORAGE = "assumed equal to v1.0's, no v2.0 storage price published";

/**
 * Bedrock Custom Model Import prices per region and CMU version (docs/costs.md lists them
 * with their sources). A region or version missing here has no public price: us-east-2 is an
 * import region without one, and v2.0 (GPT-OSS) is sold in us-east-1 only. Prices change:
 * the YAML's `pricing` overrides them.
 */
export const PRICE_TABLE = {
  asOf: "2026-11-25",
  regions: {
    "us-east-1": {
      "v1.0": { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95, readFrom: V1_READ },
      "v2.0": {
        usdPerCmuMinute: 0.1433,
        storageUsdPerCmuMonth: 1.95,
        readFrom: V2_READ,
        storageAssumed: V2_STORAGE,
      },
    },
    "us-west-2": {
      "v1.0": { usdPerCmuMinute: 0.05718, storageUsdPerCmuMonth: 1.95, readFrom: V1_READ },
    },
    "eu-central-1": {
      "v1.0": { usdPerCmuMinute: 0.07144, storageUsdPerCmuMonth: 1.95, readFrom: V1_READ },
    },
  } as Readonly<Record<string, Readonly<Record<string, TablePrice>>>>,
} as const;

/** The source a built-in price is reported with, e.g. "built-in table 2026-11-25 (us-east-1, CMU v1.0)". */
export function tableSource(region: string, cmuVersion: string): string {
  return `built-in table ${PRICE_TABLE.asOf} (${region}, CMU ${cmuVersion})`;
}

/** The source of the v1.0 price of us-east-1, us-west-2 and eu-central-1. */
export const PRICE_TABLE_SOURCE = tableSource("us-east-1", DEFAULT_CMU_VERSION);

/** The built-in price of a region and CMU version, if AWS publishes one. */
export function tablePrice(region: string, cmuVersion: string): TablePrice | undefined {
  return PRICE_TABLE.regions[region]?.[cmuVersion];
}

export type PriceField = keyof RegionPrice;

export type PriceLookup =
  | { readonly ok: true; readonly price: Price }
  | { readonly ok: false; readonly missing: readonly PriceField[] };

/** The YAML path where a region's price of one CMU version is set. */
export function priceFieldPath(region: string, cmuVersion: string, field: PriceField): string {
  return `pricing.regions.${region}.versions.${cmuVersion}.${field}`;
}

/** The problem of a model whose region and CMU version have no price from the config or the table. */
export function describeMissingPrice(
  region: string,
  missing: readonly PriceField[],
  cmuVersion: string = DEFAULT_CMU_VERSION,
): string {
  const fields = missing.map((f) => priceFieldPath(region, cmuVersion, f)).join(" and ");
  return `no known price for region ${region}, CMU version ${cmuVersion}; set ${fields}`;
}

/**
 * The price of one region and CMU version, most specific first:
 * `pricing.regions.R.versions.V`, `pricing.versions.V`, then for v1.0 only the unversioned
 * `pricing.regions.R` and `pricing` figures, then the built-in table. No step borrows
 * another version's price: a version nobody priced is `missing`.
 */
export function resolvePrice(region: string, cmuVersion: string, pricing: RawPricing): PriceLookup {
  const own = pricing.regions?.[region];
  const table = tablePrice(region, cmuVersion);
  const steps: { readonly figures: Partial<RegionPrice> | undefined; readonly source: string }[] = [
    {
      figures: own?.versions?.[cmuVersion],
      source: `pricing.regions.${region}.versions.${cmuVersion}`,
    },
    { figures: pricing.versions?.[cmuVersion], source: `pricing.versions.${cmuVersion}` },
  ];
  if (cmuVersion === DEFAULT_CMU_VERSION) {
    steps.push({ figures: own, source: `pricing.regions.${region}` });
    steps.push({ figures: pricing, source: "pricing" });
  }
  if (table) steps.push({ figures: table, source: tableSource(region, cmuVersion) });
  const pick = (field: PriceField): { value: number; source: string } | undefined => {
    for (const step of steps) {
      const value = step.figures?.[field];
      if (value === undefined) continue;
      const assumed = field === "storageUsdPerCmuMonth" && step.figures === table;
      const note = assumed ? table?.storageAssumed : undefined;
      return { value, source: note ? `${step.source}, ${note}` : step.source };
    }
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

/** Every CMU version priced in `region`: the built-in table's and those the YAML prices. */
export function regionPrices(region: string, pricing: RawPricing): Record<string, Price> {
  const versions = new Set([
    DEFAULT_CMU_VERSION,
    ...Object.keys(PRICE_TABLE.regions[region] ?? {}),
    ...Object.keys(pricing.versions ?? {}),
    ...Object.keys(pricing.regions?.[region]?.versions ?? {}),
  ]);
  const prices: Record<string, Price> = {};
  for (const version of [...versions].sort()) {
    const lookup = resolvePrice(region, version, pricing);
    if (lookup.ok) prices[version] = lookup.price;
  }
  return prices;
}

/** The CMU fields of a model as the YAML gives them. */
export interface ModelUnitsFields {
  readonly customModelUnits?: number | undefined;
  readonly customModelUnitsVersion?: string | undefined;
}

/** A model the config cannot price, and the model field the problem is reported at. */
export interface ModelPriceProblem {
  readonly field: "modelArn" | "customModelUnitsVersion";
  readonly message: string;
}

/**
 * Why a model cannot be priced from the config, or undefined. A configured
 * customModelUnits has the configured version (default v1.0), which must have a price; a
 * model whose units come from GetImportedModel needs its region to price some version,
 * and the daemon checks the version GetImportedModel reports.
 */
export function modelPriceProblem(
  region: string,
  model: ModelUnitsFields,
  pricing: RawPricing,
): ModelPriceProblem | undefined {
  const configured = model.customModelUnitsVersion;
  const version =
    configured ?? (model.customModelUnits === undefined ? undefined : DEFAULT_CMU_VERSION);
  if (version === undefined) {
    if (Object.keys(regionPrices(region, pricing)).length > 0) return undefined;
    return {
      field: "modelArn",
      message: `no known price for region ${region} at any CMU version; set ${priceFieldPath(region, "<version>", "usdPerCmuMinute")} and .storageUsdPerCmuMonth for the version GetImportedModel reports (customModelUnitsVersion: v1.0 for most imports, v2.0 for GPT-OSS)`,
    };
  }
  const lookup = resolvePrice(region, version, pricing);
  if (lookup.ok) return undefined;
  const assumed =
    configured === undefined
      ? ` (customModelUnits without customModelUnitsVersion is ${DEFAULT_CMU_VERSION})`
      : "";
  return {
    field: configured === undefined ? "modelArn" : "customModelUnitsVersion",
    message: `${describeMissingPrice(region, lookup.missing, version)}${assumed}`,
  };
}
