/**
 * Cost Explorer's usage types of Custom Model Import, e.g.
 * `USE1-Llama-CustomModelImport-Inference-v1:0`: a region code, a model family, the kind of
 * charge and the CMU version. They name no model: every import of one family, version and
 * region shares one (docs/reconcile.md#usage-types).
 */

/** Compute (copies up) or storage (CMUs held). */
export type UsageKind = "inference" | "storage";

/** The region codes AWS puts in front of usage types, for the Custom Model Import regions. */
export const REGION_CODES: Readonly<Record<string, string>> = {
  "us-east-1": "USE1",
  "us-east-2": "USE2",
  "us-west-2": "USW2",
  "eu-central-1": "EUC1",
};

const REGION_OF_CODE: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(REGION_CODES).map(([region, code]) => [code, region]),
);

/**
 * The family a usage type names for each architecture GetImportedModel reports, by the start
 * of the architecture with case and punctuation dropped (`qwen2.5-vl` -> `qwen25vl`). Every
 * Qwen-based import is billed as `Qwen2`, GPT-OSS as `OSS`.
 */
const FAMILY_BY_PREFIX: readonly (readonly [string, string])[] = [
  ["llama", "Llama"],
  ["qwen", "Qwen2"],
  ["gptoss", "OSS"],
  ["mixtral", "Mixtral"],
  ["mistral", "Mistral"],
  ["flan", "Flan"],
];

const KIND_WORD: Readonly<Record<UsageKind, string>> = {
  inference: "Inference",
  storage: "Storage",
};

const USAGE_TYPE =
  /^(?:([A-Z]{2,4}\d)-)?([A-Za-z0-9]+)-CustomModelImport-(Inference|Storage)-v(\d+):(\d+)$/;

export interface UsageTypeParts {
  /** `USE1`; `USE1` also for a usage type without a prefix, as AWS writes some of us-east-1's. */
  readonly regionCode: string;
  /** The region the code stands for, when it is a Custom Model Import region. */
  readonly region: string | undefined;
  readonly family: string;
  readonly kind: UsageKind;
  /** As GetImportedModel writes it: `v1.0`. */
  readonly cmuVersion: string;
}

/** The region code of `region`: `USE1` for us-east-1; the region itself where none is known. */
export function regionCodeOf(region: string): string {
  return REGION_CODES[region] ?? region;
}

/** The family a usage type names for an architecture (`qwen2_vl` -> `Qwen2`); undefined if unknown. */
export function familyOf(architecture: string | undefined): string | undefined {
  if (architecture === undefined) return undefined;
  const plain = architecture.toLowerCase().replace(/[^a-z0-9]/g, "");
  return FAMILY_BY_PREFIX.find(([prefix]) => plain.startsWith(prefix))?.[1];
}

/** `v1.0` -> `v1:0`, the way usage types write a CMU version. */
function versionToken(cmuVersion: string): string {
  return cmuVersion.replace(".", ":");
}

/** The usage type a model of this region, family and CMU version is billed under. */
export function usageTypeOf(
  region: string,
  family: string,
  kind: UsageKind,
  cmuVersion: string,
): string {
  return `${regionCodeOf(region)}-${family}-CustomModelImport-${KIND_WORD[kind]}-${versionToken(cmuVersion)}`;
}

/** The parts of a Custom Model Import usage type; undefined for any other usage type. */
export function parseUsageType(usageType: string): UsageTypeParts | undefined {
  const m = USAGE_TYPE.exec(usageType);
  if (!m) return undefined;
  const regionCode = m[1] ?? "USE1";
  return {
    regionCode,
    region: REGION_OF_CODE[regionCode],
    family: m[2] as string,
    kind: m[3] === "Inference" ? "inference" : "storage",
    cmuVersion: `v${m[4]}.${m[5]}`,
  };
}

/** What is known of a model when its usage type is looked for; `family` is unknown without GetImportedModel. */
export interface UsageKey {
  readonly region: string;
  readonly cmuVersion: string;
  readonly family: string | undefined;
}

/**
 * Whether AWS bills a model of `key` under `usageType`: same region code, CMU version and
 * kind, and the same family when the model's is known.
 */
export function billedUnder(key: UsageKey, kind: UsageKind, usageType: UsageTypeParts): boolean {
  return (
    usageType.kind === kind &&
    usageType.regionCode === regionCodeOf(key.region) &&
    usageType.cmuVersion === key.cmuVersion &&
    (key.family === undefined || key.family === usageType.family)
  );
}
