import { describe, expect, it } from "vitest";
import {
  modelPriceProblem,
  PRICE_TABLE,
  PRICE_TABLE_SOURCE,
  regionPrices,
  resolvePrice,
  tablePrice,
  tableSource,
} from "../../src/config/pricing.js";

const V2_SOURCE = `${tableSource("us-east-1", "v2.0")}; storage: ${tableSource("us-east-1", "v2.0")}, assumed equal to v1.0's, no v2.0 storage price published`;

describe("the built-in price table", () => {
  it("is dated and keyed by region and CMU version", () => {
    expect(PRICE_TABLE.asOf).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(
      Object.entries(PRICE_TABLE.regions).map(([region, versions]) => [
        region,
        Object.keys(versions),
      ]),
    ).toEqual([
      ["us-east-1", ["v1.0", "v2.0"]],
      ["us-west-2", ["v1.0"]],
      ["eu-central-1", ["v1.0"]],
    ]);
  });

  it("has no price for us-east-2, an import region AWS publishes none for, nor v2.0 outside us-east-1", () => {
    expect(tablePrice("us-east-2", "v1.0")).toBeUndefined();
    expect(tablePrice("us-west-2", "v2.0")).toBeUndefined();
    expect(tablePrice("eu-central-1", "v2.0")).toBeUndefined();
  });
});

describe("resolvePrice", () => {
  const global = { usdPerCmuMinute: 0.06, storageUsdPerCmuMonth: 2 };
  const regional = { regions: { "us-east-1": { usdPerCmuMinute: 0.05 } } };

  it.each([
    ["us-east-1", "v1.0", {}, 0.05718, 1.95, PRICE_TABLE_SOURCE],
    ["us-west-2", "v1.0", {}, 0.05718, 1.95, tableSource("us-west-2", "v1.0")],
    ["eu-central-1", "v1.0", {}, 0.07144, 1.95, tableSource("eu-central-1", "v1.0")],
    ["us-east-1", "v2.0", {}, 0.1433, 1.95, V2_SOURCE],
    ["eu-central-1", "v1.0", global, 0.06, 2, "pricing"],
    [
      "us-east-1",
      "v1.0",
      { ...global, ...regional },
      0.05,
      2,
      "pricing.regions.us-east-1; storage: pricing",
    ],
    [
      "us-east-1",
      "v1.0",
      regional,
      0.05,
      1.95,
      `pricing.regions.us-east-1; storage: ${PRICE_TABLE_SOURCE}`,
    ],
    ["ap-south-1", "v1.0", global, 0.06, 2, "pricing"],
    // The unversioned figures are v1.0's: v2.0 keeps the table's price.
    ["us-east-1", "v2.0", { ...global, ...regional }, 0.1433, 1.95, V2_SOURCE],
    [
      "us-east-1",
      "v2.0",
      { versions: { "v2.0": { usdPerCmuMinute: 0.15 } } },
      0.15,
      1.95,
      `pricing.versions.v2.0; storage: ${V2_SOURCE.split("; storage: ")[1]}`,
    ],
    [
      "us-east-1",
      "v2.0",
      {
        versions: { "v2.0": { usdPerCmuMinute: 0.15, storageUsdPerCmuMonth: 3 } },
        regions: { "us-east-1": { versions: { "v2.0": { usdPerCmuMinute: 0.14 } } } },
      },
      0.14,
      3,
      "pricing.regions.us-east-1.versions.v2.0; storage: pricing.versions.v2.0",
    ],
    [
      "us-east-2",
      "v2.0",
      { regions: { "us-east-2": { versions: { "v2.0": global } } } },
      0.06,
      2,
      "pricing.regions.us-east-2.versions.v2.0",
    ],
    [
      "us-east-1",
      "v1.0",
      { regions: { "us-east-1": { usdPerCmuMinute: 0.05, versions: { "v1.0": global } } } },
      0.06,
      2,
      "pricing.regions.us-east-1.versions.v1.0",
    ],
  ])(
    "%s at CMU %s with %j costs %f per CMU-minute and %f per CMU-month",
    (region, version, pricing, cmu, storage, source) => {
      expect(resolvePrice(region, version, pricing)).toEqual({
        ok: true,
        price: { usdPerCmuMinute: cmu, storageUsdPerCmuMonth: storage, source },
      });
    },
  );

  it("names the missing figures of a region or version nobody priced", () => {
    expect(resolvePrice("ap-south-1", "v1.0", {})).toEqual({
      ok: false,
      missing: ["usdPerCmuMinute", "storageUsdPerCmuMonth"],
    });
    expect(resolvePrice("ap-south-1", "v1.0", { usdPerCmuMinute: 0.07 })).toEqual({
      ok: false,
      missing: ["storageUsdPerCmuMonth"],
    });
    expect(resolvePrice("us-east-2", "v1.0", {})).toEqual({
      ok: false,
      missing: ["usdPerCmuMinute", "storageUsdPerCmuMonth"],
    });
  });

  it("never prices a version at another version's figure", () => {
    const everyV1 = { usdPerCmuMinute: 0.06, storageUsdPerCmuMonth: 2 };
    for (const region of ["us-east-1", "us-west-2", "ap-south-1"]) {
      expect(resolvePrice(region, "v3.0", { ...everyV1, regions: { [region]: everyV1 } })).toEqual({
        ok: false,
        missing: ["usdPerCmuMinute", "storageUsdPerCmuMonth"],
      });
    }
    expect(resolvePrice("us-west-2", "v2.0", {})).toEqual({
      ok: false,
      missing: ["usdPerCmuMinute", "storageUsdPerCmuMonth"],
    });
  });
});

