import { IMPORTED_MODEL_ARN_PATTERN } from "../config/formats.js";
import { KeepwarmError } from "../domain/errors.js";
import type { TrafficProfile } from "./trafficProfile.js";

/**
 * The simulator's knobs. Where AWS leaves a behaviour undocumented (bedrock-facts.md,
 * rules marked "(param)"), the default here is the reference behaviour written there.
 */
export interface SimSettings {
  /** How long a cold model takes to restore after the call that wakes it (facts §3: 90 s). */
  readonly restoreMs: number;
  /** Each restore lasts restoreMs plus a seeded uniform offset in [-jitter, +jitter]. */
  readonly restoreJitterMs: number;
  /** Which rule unloads an idle copy (facts §3 gives three; none is documented by AWS). */
  readonly evictionRule: EvictionRule;
  /** afterLastCall: a copy is unloaded this long after the last successful call it served (facts §3: 15 min). */
  readonly evictionDelayMs: number;
  /**
   * afterLastCall: each idle spell lasts evictionDelayMs plus a seeded uniform offset in
   * [-jitter, +jitter], drawn afresh for each last call (a fleet that unloads sooner when it
   * is busy). 0 by default: the delay is the same every time.
   */
  readonly evictionJitterMs: number;
  /**
   * billingWindows: a copy is kept to the end of the billing window of its last call, then
   * this many idle windows more (the article's measurement: 2, so 10-15 minutes by phase).
   */
  readonly evictionIdleWindows: number;
  /** Copies are billed in whole windows from their first successful call (facts §2: 5 min). */
  readonly billingWindowMs: number;
  /** A minute's ModelCopy/Invocations datapoint is readable this long after it ends (facts §6: 2 min). */
  readonly publishDelayMs: number;
  /** Calls one copy serves at once before Bedrock adds another copy. */
  readonly perCopyConcurrency: number;
  /** Copies per model, the service quota (facts §3: 3). */
  readonly maxCopies: number;
  /** How long one successful call occupies a copy, which is what makes calls concurrent. */
  readonly invocationMs: number;
  /**
   * Price of one CMU-minute where the built-in table (config/pricing.ts) has none for a
   * model's region and CMU version; otherwise the ledger bills each model at the table's price.
   */
  readonly usdPerCmuMinute: number;
  /** Seeds the restore jitter: the same seed and calls give the same run. */
  readonly seed: number;
  /**
   * The CloudWatch metric a call that meets a restoring model (ModelNotReadyException, 429)
   * is counted in. AWS does not say; throttles are the 429s (docs/suggest.md).
   */
  readonly coldCallMetric: ColdCallMetric;
}

/** Where Bedrock may count a call answered ModelNotReadyException. */
export type ColdCallMetric = "InvocationThrottles" | "InvocationClientErrors";

export const COLD_CALL_METRICS: readonly ColdCallMetric[] = [
  "InvocationThrottles",
  "InvocationClientErrors",
];

/**
 * afterLastCall: a fixed delay after the copy's last successful call (an AWS blog's
 * "5 minutes", support's "typically one hour", or the 15-minute default). billingWindows:
 * the article's rule, in the copy's own billing windows, which start at its first
 * successful call (facts §2); a restored copy nobody has called yet counts its windows
 * from the instant it was ready.
 */
export type EvictionRule = "afterLastCall" | "billingWindows";

export const EVICTION_RULES: readonly EvictionRule[] = ["afterLastCall", "billingWindows"];

export const DEFAULT_SIM_SETTINGS: SimSettings = Object.freeze({
  restoreMs: 90_000,
  restoreJitterMs: 10_000,
  evictionRule: "afterLastCall",
  evictionDelayMs: 15 * 60_000,
  evictionJitterMs: 0,
  evictionIdleWindows: 2,
  billingWindowMs: 5 * 60_000,
  publishDelayMs: 2 * 60_000,
  perCopyConcurrency: 4,
  maxCopies: 3,
  invocationMs: 1_000,
  usdPerCmuMinute: 0.05718,
  seed: 1,
  coldCallMetric: "InvocationThrottles",
});

/** An imported model the simulator serves. */
export interface SimModelSpec {
  readonly modelArn: string;
  readonly customModelUnits: number;
  /** The CMU version GetImportedModel reports (customModelUnitsVersion); defaults to "v1.0". */
  readonly cmuVersion?: string;
  /** As GetImportedModel reports it; defaults to "llama". */
  readonly architecture?: string;
  /** Defaults to true. */
  readonly instructSupported?: boolean;
  /** Defaults to the id at the end of the ARN. */
  readonly modelName?: string;
  /** This model's own restore and eviction, over the simulator's settings. */
  readonly settings?: Partial<SimModelSettings>;
  /** Its users, who call it as the profile says from the instant it is added. */
  readonly traffic?: TrafficProfile;
}

