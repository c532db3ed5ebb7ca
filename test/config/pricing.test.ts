import { describe, expect, it } from "vitest";
import { PRICE_TABLE_SOURCE, resolvePrice } from "../../src/config/pricing.js";

describe("resolvePrice", () => {
  const global = { usdPerCmuMinute: 0.06, storageUsdPerCmuMonth: 2 };
  const regional = { regions: { "us-east-1": { usdPerCmuMinute: 0.05 } } };

  it.each([
    ["us-east-1", {}, 0.05718, 1.95, PRICE_TABLE_SOURCE],
    ["us-west-2", {}, 0.05718, 1.95, PRICE_TABLE_SOURCE],
    ["eu-central-1", {}, 0.07144, 1.95, PRICE_TABLE_SOURCE],
    ["eu-central-1", global, 0.06, 2, "pricing"],
    [
      "us-east-1",
      { ...global, ...regional },
      0.05,
      2,
      "pricing.regions.us-east-1; storage: pricing",
    ],
    [
      "us-east-1",
      regional,
      0.05,
      1.95,
      `pricing.regions.us-east-1; storage: ${PRICE_TABLE_SOURCE}`,
    ],
    ["ap-south-1", global, 0.06, 2, "pricing"],
  ])(
    "%s with %j costs %f per CMU-minute and %f per CMU-month",
    (region, pricing, cmu, storage, source) => {
      expect(resolvePrice(region, pricing)).toEqual({
        ok: true,
        price: { usdPerCmuMinute: cmu, storageUsdPerCmuMonth: storage, source },
      });
    },
  );

  it("names the missing figures of a region the table does not know", () => {
    expect(resolvePrice("ap-south-1", {})).toEqual({
      ok: false,
      missing: ["usdPerCmuMinute", "storageUsdPerCmuMonth"],
    });
    expect(resolvePrice("ap-south-1", { usdPerCmuMinute: 0.07 })).toEqual({
      ok: false,
      missing: ["storageUsdPerCmuMonth"],
    });
  });
});
