import { describe, expect, it } from "vitest";
import { diffPctOf, figuresMatch, type ModelDayBill, matchDay } from "../../src/reconcile/match.js";

const LLAMA_WEST = { region: "us-west-2", cmuVersion: "v1.0", family: "Llama" };
const INFERENCE = "USW2-Llama-CustomModelImport-Inference-v1:0";
const STORAGE = "USW2-Llama-CustomModelImport-Storage-v1:0";

const bill = (
  model: string,
  usd: number | null,
  over: Partial<ModelDayBill> = {},
): ModelDayBill => ({
  model,
  managed: true,
  key: LLAMA_WEST,
  usd,
  ...over,
});

const final = (entries: Record<string, number>) => ({
  estimated: false,
  usdByUsageType: new Map(Object.entries(entries)),
});

describe("figuresMatch", () => {
  it.each([
    [100, 101.99, true],
    [100, 102.01, false],
    [100, 97.99, false],
    [10, 10.5, true],
    [10, 10.51, false],
    [0, 0.5, true],
    [0, 0.51, false],
  ])("keepwarm %d and AWS %d match: %s (within 2%% or $0.50)", (kw, aws, expected) => {
    expect(figuresMatch(kw, aws)).toBe(expected);
  });
});

describe("diffPctOf", () => {
  it("is (AWS - keepwarm) / keepwarm x 100 to two decimals, null without a base", () => {
    expect(diffPctOf(75, 100)).toBe(33.33);
    expect(diffPctOf(100, 75)).toBe(-25);
    expect(diffPctOf(0, 5)).toBeNull();
    expect(diffPctOf(null, 5)).toBeNull();
    expect(diffPctOf(5, null)).toBeNull();
  });
});

describe("matchDay", () => {
  it("reconciles models sharing a usage type as one group, each kind apart", () => {
    const day = matchDay(
      "2026-12-01",
      { inference: [bill("a", 60), bill("b", 40)], storage: [bill("a", 0.5), bill("b", 0.25)] },
      final({ [INFERENCE]: 100.4, [STORAGE]: 0.75 }),
    );
    expect(day.groups).toEqual([
      {
        usageType: INFERENCE,
        kind: "inference",
        models: ["a", "b"],
        unmanaged: [],
        keepwarmUsd: 100,
        awsUsd: 100.4,
        diffPct: 0.4,
        estimated: false,
        status: "match",
      },
      expect.objectContaining({ usageType: STORAGE, kind: "storage", status: "match" }),
    ]);
  });

  it("shows a usage type only models outside the config are billed under as unmanaged", () => {
    const oss = { region: "us-east-1", cmuVersion: "v2.0", family: "OSS" };
    const day = matchDay(
      "2026-12-01",
      { inference: [bill("trial", 80, { managed: false, key: oss })], storage: [] },
      final({ "USE1-OSS-CustomModelImport-Inference-v2:0": 80 }),
    );
    expect(day.groups).toEqual([
      expect.objectContaining({
        models: [],
        unmanaged: ["trial"],
        status: "unmanaged",
        awsUsd: 80,
      }),
    ]);
  });

  it("shows a usage type AWS bills and nobody is known to use as unmanaged, keepwarm's figure 0", () => {
    const day = matchDay(
      "2026-12-01",
      { inference: [], storage: [] },
      final({ "EUC1-Qwen2-CustomModelImport-Storage-v1:0": 0.3 }),
    );
    expect(day.groups).toEqual([
      expect.objectContaining({
        kind: "storage",
        keepwarmUsd: 0,
        awsUsd: 0.3,
        status: "unmanaged",
      }),
    ]);
  });

  it("mismatches where AWS billed nothing for a final day keepwarm billed", () => {
    const day = matchDay("2026-12-01", { inference: [bill("a", 20)], storage: [] }, final({}));
    expect(day.groups).toEqual([
      expect.objectContaining({
        usageType: INFERENCE,
        awsUsd: 0,
        diffPct: -100,
        status: "mismatch",
      }),
    ]);
  });

  it("is pending while AWS's day is estimated or absent, its figure null until it shows", () => {
    const estimated = { estimated: true, usdByUsageType: new Map([[INFERENCE, 10]]) };
    const shown = matchDay("2026-12-01", { inference: [bill("a", 20)], storage: [] }, estimated);
    expect(shown.groups[0]).toMatchObject({ status: "pending", awsUsd: 10, estimated: true });
    const absent = matchDay("2026-12-01", { inference: [bill("a", 20)], storage: [] }, undefined);
    expect(absent.groups[0]).toMatchObject({ status: "pending", awsUsd: null, estimated: true });
  });

  it("is unknown on a final day where keepwarm's figure is not known", () => {
    const day = matchDay(
      "2026-12-01",
      { inference: [bill("a", null)], storage: [] },
      final({ [INFERENCE]: 5 }),
    );
    expect(day.groups[0]).toMatchObject({ status: "unknown", keepwarmUsd: null, diffPct: null });
  });

  it("joins a model of unknown family to every usage type of its region, version and kind", () => {
    const qwen = "USW2-Qwen2-CustomModelImport-Inference-v1:0";
    const day = matchDay(
      "2026-12-01",
      {
        inference: [bill("a", 30, { key: { ...LLAMA_WEST, family: undefined } }), bill("b", 20)],
        storage: [],
      },
      final({ [INFERENCE]: 20, [qwen]: 30 }),
    );
    expect(day.groups).toEqual([
      expect.objectContaining({
        usageType: `${INFERENCE} + ${qwen}`,
        models: ["a", "b"],
        keepwarmUsd: 50,
        awsUsd: 50,
        status: "match",
      }),
    ]);
  });

  it("names the usage type a model AWS shows nothing for would be billed under, * for an unknown family", () => {
    const day = matchDay(
      "2026-12-01",
      { inference: [bill("a", 0, { key: { ...LLAMA_WEST, family: undefined } })], storage: [] },
      final({}),
    );
    expect(day.groups[0]).toMatchObject({
      usageType: "USW2-*-CustomModelImport-Inference-v1:0",
      status: "match",
      awsUsd: 0,
    });
  });
});
