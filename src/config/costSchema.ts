import { z } from "zod";
import { REGION_PATTERN } from "./formats.js";
import { is, money, name } from "./schemaFields.js";

/** The `pricing` and `budgets` sections: what a CMU costs where, and what the models may spend. */

const price = z.strictObject({
  usdPerCmuMinute: money("Compute price, US dollars per CMU per minute.", true).optional(),
  storageUsdPerCmuMonth: money("Storage price, US dollars per CMU per month.", false).optional(),
});

export const pricingSchema = z
  .strictObject({
    usdPerCmuMinute: money(
      "Compute price for every region, US dollars per CMU per minute; overrides the built-in table.",
      true,
    ).optional(),
    storageUsdPerCmuMonth: money(
      "Storage price for every region, US dollars per CMU per month; overrides the built-in table.",
      false,
    ).optional(),
    regions: z
      .record(
        z.string().regex(REGION_PATTERN, {
          error: (iss) => `${is(iss.input)}; allowed: an AWS region name such as us-east-1`,
        }),
        price.meta({ description: "Prices of one region; override the global ones." }),
      )
      .optional()
      .meta({ description: "Prices per region, e.g. ap-northeast-1: {usdPerCmuMinute: 0.07}." }),
  })
  .meta({
    description:
      "Prices: a region's own entry, else the global figure, else the built-in dated table.",
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
