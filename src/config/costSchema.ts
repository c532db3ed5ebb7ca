import { z } from "zod";
import { REGION_PATTERN } from "./formats.js";
import { is, money, name } from "./schemaFields.js";

/** The `pricing` and `budgets` sections: what a CMU costs where, and what the models may spend. */

const price = z.strictObject({
  usdPerCmuMinute: money("Compute price, US dollars per CMU per minute.", true).optional(),
  storageUsdPerCmuMonth: money("Storage price, US dollars per CMU per month.", false).optional(),
});

/** How GetImportedModel spells customModelUnitsVersion: "v1.0", "v2.0". */
export const CMU_VERSION_PATTERN = /^v\d+\.\d+$/;

/** A CMU version, as a key or a value: "v1.0", "v2.0". */
export const cmuVersion = () =>
  z.string().regex(CMU_VERSION_PATTERN, {
    error: (iss) => `${is(iss.input)}; allowed: a CMU version such as v1.0 or v2.0`,
  });

const versions = z
  .record(cmuVersion(), price.meta({ description: "Prices of one CMU version." }))
  .optional()
  .meta({
    description:
      "Prices per CMU version (customModelUnitsVersion), e.g. v2.0: {usdPerCmuMinute: 0.1433}; a version is never priced at another's figure.",
  });

const regionPrice = z
  .strictObject({
    usdPerCmuMinute: money(
      "Compute price of CMU version v1.0 in this region, US dollars per CMU per minute.",
      true,
    ).optional(),
    storageUsdPerCmuMonth: money(
      "Storage price of CMU version v1.0 in this region, US dollars per CMU per month.",
      false,
    ).optional(),
    versions,
  })
  .meta({ description: "Prices of one region; override the global ones." });

export const pricingSchema = z
  .strictObject({
    usdPerCmuMinute: money(
      "Compute price of CMU version v1.0 in every region, US dollars per CMU per minute; overrides the built-in table.",
      true,
    ).optional(),
    storageUsdPerCmuMonth: money(
      "Storage price of CMU version v1.0 in every region, US dollars per CMU per month; overrides the built-in table.",
      false,
    ).optional(),
    versions,
    regions: z
      .record(
        z.string().regex(REGION_PATTERN, {
          error: (iss) => `${is(iss.input)}; allowed: an AWS region name such as us-east-1`,
        }),
        regionPrice,
      )
      .optional()
      .meta({ description: "Prices per region, e.g. ap-northeast-1: {usdPerCmuMinute: 0.07}." }),
  })
  .meta({
    description:
      "Prices by region and CMU version: a region's own entry, else the global figure, else the built-in dated table. The unversioned figures price CMU version v1.0; other versions are priced under versions.",
  });

/** The `pricing` section as written; config/pricing.ts looks a region's price up in it. */
export type RawPricing = z.output<typeof pricingSchema>;

export const budgetsSchema = z
  .strictObject({
    fleet: money(
      "Monthly budget of all models together, US dollars per UTC calendar month; held against the sum of their projections.",
      true,
    ).optional(),
    models: z
      .record(
        name("model name"),
        money("Monthly budget of the model, US dollars per UTC calendar month.", true),
      )
      .optional()
      .meta({ description: "Budgets per model, by model name, e.g. mimo-vl: 3000." }),
  })
  .meta({
    description:
      "Monthly budgets in USD (UTC calendar months, as AWS bills): a projection at 80% and at 100% of one is logged as event budget.",
  });
