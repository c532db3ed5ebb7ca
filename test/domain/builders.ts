import { parseClockMinutes, parseDays } from "../../src/config/formats.js";
import type { PricedUnits } from "../../src/domain/price.js";
import type {
  DateRange,
  ModelConfig,
  Override,
  Policy,
  Price,
  ResolvedConfig,
  WindowRule,
} from "../../src/domain/types.js";

/** Resolved-config objects for domain tests, built without YAML. */

export const MIN = 60_000;

/** CMU v1.0 in us-east-1 and us-west-2 (the built-in table's figures). */
export const V1_PRICE: Price = {
  usdPerCmuMinute: 0.05718,
  storageUsdPerCmuMonth: 1.95,
  source: "test",
};

/** `cmu` custom model units per copy at the v1.0 price. */
export function v1Units(cmu: number): PricedUnits {
  return { cmu, price: V1_PRICE };
}

/** `rule("mon-fri", "09:00", "18:00")`, with `days` and times as the YAML writes them. */
export function rule(days: string, from: string, to: string): WindowRule {
  const set = parseDays(days);
  const fromMinute = parseClockMinutes(from);
  const toMinute = parseClockMinutes(to);
  if (set === undefined || fromMinute === undefined || toMinute === undefined) {
    throw new Error(`bad test window ${days} ${from}-${to}`);
  }
  return { days: set, fromMinute, toMinute };
}

export function holiday(first: string, last = first): DateRange {
  return { first, last };
}

export function windowsPolicy(
  name: string,
  timezone: string,
  windows: WindowRule[],
  holidays: DateRange[] = [],
): Policy {
  return { name, kind: "windows", timezone, windows, holidays };
}

const BUILT_INS: Policy[] = [
  { name: "always-on", kind: "always-on", timezone: "UTC", windows: [], holidays: [] },
  { name: "off", kind: "off", timezone: "UTC", windows: [], holidays: [] },
  windowsPolicy("business-hours", "UTC", [rule("mon-fri", "09:00", "18:00")]),
];

/** Fixed timings (the YAML's durations), each defaulting to 14m / 5m / 15m. */
export function fixed(t: {
  cadence?: number;
  lead?: number;
  eviction?: number;
}): ModelConfig["timing"] {
  return {
    cadence: { mode: "fixed", ms: t.cadence ?? 14 * MIN },
    leadTime: { mode: "fixed", ms: t.lead ?? 5 * MIN },
    evictionDelay: { mode: "fixed", ms: t.eviction ?? 15 * MIN },
  };
}

export function model(
  name: string,
  policy: string,
  overrides: Partial<ModelConfig> = {},
): ModelConfig {
  return {
    name,
    modelArn: `arn:aws:bedrock:us-west-2:123456789012:imported-model/${name.padEnd(12, "x").slice(0, 12)}`,
    region: "us-west-2",
    accountId: "123456789012",
    modelId: name.padEnd(12, "x").slice(0, 12),
    policy,
    customModelUnits: 4,
    timing: {
      cadence: { mode: "fixed", ms: 14 * MIN },
      leadTime: { mode: "fixed", ms: 5 * MIN },
      evictionDelay: { mode: "fixed", ms: 15 * MIN },
    },
    warmupTimeoutMs: 10 * MIN,
    request: { messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
    metric: {
      namespace: "AWS/Bedrock",
      metricName: "ModelCopy",
      dimensionName: "ModelId",
      dimensionValue: "",
    },
    cmuVersion: undefined,
    prices: { "v1.0": V1_PRICE },
    ...overrides,
  };
}

/** A config with the built-in policies, `policies` added or redefining them. */
export function config(
  policies: Policy[],
  models: ModelConfig[],
  overrides: Override[] = [],
  timezone = "UTC",
): ResolvedConfig {
  return {
    timezone,
    policies: new Map([...BUILT_INS, ...policies].map((p) => [p.name, p])),
    overrides,
    models,
    daemon: {
      stateDir: "./.state",
      httpHost: "127.0.0.1",
      httpPort: 9464,
      selfHostingUsdPerMonth: 2062.26,
      invokeRatePerSecond: 5,
      invokeBurst: 10,
    },
  };
}

/** Epoch ms of an ISO instant that carries its offset. */
export function at(iso: string): number {
  if (!/(Z|[+-]\d{2}:\d{2})$/.test(iso)) throw new Error(`test instant ${iso} has no offset`);
  const t = Date.parse(iso);
  if (Number.isNaN(t)) throw new Error(`bad test instant ${iso}`);
  return t;
}