/** The settings one model may override: how it restores and how it is unloaded. */
export type SimModelSettings = Pick<
  SimSettings,
  | "restoreMs"
  | "restoreJitterMs"
  | "evictionRule"
  | "evictionDelayMs"
  | "evictionJitterMs"
  | "evictionIdleWindows"
>;

export class SimSettingsError extends KeepwarmError {
  override readonly name = "SimSettingsError";
}

type NumericSetting = Exclude<keyof SimSettings, "evictionRule" | "coldCallMetric">;

/** The settings an eviction rule is read from. */
export type EvictionSettings = Pick<
  SimSettings,
  | "evictionRule"
  | "evictionDelayMs"
  | "evictionJitterMs"
  | "evictionIdleWindows"
  | "billingWindowMs"
>;

/**
 * When a copy that last served a call at `lastCall` is unloaded, if nothing calls it again.
 * `anchor` is where the copy's billing windows start (its first successful call); `key`
 * (the model's ARN) seeds the eviction jitter, so each model draws its own.
 */
export function idleOutAt(
  s: EvictionSettings & Pick<SimSettings, "seed">,
  anchor: number,
  lastCall: number,
  key = "",
): number {
  if (s.evictionRule === "afterLastCall") {
    if (s.evictionJitterMs === 0) return lastCall + s.evictionDelayMs;
    const u = unitRandom(s.seed, key, Math.floor(lastCall / 1000));
    return lastCall + Math.round(s.evictionDelayMs + (2 * u - 1) * s.evictionJitterMs);
  }
  const w = s.billingWindowMs;
  const windowEnd = anchor + (Math.floor((lastCall - anchor) / w) + 1) * w;
  return windowEnd + s.evictionIdleWindows * w;
}

/** The shortest idle time a rule allows: after a call at the end of its billing window under billingWindows. */
export function shortestIdleMs(s: EvictionSettings): number {
  return s.evictionRule === "afterLastCall"
    ? s.evictionDelayMs - s.evictionJitterMs
    : s.evictionIdleWindows * s.billingWindowMs;
}

/** A seeded uniform number in [0, 1) for (`seed`, `key`, `n`): the same arguments, the same number. */
export function unitRandom(seed: number, key: string, n: number): number {
  let h = (2166136261 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  h = Math.imul(h ^ n, 16777619);
  let t = (h + 0x6d2b79f5) >>> 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** Fills in defaults and rejects values the fleet cannot run with. */
export function resolveSimSettings(partial: Partial<SimSettings> = {}): SimSettings {
  const s = { ...DEFAULT_SIM_SETTINGS, ...partial };
  const problems: string[] = [];
  const atLeast = (key: NumericSetting, min: number, integer = false) => {
    const v = s[key];
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      problems.push(`${key} must be ${integer ? "an integer" : "a number"} >= ${min}, got ${v}`);
    }
  };
  atLeast("restoreMs", 0);
  atLeast("restoreJitterMs", 0);
  atLeast("evictionDelayMs", 1);
  atLeast("evictionJitterMs", 0);
  atLeast("evictionIdleWindows", 0, true);
  if (!COLD_CALL_METRICS.includes(s.coldCallMetric)) {
    problems.push(
      `coldCallMetric must be one of ${COLD_CALL_METRICS.join(", ")}, got ${s.coldCallMetric}`,
    );
  }
  if (!EVICTION_RULES.includes(s.evictionRule)) {
    problems.push(
      `evictionRule must be one of ${EVICTION_RULES.join(", ")}, got ${s.evictionRule}`,
    );
  }
  atLeast("billingWindowMs", 1);
  atLeast("publishDelayMs", 0);
  atLeast("perCopyConcurrency", 1, true);
  atLeast("maxCopies", 1, true);
  atLeast("invocationMs", 1);
  atLeast("usdPerCmuMinute", 0);
  atLeast("seed", 0, true);
  if (s.restoreJitterMs > s.restoreMs) {
    problems.push(
      `restoreJitterMs (${s.restoreJitterMs}) must not exceed restoreMs (${s.restoreMs})`,
    );
  }
  if (s.evictionJitterMs >= s.evictionDelayMs) {
    problems.push(
      `evictionJitterMs (${s.evictionJitterMs}) must be less than evictionDelayMs (${s.evictionDelayMs})`,
    );
  }
  if (problems.length > 0) throw new SimSettingsError(problems.join("; "));
  return Object.freeze(s);
}

export interface ImportedModelArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly modelId: string;
}

export function parseImportedModelArn(arn: string): ImportedModelArnParts | undefined {
  const m = IMPORTED_MODEL_ARN_PATTERN.exec(arn);
  if (!m) return undefined;
  return { region: m[1] as string, accountId: m[2] as string, modelId: m[3] as string };
}