describe("regionPrices", () => {
  it("lists every version priced in the region, from the table and the YAML", () => {
    const prices = regionPrices("us-east-1", {
      regions: { "us-east-1": { versions: { "v3.0": { usdPerCmuMinute: 0.2 } } } },
      versions: { "v3.0": { storageUsdPerCmuMonth: 2.5 } },
    });
    expect(Object.keys(prices)).toEqual(["v1.0", "v2.0", "v3.0"]);
    expect(prices["v2.0"]?.usdPerCmuMinute).toBe(0.1433);
    expect(prices["v3.0"]).toEqual({
      usdPerCmuMinute: 0.2,
      storageUsdPerCmuMonth: 2.5,
      source: "pricing.regions.us-east-1.versions.v3.0; storage: pricing.versions.v3.0",
    });
    expect(regionPrices("us-east-2", {})).toEqual({});
  });
});

describe("modelPriceProblem", () => {
  it("names the field to set for a configured version without a price", () => {
    expect(
      modelPriceProblem("us-east-1", { customModelUnits: 8, customModelUnitsVersion: "v3.0" }, {}),
    ).toEqual({
      field: "customModelUnitsVersion",
      message:
        "no known price for region us-east-1, CMU version v3.0; set pricing.regions.us-east-1.versions.v3.0.usdPerCmuMinute and pricing.regions.us-east-1.versions.v3.0.storageUsdPerCmuMonth",
    });
  });

  it("takes a configured customModelUnits without a version as v1.0", () => {
    expect(modelPriceProblem("us-east-1", { customModelUnits: 8 }, {})).toBeUndefined();
    expect(modelPriceProblem("us-east-2", { customModelUnits: 8 }, {})).toEqual({
      field: "modelArn",
      message:
        "no known price for region us-east-2, CMU version v1.0; set pricing.regions.us-east-2.versions.v1.0.usdPerCmuMinute and pricing.regions.us-east-2.versions.v1.0.storageUsdPerCmuMonth (customModelUnits without customModelUnitsVersion is v1.0)",
    });
    expect(
      modelPriceProblem("us-east-1", { customModelUnits: 8, customModelUnitsVersion: "v2.0" }, {}),
    ).toBeUndefined();
  });

  it("asks of a model read from GetImportedModel only that its region price some version", () => {
    expect(modelPriceProblem("us-west-2", {}, {})).toBeUndefined();
    expect(
      modelPriceProblem(
        "us-east-2",
        {},
        {
          regions: {
            "us-east-2": {
              versions: { "v2.0": { usdPerCmuMinute: 0.15, storageUsdPerCmuMonth: 2 } },
            },
          },
        },
      ),
    ).toBeUndefined();
    expect(modelPriceProblem("us-east-2", {}, {})?.message).toBe(
      "no known price for region us-east-2 at any CMU version; set pricing.regions.us-east-2.versions.<version>.usdPerCmuMinute and .storageUsdPerCmuMonth for the version GetImportedModel reports (customModelUnitsVersion: v1.0 for most imports, v2.0 for GPT-OSS)",
    );
  });
});
