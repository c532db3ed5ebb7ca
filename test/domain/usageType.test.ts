import { describe, expect, it } from "vitest";
import {
  billedUnder,
  familyOf,
  parseUsageType,
  type UsageKey,
  usageTypeOf,
} from "../../src/domain/usageType.js";

describe("familyOf", () => {
  it.each([
    ["llama", "Llama"],
    ["Llama3.1", "Llama"],
    ["qwen2", "Qwen2"],
    ["qwen2_vl", "Qwen2"],
    ["qwen2.5", "Qwen2"],
    ["qwen2.5-vl", "Qwen2"],
    ["gpt-oss", "OSS"],
    ["gpt_oss", "OSS"],
    ["mistral", "Mistral"],
    ["mixtral", "Mixtral"],
    ["flan-t5", "Flan"],
  ])("%s is billed as %s", (architecture, family) => {
    expect(familyOf(architecture)).toBe(family);
  });

  it("is unknown for an architecture no usage type is known for, or none", () => {
    expect(familyOf("phi3")).toBeUndefined();
    expect(familyOf(undefined)).toBeUndefined();
  });
});

describe("usageTypeOf and parseUsageType", () => {
  it.each([
    ["us-east-1", "Llama", "inference", "v1.0", "USE1-Llama-CustomModelImport-Inference-v1:0"],
    ["us-east-2", "Qwen2", "storage", "v1.0", "USE2-Qwen2-CustomModelImport-Storage-v1:0"],
    ["us-west-2", "Qwen2", "inference", "v1.0", "USW2-Qwen2-CustomModelImport-Inference-v1:0"],
    ["eu-central-1", "Llama", "storage", "v1.0", "EUC1-Llama-CustomModelImport-Storage-v1:0"],
    ["us-east-1", "OSS", "inference", "v2.0", "USE1-OSS-CustomModelImport-Inference-v2:0"],
  ] as const)("%s %s %s %s is %s, and parses back", (region, family, kind, version, usageType) => {
    expect(usageTypeOf(region, family, kind, version)).toBe(usageType);
    expect(parseUsageType(usageType)).toEqual({
      regionCode: usageType.slice(0, 4),
      region,
      family,
      kind,
      cmuVersion: version,
    });
  });

  it("reads a usage type without a region prefix as us-east-1's", () => {
    expect(parseUsageType("Llama-CustomModelImport-Inference-v1:0")?.region).toBe("us-east-1");
  });

  it("keeps a region code it does not know, with no region", () => {
    expect(parseUsageType("APN1-Llama-CustomModelImport-Inference-v1:0")).toMatchObject({
      regionCode: "APN1",
      region: undefined,
    });
  });

  it.each([
    "USE1-InputTokenCount-Llama3",
    "USE1-Llama-CustomModelImport-Training-v1:0",
    "USE1-Llama-CustomModelImport-Inference-v1.0",
    "",
  ])("is not a Custom Model Import usage type: %j", (usageType) => {
    expect(parseUsageType(usageType)).toBeUndefined();
  });
});

describe("billedUnder", () => {
  const llama = parseUsageType("USW2-Llama-CustomModelImport-Inference-v1:0");
  if (!llama) throw new Error("test usage type does not parse");
  const key = (over: Partial<UsageKey> = {}): UsageKey => ({
    region: "us-west-2",
    cmuVersion: "v1.0",
    family: "Llama",
    ...over,
  });

  it("matches region code, CMU version, kind and family", () => {
    expect(billedUnder(key(), "inference", llama)).toBe(true);
  });

  it.each([
    ["another region", key({ region: "us-east-1" }), "inference"],
    ["another version", key({ cmuVersion: "v2.0" }), "inference"],
    ["another family", key({ family: "Qwen2" }), "inference"],
    ["another kind", key(), "storage"],
  ] as const)("does not match %s", (_, k, kind) => {
    expect(billedUnder(k, kind, llama)).toBe(false);
  });

  it("matches any family when the model's is not known", () => {
    expect(billedUnder(key({ family: undefined }), "inference", llama)).toBe(true);
  });
});
